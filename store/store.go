// Package store is the contract between the session layer and the places
// sessions are kept. It is for store authors, as database/sql/driver is
// for database drivers: applications use package session and pick a store
// from store/memstore, store/boltstore, store/redisstore, store/pgstore
// or store/sqlitestore, and never call a [Store] themselves.
//
// A store keeps [Record]s addressed by [Record.Key], the hex SHA-256 of a
// session token: a store never sees a token, so a dump of it yields no
// usable cookie. It makes every write conditional (a version per record),
// keeps tombstones so that an ended session stays ended while requests are
// in flight, indexes records by user, and revokes a user's sessions in one
// step that concurrent renewals cannot escape ([Store.RevokeUser]).
//
// # The sign-in write
//
// Every sign-in goes through one method, [Store.SignIn], which does in one
// atomic step what a sign-in needs of the store: it refuses a sign-in
// whose request began before a revocation of the user (the user's mark,
// written by RevokeUser on the store's clock, against the request's start
// computed on the same clock from [SignIn.Elapsed]), makes the record,
// ends the request's earlier one, keeps the user within [SignIn.Limit] by
// ending the least recently used sessions (never one newer than the
// sign-in), and counts the user's sessions ([SignedIn.Sessions], where
// [UnknownCount] is an answer). Because it is part of the [Store]
// interface, a wrapper (metrics, tracing, an application's own) must
// implement it and so cannot drop it without the compiler saying so; the
// contract has no optional interface on a request path. [Counter] stays
// optional: only a gauge reads it.
//
// Package store/storetest checks every part of the contract; a store is
// done when it passes it. This package imports only the standard library.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors a [Store] returns. Stores wrap or return them as they are;
// callers tell them apart with [errors.Is].
var (
	// ErrNotFound is returned by [Store.Get], [Store.Update] and
	// [Store.Rotate] when no live record has the key: it never existed, or
	// it expired. It is not a failure of the store.
	ErrNotFound = errors.New("store: record not found")

	// ErrGone is returned (as a [*GoneError]) by [Store.Get],
	// [Store.Update] and [Store.Rotate] when the key belongs to a record
	// that was deleted, rotated away or revoked and whose tombstone is
	// still kept. A store may answer ErrNotFound instead once the
	// tombstone has expired.
	ErrGone = errors.New("store: record was ended")

	// ErrConflict is returned by [Store.Update] and [Store.Rotate] when the
	// stored record's version is not the version the caller loaded.
	ErrConflict = errors.New("store: record changed since it was loaded")

	// ErrExists is returned by [Store.Create] and [Store.Rotate] when a
	// record or a tombstone already holds the new key.
	ErrExists = errors.New("store: key already in use")

	// ErrNotDurable is returned (wrapped) by a store configured to confirm
	// the durability of a write (for instance its replication) when the
	// write was made but could not be confirmed in time. The session layer
	// treats it as a failure and fails closed: it never takes such a write
	// for one that landed.
	ErrNotDurable = errors.New("store: write made but not confirmed durable")

	// ErrCorrupt is returned (wrapped) when a record cannot be decoded.
	// The session layer treats it as a store failure and fails closed: a
	// record it cannot read is never replaced by an empty one.
	ErrCorrupt = errors.New("store: corrupt record")
)

// A Reason says why a record ended. Stores keep it with the tombstone and
// return it in a [*GoneError]; they never interpret it. The session layer
// defines the values above [ReasonExpired].
type Reason uint8

const (
	// ReasonNone is an ended record with no reason recorded.
	ReasonNone Reason = 0
	// ReasonRenewed is a record whose token was replaced by a fresh one:
	// a sign-in, a privilege change or a periodic rotation.
	ReasonRenewed Reason = 1
	// ReasonExpired is a record past its Expires time that the store still
	// holds (see Store.Get).
	ReasonExpired Reason = 2
)

// ReasonTTL is how long, at least, a tombstone keeps a reason above
// [ReasonExpired]: a day, so that a user who comes back
// the next morning can be told why they were signed out. Such a tombstone
// lasts until the later of the record's Expires and the time of the delete
// plus ReasonTTL. A tombstone costs a key, a time and a byte, never the
// record's data.
const ReasonTTL = 24 * time.Hour

// A GoneError is the error for a tombstoned key. errors.Is(err, ErrGone)
// holds for it.
type GoneError struct {
	// Reason is the reason the tombstone keeps.
	Reason Reason
}

func (e *GoneError) Error() string {
	if e.Reason == ReasonNone {
		return ErrGone.Error()
	}
	return fmt.Sprintf("%s (reason %d)", ErrGone.Error(), e.Reason)
}

// Is makes errors.Is(err, ErrGone) hold.
func (e *GoneError) Is(target error) bool { return target == ErrGone }

// Gone returns a [*GoneError] for reason.
func Gone(reason Reason) error { return &GoneError{Reason: reason} }

// ReasonOf returns the reason carried by err, a [*GoneError] or an error
// wrapping one, and whether there was one.
func ReasonOf(err error) (Reason, bool) {
	var g *GoneError
	if errors.As(err, &g) {
		return g.Reason, true
	}
	return ReasonNone, false
}

