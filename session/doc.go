// Package session is session management for net/http that makes session
// fixation impossible by construction.
//
// In a session fixation attack (CWE-384, OWASP WSTG-SESS-03) the attacker
// gets a session ID into the victim's browser before the victim signs in —
// a link with ?session=X, a cookie tossed from a sibling subdomain, an ID the
// attacker obtained by visiting the site first — and after the victim signs
// in, the attacker's ID is signed in too. This package closes every route:
//
//   - Only tokens this server issued and still holds are honoured; an
//     unknown, expired or revoked token is treated as no session and raises
//     an [Event] (invariant I1).
//   - The token is read from the session cookie and nowhere else: never from
//     a URL, a form field or a header (I2).
//   - Signing in is a renewal: [Session.Login] issues a fresh token and kills
//     the old one in the same store operation. There is no way to set the
//     signed-in user without it (I3).
//   - Tokens are 256 bits from crypto/rand; the store keeps only their
//     SHA-256, so a store dump yields no usable cookie (I4).
//   - Idle and absolute timeouts are enforced on the server on every load
//     (I5); logout deletes the record on the server (I6).
//   - The cookie is __Host-sid; Secure; HttpOnly; SameSite=Lax; Path=/ with
//     no Domain and no Max-Age; contradictory settings are refused by [New]
//     (I7).
//   - Saves are conditional on the version loaded, concurrent changes are
//     merged, and a renewed or destroyed session stays dead whatever
//     requests still in flight do (I8).
//   - A store failure gives an error response, never a fresh anonymous
//     session that then overwrites state (I9).
//   - The middleware streams: it commits just before the first header write
//     and never buffers the body (I10).
//
// # Getting started
//
// Build a [Manager] over a [store.Store] (store/memstore for tests and single
// processes, store/boltstore for an embedded persistent store,
// store/redisstore for several instances), wrap the application with
// [Manager.Handler], and reach the request's session with [From]:
//
//	sessions, err := session.New(boltStore, session.Config{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(addr, sessions.Handler(mux))
//
//	func login(w http.ResponseWriter, r *http.Request) {
//		// ... check the credentials ...
//		if err := session.From(r).Login(userID); err != nil { ... }
//		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
//	}
//
// # Values
//
// [Session.Put] stores strings, byte slices, booleans, every integer and
// float kind, time.Time, time.Duration and []string; other types are stored
// as JSON once registered with [RegisterJSON]. [Session.Get] returns a value
// of the type it was stored with; [Value] and the GetXxx methods are typed
// shortcuts. Values are encoded with a compact tagged format, not
// encoding/gob.
//
// # Commit
//
// Changes are applied when the response header is written — by the first
// Write, WriteHeader or Flush, or when the handler returns. That is when the
// store is written and the cookie set, with Cache-Control: no-store and
// Vary: Cookie. A change made after it is refused with [ErrCommitted] and an
// [EventWriteAfterCommit]; it is not silently dropped. If the commit fails,
// [Config.ErrorHandler] answers instead of the handler. A request that has
// no session and stores nothing writes nothing to the store and sets no
// cookie.
//
// When two requests of one session save at once, the second save finds a
// newer version, reloads it and replays its own changes on it: changes to
// different keys both survive; for one key the later commit wins.
//
// # Timeouts
//
// Every record carries its idle timeout and absolute deadline. A load past
// either is no session. To keep read-only traffic from writing on every
// request, the idle deadline is refreshed only when the stored last-seen
// time is at least [Config.TouchInterval] old (by default a thirtieth of the
// idle timeout, at most a minute). [RememberMe] gives a sign-in a persistent
// cookie and the longer remember-me limits.
//
// # Periodic rotation
//
// With [Config.RotateEvery], a signed-in session whose token reaches that
// age gets a fresh one on its next request, which narrows what a token
// stolen without anyone noticing is worth. Nothing about the sign-in
// changes, so, unlike a sign-in or a renewal, the old token keeps working
// for [Config.RotateGrace], serving the new session to the requests the
// browser sent before it had the new cookie; a logout through either token
// ends both. Sign-ins, [Session.Renew] and [Session.Logout] never leave a
// grace window.
//
// # Signing out elsewhere
//
// The store indexes sessions by user, so [Session.Sessions] and
// [Manager.UserSessions] list a user's sessions (with creation, last use,
// sign-in time, IP and user agent) without scanning the store,
// [Manager.Revoke] ends one, [Manager.RevokeAll] all, and
// [Session.RevokeOthers] all but the current one, which it renews — what a
// password change should do. Listings hold an opaque ID, never a token.
//
// # Sensitive actions
//
// [Manager.RequireRecentAuth] guards handlers that should ask for the
// password again when the sign-in is older than a limit.
//
// # Events
//
// Every step of a session's life and every suspicious input — unknown,
// expired or dead tokens, duplicate session cookies, a session ID in a URL,
// store failures — is an [Event] sent to [Config.OnEvent], or logged with
// log/slog. Events name sessions by a short [Fingerprint] of the store key,
// never by token.
//
// # Hostile traffic
//
// Each client's unknown, expired, dead and malformed tokens are counted in
// bounded memory ([Config.GuessLimit], [Config.GuessWindow],
// [Config.GuessClients]); past the limit an [EventTokenGuessing] is raised,
// and with [Config.GuessCooldown] the client's requests that carry a session
// cookie are refused with 429 for a while. Clients are told apart by
// [Config.GuessKey], by default [Config.ClientIP]; behind reverse proxies,
// [TrustedProxyClientIP] believes X-Forwarded-For only from the proxies you
// name. [Config.ClientBinding] reports, or refuses, a session used from
// another User-Agent than the one it was issued to.
//
// # Stores
//
// A [store.Store] is small and conditional: get, create, versioned update, atomic
// rotation, delete with a tombstone, per-user listing. Its contract is
// documented on the interface and checked by the store/storetest
// conformance suite, which every store in this module passes.
package session
