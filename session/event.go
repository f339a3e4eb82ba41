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
	EventRotated                      // a periodic rotation gave the session a fresh token (Config.Rotation)
	EventLimit                        // a sign-in went past Config.MaxSessionsPerUser; the least recently used session ended

	// Suspicious input (invariants I1 and I2).
	EventUnknownToken    // a cookie held a token the store does not know, or a malformed one
	EventExpiredToken    // a cookie held the token of a session past a deadline
	EventDeadToken       // a cookie held a token that was logged out, renewed or revoked
	EventDuplicateCookie // several session cookies in one request (cookie tossing)
	EventTokenInURL      // the URL carried a session-like parameter; it was ignored
	EventReauthRequired  // RequireRecentAuth refused a stale or missing sign-in
	EventTokenGuessing   // a client presented more never-issued tokens than Config.Guessing.Limit
	EventClientChanged   // a session was used from another User-Agent (Config.ClientBinding)
	EventTokenReuse      // a token replaced by a periodic rotation was used after its grace window; the session was ended (I12)
	EventInsecureCookie  // a __Host-/Secure cookie was set on a plain-HTTP request to a host browsers will not store it for

	// Failures.
	EventStoreError       // the store failed or a record could not be decoded (I9)
	EventWriteDropped     // a change to a session that died concurrently was dropped (I8)
	EventWriteAfterCommit // a change made after the response headers was refused (I10)
	EventTooLarge         // a commit was refused: the values exceed Config.MaxDataSize
	EventBadValue         // a stored value no longer decodes; the session loaded, that key reports ErrUndecodable
	EventSignInRevoked    // a sign-in was refused: the user's sessions were revoked after its request began (I11)
)

var eventNames = [...]string{
	EventCreated:          "created",
	EventLogin:            "login",
	EventRenewed:          "renewed",
	EventLogout:           "logout",
	EventRevoked:          "revoked",
	EventMerged:           "merged",
	EventRotated:          "rotated",
	EventLimit:            "session-limit",
	EventUnknownToken:     "unknown-token",
	EventExpiredToken:     "expired-token",
	EventDeadToken:        "dead-token",
	EventDuplicateCookie:  "duplicate-cookie",
	EventTokenInURL:       "token-in-url",
	EventReauthRequired:   "reauth-required",
	EventTokenGuessing:    "token-guessing",
	EventClientChanged:    "client-changed",
	EventTokenReuse:       "token-reuse",
	EventInsecureCookie:   "insecure-cookie",
	EventStoreError:       "store-error",
	EventWriteDropped:     "write-dropped",
	EventWriteAfterCommit: "write-after-commit",
	EventTooLarge:         "too-large",
	EventBadValue:         "bad-value",
	EventSignInRevoked:    "sign-in-revoked",
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
// It never holds a token: sessions are named by [store.Fingerprint].
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
	// Reason is why the session ended, for EventLogout, EventRevoked,
	// EventLimit, EventTokenReuse and EventDeadToken.
	Reason EndReason
	// Detail is a sentence for an operator, for EventInsecureCookie and
	// EventBadValue (the key, never the value).
	Detail string
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
	if e.Reason != EndNone {
		attrs = append(attrs, slog.String("reason", e.Reason.String()))
	}
	add("detail", e.Detail)
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

// Level is the log level an event deserves: Error for a store failure,
// Warn for the other suspicious kinds, Info for the lifecycle.
func (k EventKind) Level() slog.Level {
	switch {
	case k == EventStoreError:
		return slog.LevelError
	case k.Suspicious():
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// LogEvents returns an event sink that logs each event to l at its
// [EventKind.Level], as the message "session event" with the event as a
// group. It is what a Manager does when Config.OnEvent is nil, with
// whatever slog.Default() is when the event happens. To log and also count
// or alert, compose functions:
//
//	logEvent := session.LogEvents(logger)
//	cfg.OnEvent = func(e session.Event) {
//		logEvent(e)
//		counters.Observe(e)
//	}
func LogEvents(l *slog.Logger) func(Event) {
	return func(e Event) { logEvent(l, e) }
}

func logEvent(l *slog.Logger, e Event) {
	l.LogAttrs(context.Background(), e.Kind.Level(), "session event", slog.Any("event", e))
}

func (m *Manager) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = m.cfg.Now()
	}
	m.cfg.OnEvent(e)
}