// A Store keeps session records.
//
// The contract, which store/storetest checks for every implementation:
//
//   - Get returns a live record, or ErrNotFound (unknown), or a
//     [*GoneError] (tombstoned). A record past its Expires time is never
//     returned: Get answers a *GoneError with [ReasonExpired] while the
//     store still holds it (not yet swept), then ErrNotFound. Telling an
//     expired token from one never issued lets the session layer count
//     only the latter as guesses.
//   - Create adds a record at version 1 (it sets rec.Version) and fails with
//     ErrExists if the key is taken by a live record or a tombstone.
//   - Update replaces the record whose key is rec.Key only if the stored
//     version equals rec.Version; on success the stored version is
//     rec.Version+1 and rec.Version is set to it. It never creates a record:
//     a missing key gives ErrNotFound, a tombstone a [*GoneError], another
//     version ErrConflict, and in each case nothing is written.
//   - Rotate replaces the record oldKey at version oldVersion by next, in
//     one atomic step: next is created at version 1 (next.Version is set)
//     and, when graceUntil is zero, oldKey is tombstoned with
//     [ReasonRenewed]; when graceUntil is set (a periodic rotation), the
//     old record stays, at its version plus one, as a forwarder: its
//     Successor is next.Key and its GraceUntil is graceUntil, everything
//     else unchanged. If oldKey is not live at oldVersion, nothing changes
//     and the error says why (ErrNotFound, a *GoneError, ErrConflict).
//     Rotate onto a key that is already taken (including oldKey itself)
//     fails with ErrExists and changes nothing.
//   - Delete tombstones a key with a reason and removes it from its user's
//     index. Deleting a missing or tombstoned key is not an error and
//     leaves no new tombstone.
//   - ListUser returns the live records whose UserID is userID, forwarders
//     included, without scanning records of other users, in no particular
//     order. Tombstoned and expired records are never returned, and
//     ListUser("") returns none: anonymous sessions are not indexed.
//   - RevokeUser tombstones with reason, in one atomic step, every record
//     of userID whose [Record.LineageKey] is not keepLineage ("" keeps
//     none), and in the same step writes the user's revocation mark: the
//     store's clock at that step, later than the mark it replaces (see
//     [Revocation]), kept with reason for at least [MarkTTL]. It returns
//     how many records it ended, the mark and the prior mark.
//     RevokeLineage tombstones with reason the records of userID whose
//     LineageKey is lineage, and only those; it writes no mark. Because
//     the per-user index is kept in the same atomic steps as every
//     Create, Rotate and SignIn, a session cannot escape a revocation by
//     being renewed or rotated at the same time: a Rotate of a revoked
//     record fails, and a record created by a Rotate that went first is in
//     the index when the revocation runs. Once either call returns, no
//     record it selected, nor any record made from one, is live. userID ""
//     does nothing (and writes no mark).
//   - SignIn is the only write that makes a signed-in user's record; see
//     [SignIn] for its fields. In one atomic step, with now the store's
//     clock when the call reached it (see [SignIn.Elapsed]) and start =
//     now - max(Elapsed, 0) - [SignInMargin]:
//     1. if Elapsed+SignInMargin >= MarkTTL, or the user's mark is at or
//     after start and is not Own.Mark, or Own.Prior is at or after
//     start, it fails with a [*RevokedSinceError] carrying the mark's
//     reason (ReasonNone for the first case) and writes nothing. This
//     check comes first: its error wins over every other.
//     2. if OldKey is not "" and not live at OldVersion, or Record.Key is
//     taken, it fails as Rotate (or Create) would, writing nothing.
//     3. it creates Record at version 1 and tombstones OldKey with
//     ReasonRenewed, as Rotate with a zero graceUntil.
//     4. if Limit > 0, it bounds the user's lineages: with N the number
//     of the user's lineages in its index (the new one included, and
//     lineages whose records all expired but that it has not removed
//     yet), it goes through the user's lineages last used before start,
//     other than the new one, least recently used first, while N > Limit:
//     an expired one is dropped from the index (N-1), a live one is ended
//     whole, with LimitReason (every record, forwarders included, as
//     RevokeLineage), and listed in SignedIn.Ended (N-1). It never ends
//     the new lineage, nor a lineage last used at or after start (a
//     concurrent sign-in that began later than this one, or a session in
//     use meanwhile): when those alone are over Limit, the user stays over
//     it until a later sign-in. A store that knows exactly which
//     lineages are live may count only those (N is then exact); either
//     way no live lineage is ended while the user's live lineages number
//     Limit or fewer, except that an expired lineage last used after a
//     live one, still indexed, may count against it. Ties in last use may
//     go either way.
//     It returns N after all this ([SignedIn.Sessions]).
//     Record.UserID "" is an error (an anonymous record is made with
//     Create), as is a nil Record.
//     SignIn writes no mark and needs no listing of the user's records:
//     stores keep, per user, the lineages ordered by last use (a sorted
//     set; an index on (user, last use)), so that a sign-in at the bound
//     costs a few index reads more than one within it.
//   - The last use of a lineage is the store's clock at the latest
//     Create, Update, Rotate or SignIn that wrote one of its records. It
//     is the store's, not Record.LastSeen (the caller's clock, which may
//     differ between the application's instances).
//   - A tombstone makes Get, Update and Rotate of its key fail and Create
//     of its key give ErrExists. It lasts until at least the Expires the
//     record had when it ended, and at least [ReasonTTL] after it ended
//     when its reason is above ReasonExpired.
//   - Records whose Expires time has passed are removed, eventually, by the
//     store itself (a TTL or a sweeper), as are tombstones. A record is
//     expired from the instant now >= Expires; stores answer to Expires
//     alone (the session layer also checks the idle and absolute
//     deadlines).
//   - A failed Create, Update, Rotate or SignIn leaves the caller's
//     Version as it was.
//   - Create and Rotate check no mark: the session layer uses them for
//     anonymous records and for renewals and rotations of a live record,
//     never to sign a user in.
//
// Returned records belong to the caller, except Data, which callers treat
// as read-only so that a store may share it. A store keeps no reference to
// a record passed to it. All methods are safe for concurrent use. A store
// that has been closed returns errors, which the session layer treats as
// failures (it fails closed).
type Store interface {
	Get(ctx context.Context, key string) (*Record, error)
	Create(ctx context.Context, rec *Record) error
	Update(ctx context.Context, rec *Record) error
	Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *Record, graceUntil time.Time) error
	Delete(ctx context.Context, key string, reason Reason) error
	ListUser(ctx context.Context, userID string) ([]*Record, error)
	RevokeUser(ctx context.Context, userID, keepLineage string, reason Reason) (Revocation, error)
	RevokeLineage(ctx context.Context, userID, lineage string, reason Reason) (int, error)
	SignIn(ctx context.Context, in *SignIn) (SignedIn, error)
}

