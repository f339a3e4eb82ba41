package session

import (
	"context"
	"errors"
	"time"
)

// Errors a [Store] returns. Stores wrap or return them as they are; the
// [Manager] tells them apart with [errors.Is].
var (
	// ErrNotFound is returned by [Store.Get], [Store.Update] and
	// [Store.Rotate] when no live record has the key: it never existed, or
	// it expired. It is not a failure of the store.
	ErrNotFound = errors.New("session: record not found")

	// ErrGone is returned by [Store.Get], [Store.Update] and [Store.Rotate]
	// when the key belongs to a record that was deleted or rotated away and
	// whose tombstone is still kept. A store may answer [ErrNotFound]
	// instead once the tombstone has expired.
	ErrGone = errors.New("session: record was deleted or renewed")

	// ErrConflict is returned by [Store.Update] and [Store.Rotate] when the
	// stored record's version is not the version the caller loaded.
	ErrConflict = errors.New("session: record changed since it was loaded")

	// ErrExists is returned by [Store.Create] when a record or a tombstone
	// already holds the key.
	ErrExists = errors.New("session: key already in use")
)

// A Store keeps session records. Records are addressed by [Record.Key], the
// hex SHA-256 of the session token: a store never sees a token, so a dump of
// it yields no usable cookie (invariant I4).
//
// The contract, which store/storetest checks for every implementation:
//
//   - Get returns a live record, or ErrNotFound (unknown or past
//     Record.Expires), or ErrGone (tombstoned). A record past its Expires
//     time is never returned, whether or not it has been swept yet.
//   - Create adds a record at version 1 (it sets rec.Version) and fails with
//     ErrExists if the key is taken by a live record or a tombstone.
//   - Update replaces the record whose key is rec.Key only if the stored
//     version equals rec.Version; on success the stored version is
//     rec.Version+1 and rec.Version is set to it. It never creates a record:
//     a missing key gives ErrNotFound, a tombstone ErrGone, another version
//     ErrConflict, and in each case nothing is written.
//   - Rotate atomically tombstones the record oldKey at version oldVersion
//     and creates next (at version 1, setting next.Version). If oldKey is
//     not live at oldVersion, nothing is created and the error says why.
//     Where a store cannot make the two steps one, it must tombstone first:
//     a failure may lose the new record but never leave the old one live
//     beside it.
//   - Delete tombstones a key. Deleting a missing or tombstoned key is not an
//     error. After Delete, Get, Update and Rotate of the key fail and Create
//     of the key gives ErrExists, for at least as long as the record would
//     have lived (its Expires time).
//   - ListUser returns the live records whose UserID is userID, without
//     scanning records of other users, in no particular order. Tombstoned
//     and expired records are never returned, and ListUser("") returns
//     none: anonymous sessions are not indexed.
//   - Records whose Expires time has passed are removed, eventually, by the
//     store itself (a TTL or a sweeper), as are tombstones. A record is
//     expired from the instant now >= Expires; stores answer to Expires
//     alone (the Manager also checks the idle and absolute deadlines).
//   - A failed Create, Update or Rotate leaves the caller's Version as it
//     was. Rotate onto a key that is already taken (including oldKey itself)
//     fails with ErrExists and overwrites nothing.
//   - A tombstone lasts until at least the Expires the record had when it
//     was deleted or rotated away.
//
// Returned records belong to the caller, except Data, which callers treat
// as read-only so that a store may share it. A store keeps no reference to
// a record passed to it. All methods are safe for concurrent use. A store
// that has been closed returns errors, which the Manager treats as failures
// (it fails closed).
type Store interface {
	Get(ctx context.Context, key string) (*Record, error)
	Create(ctx context.Context, rec *Record) error
	Update(ctx context.Context, rec *Record) error
	Rotate(ctx context.Context, oldKey string, oldVersion uint64, next *Record) error
	Delete(ctx context.Context, key string) error
	ListUser(ctx context.Context, userID string) ([]*Record, error)
}

// A Record is one session as a [Store] keeps it: metadata the store and the
// [Manager] read, and the encoded values, which only the Manager reads.
//
// All deadlines live here, on the server (invariant I5): a cookie's lifetime
// is advice to the browser, never what decides whether a session is alive.
type Record struct {
	// Key is the hex-encoded SHA-256 of the session token (64 characters).
	Key string
	// Version counts the writes of this record; the store sets it.
	Version uint64
	// UserID is the signed-in user, or "" for an anonymous session.
	UserID string

	// Created is when this record (this token) was issued.
	Created time.Time
	// LastSeen is when a request last refreshed the idle deadline. It is
	// refreshed at most once per Config.TouchInterval.
	LastSeen time.Time
	// AuthTime is when the user signed in; zero for an anonymous session.
	// Renewals keep it; only a sign-in sets it.
	AuthTime time.Time
	// IdleTimeout is how long the session lives without activity.
	IdleTimeout time.Duration
	// Deadline is the absolute end of the session, whatever its activity.
	Deadline time.Time
	// Expires is min(LastSeen+IdleTimeout, Deadline): when the store may
	// forget the record. Stores use it for TTLs and sweeping.
	Expires time.Time
	// Persistent is set when the user asked to be remembered: the cookie
	// then carries an expiry and the session has the longer limits.
	Persistent bool

	// IP and UserAgent describe the client that signed in, for the list of
	// a user's sessions. They are informational, never trusted for access.
	IP        string
	UserAgent string

	// Data holds the encoded session values.
	Data []byte

	// Successor is set on a record replaced by a periodic rotation (see
	// Config.RotateEvery): the key of the record that took over. Until
	// this record's Expires, a short grace window, a request that still
	// carries the old token is served the successor's session. Renewals at
	// sign-in, privilege changes and logout never leave one: they kill the
	// old token at once.
	Successor string
	// Lineage names the chain of periodic rotations a record belongs to:
	// the key of the record the chain started from, or "" for a record
	// that was never rotated (its lineage is its own key). A logout ends
	// the whole lineage, so that a rotation racing it cannot leave a
	// successor alive.
	Lineage string
}

// lineage returns the lineage rec belongs to.
func (rec *Record) lineage() string {
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

// expired reports whether rec is past its idle or absolute deadline at now.
func (rec *Record) expired(now time.Time) bool {
	return !now.Before(rec.Expires) || !now.Before(rec.Deadline) ||
		!now.Before(rec.LastSeen.Add(rec.IdleTimeout))
}
