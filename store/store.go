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
// Package store/storetest checks every part of the contract; a store is
// done when it passes it. This package imports only the standard library
// and the module's own internal/wire (the record encoding, itself standard
// library only).
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
// defines the values above [ReasonExpired], except [ReasonRolledBack],
// the highest value, which stores report themselves.
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
	// ReasonRolledBack is a record a store ended because the store lost
	// writes it had acknowledged (a database restored from an older
	// snapshot, a failover to a replica that missed the last writes): the
	// record may have been signed out or revoked in the lost window, so
	// it is treated as ended rather than brought back (fail closed). No
	// tombstone keeps it; the store answers it from the record's age.
	ReasonRolledBack Reason = 255
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
//     none), and returns how many it ended. RevokeLineage does the same
//     for the records of userID whose LineageKey is lineage, and only
//     those. Because the per-user index is kept in the same atomic steps
//     as every Create and Rotate, a session cannot escape a revocation by
//     being renewed or rotated at the same time: a Rotate of a revoked
//     record fails, and a record created by a Rotate that went first is in
//     the index when the revocation runs. Once either call returns, no
//     record it selected, nor any record made from one, is live. userID ""
//     does nothing.
//   - A tombstone makes Get, Update and Rotate of its key fail and Create
//     of its key give ErrExists. It lasts until at least the Expires the
//     record had when it ended, and at least [ReasonTTL] after it ended
//     when its reason is above ReasonExpired.
//   - Records whose Expires time has passed are removed, eventually, by the
//     store itself (a TTL or a sweeper), as are tombstones. A record is
//     expired from the instant now >= Expires; stores answer to Expires
//     alone (the session layer also checks the idle and absolute
//     deadlines).
//   - A failed Create, Update or Rotate leaves the caller's Version as it
//     was.
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
	RevokeUser(ctx context.Context, userID, keepLineage string, reason Reason) (int, error)
	RevokeLineage(ctx context.Context, userID, lineage string, reason Reason) (int, error)
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
// gauge of active sessions. It is optional: callers discover it with a type
// assertion. Count returns the number of live records, expired ones not yet
// swept excluded where the store can tell cheaply (say so where it
// cannot); forwarders left by a periodic rotation count as records.
type Counter interface {
	Count(ctx context.Context) (int, error)
}

// A UserCounter is a [Store] that tells, in the same step as a write that
// makes a user's record, how many sessions the user has at most, so that
// the session layer lists a user's sessions to bound them (Config.
// MaxSessionsPerUser) only when they may be over the bound: on a networked
// store, a sign-in then costs no round trip more than its write. It is
// optional: callers discover it with a type assertion.
//
// CreateCounting is [Store.Create] and RotateCounting is [Store.Rotate],
// with the same contract in every respect. When the write succeeds and the
// record it makes has a UserID, they also return an upper bound on the
// number of that user's live lineages ([Record.LineageKey]) after the
// write, the new record's included: never less than the true number, and
// at least 1. A store may count its index entries (a forwarder, or an
// entry of a record that ended and was not yet pruned, then counts too),
// so the bound may be well above the truth; only an undercount breaks the
// contract. For an anonymous record, and with an error, the count is 0.
type UserCounter interface {
	CreateCounting(ctx context.Context, rec *Record) (int, error)
	RotateCounting(ctx context.Context, oldKey string, oldVersion uint64, next *Record, graceUntil time.Time) (int, error)
}