// A Record is one session as a [Store] keeps it: metadata the store and the
// session layer read, and the encoded values, which only the session layer
// reads.
//
// All deadlines live here, on the server: a cookie's lifetime is advice to
// the browser, never what decides whether a session is alive.
type Record struct {
	// Key is the hex-encoded SHA-256 of the session token (64 characters).
	Key string
	// Version counts the writes of this record; the store sets it.
	Version uint64
	// UserID is the signed-in user, or "" for an anonymous session.
	UserID string

	// Created is when this record (this token) was issued.
	Created time.Time
	// LastSeen is when a request last refreshed the idle deadline.
	LastSeen time.Time
	// AuthTime is when the user signed in; zero for an anonymous session.
	AuthTime time.Time
	// IdleTimeout is how long the session lives without activity.
	IdleTimeout time.Duration
	// Deadline is the absolute end of the session, whatever its activity.
	Deadline time.Time
	// Expires is min(LastSeen+IdleTimeout, Deadline): when the store may
	// forget the record. Stores use it for TTLs and sweeping.
	Expires time.Time
	// Persistent is set when the user asked to be remembered.
	Persistent bool

	// IP and UserAgent describe the client that signed in, for the list of
	// a user's sessions. They are informational, never trusted for access.
	IP        string
	UserAgent string

	// Data holds the encoded session values.
	Data []byte

	// Successor is set on a record replaced by a periodic rotation: the key
	// of the record that took over. Until GraceUntil a request that still
	// carries the old token is served the successor's session; after it,
	// the old token is evidence that two parties hold the session.
	Successor string
	// GraceUntil ends the grace window of a record with a Successor.
	GraceUntil time.Time
	// Lineage names the session a record belongs to across renewals and
	// periodic rotations: the key of the record the sign-in created, or ""
	// for that first record itself (see LineageKey). Revoking one session
	// ends its whole lineage.
	Lineage string
}

// LineageKey returns the lineage rec belongs to: rec.Lineage, or rec.Key
// for a record that was never rotated.
func (rec *Record) LineageKey() string {
	if rec.Lineage != "" {
		return rec.Lineage
	}
	return rec.Key
}

// Clone returns a deep copy of rec. Data is copied too.
func (rec *Record) Clone() *Record {
	c := *rec
	if rec.Data != nil {
		c.Data = append([]byte(nil), rec.Data...)
	}
	return &c
}

// Fingerprint returns a short, stable, non-secret name for the record with
// key, for logs and events: the first 12 hex digits of the key, itself a
// hash of the token. It cannot be turned back into a token or a key.
func Fingerprint(key string) string {
	if len(key) < 12 {
		return key
	}
	return key[:12]
}

// A Counter is a [Store] that can count its live sessions cheaply, for a
// gauge of active sessions. It is optional (Redis cannot count without
// scanning every key), and callers discover it with a type assertion: a
// wrapper that does not forward it loses the gauge, never a guarantee or
// a request's cost, since no request path asks for it. A wrapper that
// wants the gauge implements Count when its inner store does, as
// metrics.InstrumentStore does (its tests hold it to that). Count returns the number of live records, expired ones not yet
// swept excluded where the store can tell cheaply (say so where it
// cannot); forwarders left by a periodic rotation count as records.
type Counter interface {
	Count(ctx context.Context) (int, error)
}
