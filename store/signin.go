package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrRevokedSince is returned (as a [*RevokedSinceError]) by
// [Store.SignIn] when the user's sessions were revoked ([Store.RevokeUser])
// at or after the instant the sign-in's request began: the request may
// have checked credentials that are no longer valid, so nothing is
// written.
var ErrRevokedSince = errors.New("store: the user's sessions were revoked after the sign-in began")

// A RevokedSinceError refuses a sign-in whose request began before a
// revocation of the user's sessions. errors.Is(err, ErrRevokedSince) holds
// for it.
type RevokedSinceError struct {
	// Reason is the reason of the revocation that refused the sign-in, or
	// ReasonNone when the sign-in was refused for being older than
	// [MarkTTL] (no mark can tell about it any more).
	Reason Reason
}

func (e *RevokedSinceError) Error() string {
	if e.Reason == ReasonNone {
		return ErrRevokedSince.Error()
	}
	return fmt.Sprintf("%s (reason %d)", ErrRevokedSince.Error(), e.Reason)
}

// Is makes errors.Is(err, ErrRevokedSince) hold.
func (e *RevokedSinceError) Is(target error) bool { return target == ErrRevokedSince }

// RevokedSince returns a [*RevokedSinceError] for reason.
func RevokedSince(reason Reason) error { return &RevokedSinceError{Reason: reason} }

// SignInMargin is subtracted from a sign-in's start as a store computes it
// (see [SignIn.Elapsed]). It stands for two latencies the store cannot
// see: the time the sign-in's write spent between the caller's clock and
// the store's (a connection pool, the network, a busy scheduler), and the
// time a revocation's answer spent on its way back to its caller after
// the store wrote its mark. A sign-in whose request began less than
// SignInMargin after a revocation's mark is refused, although it could
// have stood (its user signs in again); a write delayed by more than
// SignInMargin could miss a revocation made in the first moments of its
// request. 250 milliseconds is far more than a healthy store's latency
// and far less than a person takes to sign in again after changing a
// password.
const SignInMargin = 250 * time.Millisecond

// MarkTTL is how long, at least, a store keeps a user's revocation mark
// after [Store.RevokeUser] wrote it. A sign-in whose request began more
// than MarkTTL before the store reads its clock (Elapsed+SignInMargin >=
// MarkTTL) is refused with a [*RevokedSinceError] of ReasonNone whatever
// the marks, since a mark that concerned it may be gone. No sign-in
// request takes an hour; a mark costs one small entry per revoked user for
// that long.
const MarkTTL = time.Hour

// A Revocation is what [Store.RevokeUser] did.
type Revocation struct {
	// Ended is the number of records it ended.
	Ended int
	// Mark is the user's revocation mark it wrote, on the store's clock
	// read once the records are ended (PostgreSQL: clock_timestamp(), not
	// the statement's start), as the store keeps it: given back in
	// [SignIn.Own], it compares equal to the stored mark. Marks of one
	// user only grow: a mark is later than the one it replaces, even when
	// the clock did not move (the store adds the smallest step it keeps, a
	// microsecond or a nanosecond).
	Mark time.Time
	// Prior is the mark it replaced, or the zero time when the user had
	// none (or it was older than MarkTTL).
	Prior time.Time
}

// A SignIn is the one write that signs a user in ([Store.SignIn]): it
// makes the user's new record, replaces the request's earlier record if it
// had one, refuses a sign-in that a revocation overtook, and keeps the
// user within a bound on their sessions, all in one atomic step.
type SignIn struct {
	// Record is the new record: a fresh key, a UserID, and Lineage ""
	// (a sign-in starts a lineage). Its Version is set to 1 on success.
	Record *Record
	// OldKey, when not "", names the record the sign-in replaces (the
	// request's anonymous session, or an earlier sign-in's): it must be
	// live at OldVersion, and is tombstoned with ReasonRenewed, as
	// [Store.Rotate] with a zero graceUntil does. OldKey "" creates, as
	// [Store.Create] does.
	OldKey     string
	OldVersion uint64
	// Elapsed is how long before this call the sign-in's request began,
	// measured on the caller's own clock (a duration, so that the clocks of
	// the caller and the store need not agree). The store computes the
	// request's start on its own clock as
	//
	//	start = now - Elapsed - SignInMargin
	//
	// with now the store's clock when the call reaches it, before it waits
	// for any lock (Redis: TIME in the script, which runs alone;
	// PostgreSQL: statement_timestamp(); an embedded store: its own clock,
	// Options.Now where it has one, read on entry), so that a revocation
	// that commits while the sign-in waits is after start. A negative
	// Elapsed counts as zero.
	Elapsed time.Duration
	// Own, when not nil, is the result of the revocation this request made
	// itself (a sign-in that also signs the user out everywhere else): the
	// mark it wrote does not refuse the sign-in, but its Prior does, like
	// any other mark, when it is at or after start.
	Own *Revocation
	// Limit bounds the user's lineages after the write, the new one
	// included, as step 4 of the [Store] contract says. Zero or negative:
	// no bound.
	Limit int
	// LimitReason is the reason kept by the tombstones of the records the
	// bound ends.
	LimitReason Reason
}

// SignedIn is what a successful [Store.SignIn] tells.
type SignedIn struct {
	// Sessions is the number of the user's live lineages after the write,
	// the new one included and those the bound ended excluded; or
	// [UnknownCount] when the store cannot tell without listing them. A
	// store may count lineages whose records all expired and were not yet
	// swept: it is then an upper bound, never below the truth.
	Sessions int
	// Ended lists the lineages ([Record.LineageKey]) the bound ended, least
	// recently used first; nil when none.
	Ended []string
}

// UnknownCount is the [SignedIn.Sessions] of a store that cannot count a
// user's sessions in the sign-in's write.
const UnknownCount = -1
