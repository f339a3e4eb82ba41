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
//   - Revocation cannot be raced: once [Session.RevokeOthers],
//     [Manager.RevokeAll] or [Manager.Revoke] returns, no session it ended
//     can be used, whatever renews or rotates at the same time, and no
//     sign-in of the user whose request began before RevokeOthers or
//     RevokeAll returned can stand: it fails with [ErrSignInRevoked] (I11).
//   - A token replaced by a periodic rotation and used after its grace
//     window, once a later token of the session was presented, ends the
//     whole session, with an [EventTokenReuse]; a successor no client ever
//     presented is handed to the old token's holder instead (I12).
//   - Nothing of the anonymous session reaches the signed-in one unless the
//     application names it with [Carry] (I13).
//   - Nothing written is dropped silently: a value put after
//     [Session.Logout] lands in a fresh anonymous session, and the reason a
//     session ended is readable on the page the user is redirected to
//     (I15).
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
//	}
//
//	func signInPage(w http.ResponseWriter, r *http.Request) {
//		s := session.From(r)
//		if s.Ended() == session.EndCredentialsChanged {
//			// "You were signed out because your password was changed."
//		}
//		if s.Notices()&session.NoticeTokenInURL != 0 {
//			// "A session ID in the link you followed was ignored."
//		}
//		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
//	}
//
// # Values
//
// [Session.Put] stores strings, byte slices, booleans, every integer and
// float kind, time.Time, time.Duration and []string; other types are stored
// as JSON once registered with [RegisterJSON]. [Value] reads a value of any
// type and says why it could not: [ErrNoValue], a different type, or
// [ErrUndecodable] for a stored value that no longer decodes (its JSON type
// changed shape in a deploy) — which fails only that key, never the
// session. [Session.GetString] and [Session.PopString] are shorthands for
// the everyday string. Values are encoded with a compact tagged format, not
// encoding/gob.
//
// At [Session.Login] nothing of the anonymous session is kept but what the
// application names with [Carry]: whoever prepared the anonymous session
// (an attacker, through any endpoint that writes to it) must not choose a
// CSRF token or a return-to URL of the signed-in one.
//
// # Flashes
//
// A flash is a message for the next page the user sees, usually the one a
// redirect leads to: [Session.AddFlash] (or [Session.AddInfo],
// [Session.AddSuccess], [Session.AddWarning], [Session.AddError]) adds one
// with its [FlashLevel], and [Session.Flashes] returns them, oldest first,
// and forgets them:
//
//	s.AddSuccess("Profile saved.")
//	http.Redirect(w, r, "/profile", http.StatusSeeOther)
//
//	// on /profile, in the layout template's data:
//	data.Flashes = session.From(r).Flashes()
//
// Flashes survive redirects, renewals, rotations, sign-in and sign-out.
// Those the request itself adds, before or after [Session.Login] or
// [Session.Logout], are kept; at Login, those an anonymous session held
// before the request are dropped (an attacker could have prepared them,
// I13) unless the sign-in names [CarryFlashes]; at Logout, the signed-out
// user's pending flashes go with the session. Flashes added after Logout
// land in a fresh anonymous session (I15), which is how "You have been
// signed out." reaches the sign-in page.
//
// # Sending visitors to the sign-in page
//
// [Manager.RequireSignIn] guards pages for signed-in users: it redirects a
// signed-out visitor to the sign-in page with the page asked for in the
// "next" query parameter ([NextParam]), never in the anonymous session,
// whose contents an attacker may have chosen (I13). The sign-in handler
// reads it with [Next], which checks it again with [SafeNext]: only a path
// on this site, never "//host", "/\host", a scheme, a control character,
// or more than [MaxNextLen] bytes (an open redirect, CWE-601).
//
// The request that still carries a dead cookie is the one that learns why
// the session ended, and usually it is the one redirected. Its response
// therefore also sets a short-lived signed cookie (see [Session.Ended])
// that carries the reason to the sign-in page, where Ended reads it with
// no work by the application. Only sessions the store reports as ended get
// one, never unknown or invented tokens, and it is stored nowhere but in
// the browser, so a flood of requests with such cookies grows nothing.
// Sign the note with [Config.Keys] when several instances serve the site.
//
// # CSRF
//
// A cross-site request forgery makes the victim's browser send a request,
// with the victim's session cookie, that the victim did not mean to send.
// The session cookie's SameSite=Lax keeps it off cross-site POST
// requests, but not off requests from a sibling subdomain (same site), nor
// off top-level GETs: a GET must never change state.
//
// Protect forms with [http.CrossOriginProtection] (Go 1.25) first: it
// refuses unsafe requests (anything but GET, HEAD and OPTIONS) that the
// browser marks as cross-origin with Sec-Fetch-Site, or whose Origin does
// not match the Host, and needs no token in any form:
//
//	app := http.NewCrossOriginProtection().Handler(sessions.Handler(mux))
//
// Its limits: a request that carries neither Sec-Fetch-Site nor Origin is
// let through. Current browsers send Sec-Fetch-Site (Chrome and Edge since
// 2019, Firefox since 2021, Safari since 2023) and Origin on unsafe
// requests, so what passes unchecked is non-browser clients and old
// browsers; an old browser that sends Origin is judged by it, one that
// sends neither is not protected at all. A proxy that rewrites Host must
// keep the original, or the public origin must be listed with
// AddTrustedOrigin. GET, HEAD and OPTIONS are never checked.
//
// Where those limits matter (old browsers in a managed fleet, a policy
// that requires a synchroniser token, an API used with cookies by clients
// without Fetch metadata), add a per-session token: [CSRFProtection]
// refuses unsafe requests without the token of [Session.CSRFToken], from
// the form field [CSRFField] or the header [CSRFHeader], compared in
// constant time. The token is kept in the session on the server, renewed
// at every sign-in and sign-out and never carried across them, even when
// named with [Carry] (I13): a token an attacker saw before the victim
// signed in is worth nothing after. The two protections can be stacked:
//
//	csrf := session.NewCSRFProtection()
//	app := http.NewCrossOriginProtection().Handler(sessions.Handler(csrf.Handler(mux)))
//
//	// in the form's template
//	<input type="hidden" name="csrf_token" value="{{.CSRF}}"> // session.CSRFToken(r)
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
// either is no session; when the configured limits are shorter than a
// record's (they were lowered), the shorter apply. To keep read-only traffic from writing on every
// request, the idle deadline is refreshed only when the stored last-seen
// time is at least [Config.TouchInterval] old (by default a thirtieth of the
// idle timeout, at most a minute). [RememberMe] gives a sign-in a persistent
// cookie and the longer remember-me limits.
//
// # Periodic rotation
//
// With [Config.Rotation], a signed-in session whose token reaches
// [RotationConfig.Every] gets a fresh one on its next request, which
// narrows what a token stolen without anyone noticing is worth. Nothing
// about the sign-in changes, so, unlike a sign-in or a renewal, the old
// token keeps working for [RotationConfig.Grace], serving the new session
// to the requests the browser sent before it had the new cookie, however
// many rotations old it is; a logout through any of them ends them all.
// Sign-ins, [Session.Renew], [Session.RevokeOthers], logouts and
// revocations never leave a grace window: every token older than them is
// dead at once (I3, I11).
//
// After the grace window the old token is evidence that two parties hold
// the session, as OAuth 2.0 refresh-token rotation reasons (RFC 9700
// §4.14.2), on one condition: that a client presented a later token of the
// session. The first request carrying a rotated-in token records that it
// did, in the session's own record. With that proof the whole session
// ends, with an [EventTokenReuse] and the reason [EndReuse]; the same
// holds when the successor's holder shows up after the old token's holder
// was given a fresh successor. Without it, the successor never reached
// anyone: its reply was lost on the network, dropped by an
// [http.TimeoutHandler], or replaced by an error from a store that made
// the write but could not confirm it. The old token's holder is then
// handed a fresh successor, with an [EventReissued], and is not signed
// out. A rotation never starts on a response that cannot carry the
// cookie: after [http.Hijacker.Hijack] (a WebSocket upgrade), or once the
// request's context is done.
//
// # Signing out elsewhere
//
// The store indexes sessions by user, so [Session.Sessions] and
// [Manager.UserSessions] list a user's sessions (with creation, last use,
// sign-in time, IP and user agent) without scanning the store,
// [Manager.Revoke] ends one, [Manager.RevokeAll] all, and
// [Session.RevokeOthers] all but the current one, which it renews — what a
// password change should do. Each is one store operation over the user's
// index, so a session renewed, rotated or signed in again at the same
// moment cannot escape it (I11). Listings hold an opaque ID, never a token.
// [Config.MaxSessionsPerUser] (default 100) bounds a user's sessions: a
// sign-in beyond it ends the least recently used, in the store's sign-in
// write itself, never a session newer than the sign-in.
//
// A sign-in in progress cannot escape [Session.RevokeOthers] or
// [Manager.RevokeAll] either: a request that checked the old password and
// called [Session.Login] just before the password changed on another
// device (or another instance, whatever its clock) fails when it commits,
// with [ErrSignInRevoked] given to [Config.ErrorHandler] (409 from
// [DefaultErrorHandler]), and [Session.Ended] tells the revocation's
// reason, typically [EndCredentialsChanged]:
//
//	ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
//		if errors.Is(err, session.ErrSignInRevoked) {
//			// "Your password was just changed. Please sign in again."
//			http.Redirect(w, r, "/login?changed=1", http.StatusSeeOther)
//			return
//		}
//		session.DefaultErrorHandler(w, r, err)
//	},
//
// The revocation leaves a per-user mark in the store, on the store's clock,
// for [store.MarkTTL] (an hour); the sign-in's write carries how long ago
// its request began, measured on its own instance's clock, and the store
// compares. A sign-in made by the same request after it revoked
// (RevokeOthers on a sign-in, or RevokeAll with the request's context)
// stands, as does one whose request began after the revocation returned on
// the same instance. On another instance, a sign-in whose request began
// less than [store.SignInMargin] (250 milliseconds) after the revocation
// is refused as well.
//
// A request whose cookie names an ended session can ask [Session.Ended]
// why — signed out, signed out elsewhere, credentials changed, all
// sessions ended, token reuse, session limit, timeout — for a day after
// the fact ([store.ReasonTTL]), so a user coming back the next morning is
// told; the page that request redirects to can ask too (see Sending
// visitors to the sign-in page). [Session.Notices] says what was ignored in the request: a session
// ID in the URL, or a session cookie this server never issued.
//
// # Sensitive actions
//
// [Manager.RequireRecentAuth] guards handlers that should ask for the
// password again when the sign-in is older than a limit.
//
// # Events
//
// Every step of a session's life (created, login, renewed, logout,
// revoked, merged, rotated, reissued, session limit, a tagged token the
// store has forgotten) and every suspicious input or failure (unknown,
// expired or dead tokens, token reuse, duplicate session cookies, a
// session ID in a URL, a Secure cookie over plain HTTP, store failures,
// undecodable values) is an [Event] sent to [Config.OnEvent]. By default
// events are logged with log/slog at their [Event.Level]: the cookie of a
// session that ended in the ordinary way (signed out, here or elsewhere,
// revoked, timed out, over the session bound) is Info, while a token
// renewed away (what a replayed fixation ID looks like) and token reuse
// are Warn.
// [LogEvents] is that sink, to call from your own function when you also
// count or alert. Events name sessions by a short [store.Fingerprint] of
// the store key, never by token.
//
// # Hostile traffic
//
// Each client's never-issued and malformed tokens are counted in bounded
// memory ([Config.Guessing]); expired and signed-out tokens are not, since
// honest browsers hold them. Without [Config.Keys] only the store tells
// them apart, and only while it remembers a token: once an expired
// session is swept, or a signed-out one's reason is forgotten a day later
// ([store.ReasonTTL]), its cookie counts as a guess. With keys, a token
// this server issued never counts (see Keys). Past [GuessingConfig.Limit] an
// [EventTokenGuessing] is raised, and with [GuessingConfig.Cooldown] the
// client's requests that carry a session cookie are refused with 429 for a
// while. Clients are told apart by [GuessingConfig.Key], by default
// [Config.ClientIP] with IPv6 addresses grouped by /64; behind reverse proxies,
// [TrustedProxyClientIP] believes X-Forwarded-For only from the proxies you
// name. [Config.ClientBinding] reports, or refuses, a session used from
// another User-Agent than the one it was issued to.
//
// # Keys
//
// [Config.Keys] is a key set shared by every instance of the application
// and kept across restarts, loaded from a key file ([ReadKeysFile]) or an
// environment variable ([KeysFromEnv]): base64 keys of 32 random bytes
// (`openssl rand -base64 32`), the current one first. With it, every token
// issued carries a tag after its 32 random bytes: 16 bytes of HMAC-SHA256
// under a sub-key of the current key, 64 characters in all. The random
// bytes are still the token's whole secret (256 bits); the store keeps
// SHA-256 of the whole token, so a dump of it yields no cookie, and
// records made before keys were set keep their keys.
//
// Before the store is asked, the tag is checked against every key of the
// set:
//
//   - A tag that verifies: this server issued the token. It is looked up,
//     and if the store no longer holds it (an expired session swept, a
//     Redis key dropped by its TTL) an [EventForgottenToken] is raised; it
//     never counts as a guess. During a client's guessing cool-down such a
//     token is still served, so a colleague behind a guesser's address
//     keeps a session, while nothing else that client sends reaches the
//     store.
//   - A tag that fails: the token was invented, or tagged under a key
//     since removed. It is refused without a store round trip, with an
//     [EventUnknownToken], and counts as a guess.
//   - No tag (43 characters): a token issued before keys were set. It is
//     looked up as before, so those sessions keep working; if the store
//     does not know it, it counts as a guess, as it did before keys were
//     set. Sending tokens of the old form therefore costs an attacker the
//     same count, and in a cool-down reaches the store no more than any
//     other guess does.
//
// To rotate, put a new key first and keep the old one listed until every
// session issued under it has ended (RememberAbsoluteTimeout after the
// change, 30 days by default); each listed key costs one HMAC when a
// forged token is checked, so keep at most a few ([MaxKeys]). Removing
// Keys again, or going back to a release without them, leaves tagged
// tokens looked up by the store alone. Give each deployment (staging,
// production) keys of its own.
//
// The same set serves the application: [Keys.Derive] returns the set for
// a purpose ("myapp/signed-url"), whose [Keys.Sign] and [Keys.Verify]
// sign with the current key and verify under every listed one. One key
// file thus covers the library and the application, and rotates both.
//
// # Stores
//
// Sessions are kept by a [store.Store], whose contract lives in package
// store, for store authors: small and conditional — get, create, versioned
// update, atomic rotation, delete with a tombstone that keeps a reason,
// per-user listing and revocation. The store/storetest conformance suite
// checks it; every store in this module passes it.
package session
