package session

import (
	"context"
	"log/slog"
	"time"
)

// An EventKind says what happened. Lifecycle kinds record normal operation;
// the others are suspicious input or failures an operator should see.
type EventKind uint8

const (
	// Lifecycle.
	EventCreated EventKind = iota + 1 // a new anonymous session was stored
	EventLogin                        // a user signed in; a fresh token replaced any old one
	EventRenewed                      // the token was renewed for a privilege change
	EventLogout                       // a session was destroyed by Logout
	EventRevoked                      // a session was revoked by the user or an administrator
	EventMerged                       // a save raced another request and was merged by replay
	EventRotated                      // a periodic rotation gave the session a fresh token (Config.RotateEvery)

	// Suspicious input (invariants I1 and I2).
	EventUnknownToken    // a cookie held a token the store does not know, or a malformed one
	EventExpiredToken    // a cookie held the token of a session past a deadline
	EventDeadToken       // a cookie held a token that was logged out, renewed or revoked
	EventDuplicateCookie // several session cookies in one request (cookie tossing)
	EventTokenInURL      // the URL carried a session-like parameter; it was ignored
	EventReauthRequired  // RequireRecentAuth refused a stale or missing sign-in
	EventTokenGuessing   // a client presented more bad tokens than Config.GuessLimit
	EventClientChanged   // a session was used from another User-Agent (Config.ClientBinding)

	// Failures.
	EventStoreError       // the store failed or a record could not be decoded (I9)
	EventWriteDropped     // a change to a session that died concurrently was dropped (I8)
	EventWriteAfterCommit // a change made after the response headers was refused (I10)
	EventTooLarge         // a commit was refused: the values exceed Config.MaxDataSize
)

var eventNames = [...]string{
	EventCreated:          "created",
	EventLogin:            "login",
	EventRenewed:          "renewed",
	EventLogout:           "logout",
	EventRevoked:          "revoked",
	EventMerged:           "merged",
	EventRotated:          "rotated",
	EventUnknownToken:     "unknown-token",
	EventExpiredToken:     "expired-token",
	EventDeadToken:        "dead-token",
	EventDuplicateCookie:  "duplicate-cookie",
	EventTokenInURL:       "token-in-url",
	EventReauthRequired:   "reauth-required",
	EventTokenGuessing:    "token-guessing",
	EventClientChanged:    "client-changed",
	EventStoreError:       "store-error",
	EventWriteDropped:     "write-dropped",
	EventWriteAfterCommit: "write-after-commit",
	EventTooLarge:         "too-large",
}

// String returns the kind's stable name, such as "unknown-token".
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// Suspicious reports whether the kind signals hostile input or a failure
// rather than normal operation.
func (k EventKind) Suspicious() bool { return k >= EventUnknownToken }

// An Event describes one step of a session's life or one suspicious input.
// It never holds a token: sessions are named by [Fingerprint].
type Event struct {
	Kind EventKind
	Time time.Time
	// Session is the fingerprint of the session concerned, if any.
	Session string
	// NewSession is the fingerprint of the session that replaced it, for
	// EventLogin and EventRenewed.
	NewSession string
	// UserID is the signed-in user concerned, if known.
	UserID string
	// ClientIP is the client address as Config.ClientIP reports it.
	ClientIP string
	// Method and Path describe the request (the path without its query,
	// which may hold a token).
	Method, Path string
	// Count is the number of items concerned: duplicate cookies, revoked
	// sessions.
	Count int
	// Err is the failure, for failure kinds.
	Err error
}

// LogValue renders e for log/slog.
func (e Event) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs, slog.String("kind", e.Kind.String()))
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("session", e.Session)
	add("new_session", e.NewSession)
	add("user", e.UserID)
	add("client_ip", e.ClientIP)
	add("method", e.Method)
	add("path", e.Path)
	if e.Count != 0 {
		attrs = append(attrs, slog.Int("count", e.Count))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

func (m *Manager) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = m.cfg.Now()
	}
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(e)
		return
	}
	level := slog.LevelInfo
	if e.Kind.Suspicious() {
		level = slog.LevelWarn
	}
	if e.Kind == EventStoreError {
		level = slog.LevelError
	}
	m.cfg.Logger.LogAttrs(context.Background(), level, "session event", slog.Any("event", e))
}
