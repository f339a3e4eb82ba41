package session

import (
	"context"
	"log/slog"
	"net/http"
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
	// A token rotated away came back after its grace window, but no client
	// had presented a later token of its session, so it is no proof of
	// theft (a lost reply): its holder was given a fresh successor (I12).
	EventReissued

	// Suspicious input (invariants I1 and I2).
	EventUnknownToken    // a cookie held a token the store does not know, a malformed one, or one whose tag fails (Config.Keys)
	EventExpiredToken    // a cookie held the token of a session past a deadline
	EventDeadToken       // a cookie held a token that was logged out, renewed or revoked
	EventDuplicateCookie // several session cookies in one request (cookie tossing)
	EventTokenInURL      // the URL carried a session-like parameter; it was ignored
	EventReauthRequired  // RequireRecentAuth refused a stale or missing sign-in
	EventTokenGuessing   // a client presented more never-issued tokens than Config.Guessing.Limit
	EventClientChanged   // a session was used from another User-Agent (Config.ClientBinding)
	EventTokenReuse      // a token replaced by a periodic rotation was used after its grace window while a later token had been presented; the session was ended (I12)
	EventInsecureCookie  // a __Host-/Secure cookie was set on a plain-HTTP request to a host browsers will not store it for

	// Failures.
	EventStoreError       // the store failed or a record could not be decoded (I9)
	EventWriteDropped     // a change to a session that died concurrently was dropped (I8)
	EventWriteAfterCommit // a change made after the response headers was refused (I10)
	EventTooLarge         // a commit was refused: the values exceed Config.MaxDataSize
	EventBadValue         // a stored value no longer decodes; the session loaded, that key reports ErrUndecodable

	// EventForgottenToken: a cookie held a token whose tag proves this
	// server issued it (Config.Keys), but the store no longer holds it:
	// the session expired and was swept, or ended long ago. Lifecycle, not
	// a guess.
	EventForgottenToken
	EventSignInRevoked // a sign-in was refused: the user's sessions were revoked after its request began (I11)
	EventCSRFRejected  // CSRFProtection refused a state-changing request: no token, or not the session's
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
	EventReissued:         "reissued",
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
	EventForgottenToken:   "forgotten-token",
	EventSignInRevoked:    "sign-in-revoked",
	EventCSRFRejected:     "csrf-rejected",
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
func (k EventKind) Suspicious() bool { return k >= EventUnknownToken && k != EventForgottenToken }

// An Event describes one step of a session's life or one suspicious input.
// It never holds a token: sessions are named by [store.Fingerprint].
type Event struct {
	Kind EventKind
	Time time.Time
	// Session is the fingerprint of the session concerned, if any.
	Session string
	// NewSession is the fingerprint of the session that replaced it, for
	// EventLogin, EventRenewed, EventRotated and EventReissued.
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

// Level is the log level a kind of event deserves when nothing else is
// known: Error for a store failure, Warn for the other suspicious kinds,
// Info for the lifecycle. [Event.Level] refines it by the end reason.
func (k EventKind) Level() slog.Level {
	switch {
	case k == EventStoreError:
		return slog.LevelError
	case k.Suspicious():
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// Level is the log level the event deserves: its [EventKind.Level], except
// that a cookie of a session that ended in the ordinary way
// (EventDeadToken or EventExpiredToken with the reason EndTimeout,
// EndSignedOut, EndSignedOutElsewhere, EndCredentialsChanged,
// EndAllSessionsEnded or EndLimit) is Info: a user coming back after being
// signed out elsewhere is no attack. A token renewed away (no reason: a
// replayed fixation ID looks like that) or ended by reuse stays Warn.
func (e Event) Level() slog.Level {
	if (e.Kind == EventDeadToken || e.Kind == EventExpiredToken) && e.Reason.ordinary() {
		return slog.LevelInfo
	}
	return e.Kind.Level()
}

// ordinary reports whether r is a way sessions end in normal operation.
func (r EndReason) ordinary() bool {
	switch r {
	case EndTimeout, EndSignedOut, EndSignedOutElsewhere, EndCredentialsChanged, EndAllSessionsEnded, EndLimit:
		return true
	}
	return false
}

// LogEvents returns an event sink that logs each event to l at its
// [Event.Level], as the message "session event" with the event as a
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
	l.LogAttrs(context.Background(), e.Level(), "session event", slog.Any("event", e))
}

func (m *Manager) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = m.cfg.Now()
	}
	m.cfg.OnEvent(e)
}

// emitReq emits e with the request's client, method and path filled in.
func (m *Manager) emitReq(r *http.Request, e Event) {
	if r != nil {
		e.ClientIP = m.cfg.ClientIP(r)
		e.Method = r.Method
		e.Path = r.URL.Path
	}
	m.emit(e)
}
