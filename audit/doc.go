// Package audit is a black-box scanner for session fixation and related
// session weaknesses (OWASP WSTG-SESS-01..07): the engine of
// "sessionguard audit". It drives a web application over HTTP the way a
// browser and an attacker would, and never imports the session library or
// a store, so it audits any application, in any language, exactly as an
// outside attacker sees it.
//
// # How an audit runs
//
// The auditor fetches the login page, parses it with golang.org/x/net/html,
// and submits the form with the password field (the only one in the form)
// and the user-name field (autocomplete="username", else an email input,
// else a text input named like a user name, else the last text input
// before the password) filled in. Hidden fields such as CSRF tokens,
// checked boxes, the first submit button and the form's action are kept,
// as a browser keeps them; a form without an action posts to the page's
// own URL, query string included. Redirects are followed on the target's
// origin (scheme, host and port; the same host upgraded from http:// to
// https:// on the default port) and the origins of Target.AllowOrigins
// only: another one, another port of the same host included, stops the
// audit rather than sending a victim's cookies elsewhere. A redirect whose
// URL carries the password is not followed at all (credentials-in-url).
//
// # Secrets
//
// The credentials are handled as a careful user would. The password and
// the secret values of Target.Header (Authorization, Proxy-Authorization,
// headers named like keys, tokens or secrets, and any value of 16
// characters or more) never appear in any output (report, evidence,
// errors, progress), whatever encoding the application wrote them back
// in: raw, percent-encoded in either case (+ or %20 for a space), HTML
// entities (named, decimal, hex), JSON or JavaScript escapes, the same
// twice over, base64 or base64url of the secret and of user:secret (also
// inside longer base64 text, at each of the three alignments), hex. A
// secret shorter than [MinMaskablePassword] characters cannot be told
// from ordinary text (the password "Lax" from SameSite=Lax): it is hidden
// only as the value of a credential-named parameter or header, the rest of
// the report is left as it would be with a long password, and the report
// warns. Session tokens are shown as fingerprints ("k3Jd…Qw").
//
// Every string the application supplied reaches the report with its
// control characters (ESC, C0, C1), bidirectional overrides and isolates
// and other invisible characters written visibly (\x1b, \u202e), and cut
// after 2,000 bytes with a mark; the writers escape them again, so a
// report built by other code is safe to print too.
//
// A login form sent by GET would put the password in a URL: the audit
// refuses it ([ErrUnsafeSignIn], exit status 2) unless
// Target.AllowPasswordInURL is set, which the report then carries as a
// warning. The credentials go only to the origin of the login page as
// reached (or the same host upgraded from http to https); a form posting
// elsewhere, or a 307/308 redirect that would
// repeat the POST elsewhere, is refused with the origin named, unless it
// is in Target.AllowOrigins. Target.Header goes only to the target's own
// origin, never to an allowed sign-in service. A Cookie header cannot be
// given in Target.Header: the audit keeps its own cookie jars.
//
// # Other sign-ins
//
// Target.LoginJSONPath signs in with a JSON API: the login page (LoginPath) is
// visited first for the cookies and CSRF token it hands out (an API with
// no page there may answer 4xx), then {"username": …, "password": …} is
// POSTed to LoginJSONPath as application/json, the names from UserField
// and PasswordField. The same rules hold: the endpoint must be on the
// login page's origin (or in AllowOrigins), the password is only in the
// body, a refused answer (429, 5xx) is an error, not a failed sign-in.
// CheckPath is required (a JSON answer is no page to check): signed-in
// detection reads the check page's JSON as text (CheckPath "/api/me",
// Expect "alice"). LogoutPath with LogoutMethod POST logs out with an
// empty JSON object as the body. The checks that need a login form, fixation-url and
// login-csrf, are skipped with the reason, and the verdict rests on the
// fixation check (the report's signIn says why).
//
// CSRF tokens are sent back the ways frameworks hand them out, on every
// same-origin POST (sign-in and logout, form or JSON): hidden fields of
// the form; a <meta name="csrf-token"> of the last HTML page, in the
// header the framework seen so far expects (X-CSRFToken for Django,
// X-XSRF-TOKEN for Laravel, X-CSRF-Token for Rails and any other;
// Target.CSRFHeader overrides); and double-submit cookies, XSRF-TOKEN
// in X-XSRF-TOKEN (Angular, Laravel, Axios) and csrftoken in X-CSRFToken
// (Django). The attacker's cross-site requests (login-csrf) carry none, as
// another site's page cannot.
//
// Target.SignIn signs in through a [SignInDriver]; package auditbrowser
// (which only the command links) drives headless Chromium: it opens the
// login page, waits for a password field (a form built by script works),
// finds the fields as a password manager does, in a <form> or not (type,
// autocomplete, labels, placeholder, position; never a search or
// newsletter box), types the user name and password key by key (real
// input events), presses the button next to them (a form's submit button,
// or a button wired by onclick) and waits until the page leaves the form. The
// browser starts with the cookies the actor holds (an attacker's planted
// ID), and the audit takes back the cookies it holds afterwards; every
// other request, the attacker's included, is plain HTTP. From the first
// navigation to the end of the sign-in the browser sends nothing to an
// origin other than the login page's, the target's and those of
// Target.AllowOrigins: scripts, images, beacons, prefetches and WebSockets
// to any other are blocked (WebRTC gets no UDP), and the report lists the
// blocked origins with counts, never what the requests carried. A sign-in
// that does not work without them is could-not-audit, naming them and the
// two ways to allow one: the driver's Driver.AllowLoadFrom (scripts,
// styles and fonts may load from it until typing starts; nothing else,
// ever, goes there) or Target.AllowOrigins (trusted with everything, the
// password included). A request with the password in any URL stops the
// audit with [ErrUnsafeSignIn]; Target.Header goes only to the target's
// origin; the driver's proxy and certificate settings apply, and a private
// CA (Target.RootCAs) is refused (Chromium trusts its NSS database only).
// fixation-url and login-csrf are skipped, and so is
// token-randomness when the session cookie is issued only at sign-in
// (that would take Samples browser sign-ins). A Go program plugs any
// other sign-in in the same way.
//
// Each actor (victim, attacker, throwaway clients) has its own cookie jar,
// which can be snapshotted and restored. The jar stores cookies as RFC
// 6265bis says a browser does (domain match, path, deletions, the
// __Host- and __Secure- prefixes, no Secure cookie from plain HTTP), with
// one deliberate difference from net/http/cookiejar: like browsers, it
// treats loopback hosts (localhost, 127.0.0.0/8, ::1) as secure contexts
// over plain http://, so applications using __Host- cookies can be audited
// on http://127.0.0.1; the cookie-secure check reports the plain-HTTP
// target.
//
// A client is signed in when the check page answers 2xx, is not the login
// page (after redirects) and its visible text (not scripts, not attribute
// values such as a pre-filled user name) contains the expected text. The
// check page may be the login URL itself (Servlet FORM authentication
// serves the form at the protected URL: LoginPath and CheckPath "/app"); it
// then counts as the login page only while it holds the login form.
// Before any attack this signal is established by contrast: the check page
// must show the text signed in, and must not without cookies nor after a
// sign-in with a deliberately wrong password (a failure page reading
// "Sign-in failed for alice" shows the user name too). The report's
// signedInSignal says what was seen.
//
// The session is carried by every cookie whose removal signs the user out
// (each cookie is tried, however many the site sets; Target.Cookies
// names them instead). A second, separate sign-in shows which of them have
// the same value every time. Of those, the forgeable ones (a plain
// user=alice companion) are known to anyone, and every attack adds them
// to what the attacker holds; a signed value that repeats (Flask's signed
// cookie within one second) is not, since the attacker never saw it. The
// session cookie proper is the first cookie of the set whose value
// varies; fixation and logout are tested on the whole set. A second
// sign-in that fails where the first worked stops the audit.
//
// Before any check runs the auditor signs in, establishes the signal, and
// finds the session cookies. If any of this fails the audit stops with an
// error wrapping [ErrUnreachable], [ErrRedirectLoop], [ErrRefused],
// [ErrNoLoginForm], [ErrUnsafeSignIn], [ErrSignIn] (or
// [ErrSignInForbidden], a 403 on the sign-in, or [ErrAccountLocked]),
// [ErrSignInUnfinished], [ErrSignInBudget], [ErrPublicCheckPage],
// [ErrNoSessionCookie] or [ErrBadTarget]; the report's verdict is then
// [VerdictCouldNotAudit] and every check is "error". An audit that could
// not sign in never reports a pass.
//
// # A sign-in not finished is not a sign-in
//
// A page that asks for more input is not signed in, even if it names the
// user: a one-time code (an input with autocomplete="one-time-code", a
// short numeric field named like otp, token or code, or the words the
// common frameworks use: "verification code", "two-factor", "authenticator
// app", "recovery codes"), "approve the sign-in on your phone", a consent
// or "trust this device" page, a forced password change, or a page that
// asks for the password again (a lock screen "Welcome back, alice"). Such a
// sign-in stops the audit with [ErrSignInUnfinished], naming the step (the
// requests that led there) and what it asks for. A login form shown again
// (a user-name field beside the password) is a failed sign-in, told by
// the check page as before. When the sign-in works, fails after the
// audit's own wrong-password probe and keeps failing, the error says the
// probe probably locked the account ([ErrAccountLocked]). An answer of
// 403, 401 or 423 that says "not signed in" is checked against a control:
// when a visitor without cookies, who got something else at the start,
// now gets the same, the application refuses everything (a lockout, a
// firewall) and the attempt is not completed, so the check cannot pass.
//
// # Sign-ins
//
// A sign-in is every request that carries the credentials: each form or
// JSON submission, each run of a sign-in driver, the wrong-password probe
// and login-csrf's cross-site submission. Each one can trip a rate
// limit, lock the account, raise an alert or send a one-time code, so the
// audit makes at most Target.MaxSignIns of them (default
// [DefaultMaxSignIns]), and every report gives the number made (signIns).
// The fixation checks get the budget first: setting up takes two or three
// (the sign-in, the wrong-password probe, a second sign-in), fixation up
// to four, fixation-url one per link; an audit whose budget cannot cover
// them stops before any request with [ErrSignInBudget]. The other checks
// use what is left and are skipped with the reason when it runs out; no
// check passes for want of sign-ins. Token samples come from anonymous
// visits of the login page when the cookie issued there is the one that
// carries the signed-in session; when the application issues IDs only at
// sign-in, token-randomness samples as many sign-ins as the budget leaves
// and is skipped, with the reason, when that is fewer than 20.
//
// Every session the audit signs in is signed out again as soon as it is no
// longer needed (after each check, each token sample at once), through the
// logout form or link on the check page or Target.LogoutPath; also when the audit is
// interrupted or runs out of time (best effort, for a few seconds). The
// report says how many sessions were signed in and how many could not be
// signed out (sessionsCreated, sessionsLeftOpen), with a warning saying
// why.
//
// # Checks
//
// Every check ends as pass, fail, skip (not applicable or not asked for)
// or error (attempted, could not be completed); skip and error carry the
// reason as their first line of evidence. A check fails if any completed
// attempt shows the weakness, passes only if every attempt was completed
// and none did, and is an error otherwise. An attempt answered 429 Too
// Many Requests or a 5xx error (or cut by a network error) is not
// completed; a 403 given only to the attacker's planted ID is the
// application defending itself, and counts. Answers 429, 502, 503 and 504
// are retried after Retry-After, or an exponential back-off, as long as
// the time budget allows. Token values in evidence are
// masked ("k3Jd…Qw").
//
//   - fixation (critical; WSTG-SESS-03, ASVS 3.2.1, CWE-384): three probes.
//     A fresh attacker opens the login page and the victim's browser gets
//     exactly the attacker's cookies; or the victim's browser gets a
//     session ID the attacker invented (same length and alphabet as a real
//     one); or, as the first, in a browser that signed in and out before
//     and keeps what the application left there (a device cookie that
//     makes later sign-ins keep the ID; without a known logout, its
//     session cookies are dropped and the others kept). The victim signs
//     in; the attacker replays, deliberately and more than once: while the
//     victim's sign-in redirects (an attacker polling the application wins
//     the race with the victim's next page and receives an ID renewed
//     late), after the victim's first page, and a second later (an old ID
//     kept working for a while, as session_regenerate_id(false) or the
//     PHP manual's lost-session recipe do). A value is attacker-known only
//     when the attacker saw it before the sign-in: every cookie the victim
//     holds afterwards whose value the attacker held, whatever its name (a
//     guest cart_token become the sid), goes into the replay under its new
//     name, and the evidence says so rather than "renewed". The forgeable
//     cookies (see forgeable-cookie) are added; a value merely the same at
//     two sign-ins (Flask's signed cookie within one second) is not. Fails
//     if the attacker is signed in as the victim.
//   - fixation-url (critical; WSTG-SESS-03, ASVS 3.1.1, CWE-384, CWE-598):
//     the victim opens the login page from a link carrying an ID (a fresh
//     valid one when the site issues IDs before sign-in, else an invented
//     one) as ?NAME= for the session cookie's name, session, sid, PHPSESSID
//     and JSESSIONID, as a ;jsessionid= path parameter, and, when the
//     session rests on several cookies that vary (ColdFusion's CFID and
//     CFTOKEN), with all of them at once under their own names; and signs
//     in through the page as served. Fails if the attacker, using the IDs
//     in the URL or as the session cookies, is signed in as the victim,
//     also when the victim does not look signed in afterwards (a session
//     kept only in URLs, lost on the next page): the attacker's signed-in
//     replay is the proof.
//   - adopts-unknown-id (medium; ASVS 3.2.1): fails if the server echoes an
//     invented ID in Set-Cookie, keeps it without issuing a new one where a
//     fresh visitor gets one, or still uses it after sign-in.
//   - login-csrf (medium; WSTG-SESS-05, CWE-352): login CSRF. The
//     attacker copies the login form from a visit of its own (hidden
//     fields and any CSRF token in them are the attacker's), and a browser
//     holding no cookie of the application submits it with the test
//     account's credentials as a page of another site would make it
//     (Origin: https://attacker.invalid, Sec-Fetch-Site: cross-site, no
//     Referer: the attacker's page can suppress it).
//     Fails if the browser is signed in afterwards; an application that
//     checks the origin (http.CrossOriginProtection, say) or binds its
//     token to the pre-login session passes. Skipped for a login form sent
//     by GET.
//   - logout-invalidation (high; WSTG-SESS-06, ASVS 3.3.1, CWE-613): sign
//     in, copy the cookies, log out, replay the copy; fails if the copy is
//     still signed in. Logging out uses Target.LogoutPath (submitted as the form
//     pointing at it, if a signed-in page has one, to carry its CSRF
//     token), else a logout form or link found on the check page; GET is
//     retried as POST on 405; Target.LogoutMethod forces one. Skipped when no
//     way to log out is known; an error if the user is still signed in
//     after logging out.
//   - cookie-secure (medium), cookie-httponly (medium), cookie-samesite
//     (low), cookie-prefix (low), cookie-path (low), cookie-lifetime
//     (medium) (WSTG-SESS-02, ASVS 3.4.1-3.4.5): each session cookie as the
//     victim's browser stores it after signing in (RFC 6265bis: a
//     Set-Cookie for a foreign Domain, a Secure cookie from plain HTTP or a
//     __Host-/__Secure- cookie breaking its prefix's rules is rejected, a
//     deletion on another path removes only that cookie), not the last
//     Set-Cookie of that name. cookie-secure also fails for a plain-HTTP
//     target that is not loopback; cookie-samesite wants Lax or Strict;
//     cookie-prefix wants __Host-; cookie-path fails for a Domain attribute
//     (sent to every subdomain) or a Path wider than the application's base
//     path; cookie-lifetime fails for a persistent cookie (Max-Age or
//     Expires) after a sign-in that left every "remember me" box unticked.
//   - forgeable-cookie (medium; WSTG-SESS-02, CWE-565): a cookie the
//     session rests on (its removal signs the user out) that anyone can
//     write: the same at two sign-ins and the user name in the clear
//     (user=alice, or its base64) without a signature, or a few guessable
//     characters (logged_in=1). A finding of its own, with the reason in
//     the evidence, not fixation. A value that is the same at two sign-ins
//     but signed or of no visible meaning is not forgeable.
//   - token-randomness (WSTG-SESS-01, ASVS 3.2.2): Target.Samples fresh tokens,
//     each from a new client (a visit to the login page when the site issues
//     the cookie before sign-in, else a sign-in), with at most Target.Concurrency
//     requests in flight and progress to Target.Progress. Tokens are URL-decoded; a
//     fixed-length trailing segment after '.' or '--' (a MAC, as in
//     express-session's s:ID.SIG) is left out; constant positions are
//     dropped. Every character position is tested for uniformity over the
//     token's alphabet (hex, base32, base64url, base64, …) by a chi-square
//     test and credited log2 of the alphabet size if uniform, else its
//     measured entropy; for power-of-two alphabets each bit position is
//     credited the same way, and the bit stream goes through the FIPS 140-2
//     monobit, poker, runs and long-run tests in 20,000-bit blocks. The
//     effective entropy is the smaller of the two estimates, bounded by
//     repeated tokens. Fails (high) below 64 bits, fails (medium) when the
//     FIPS tests fail in two blocks or in the only block, warns (fail, low)
//     below 128 bits. A token that is a hash of a counter looks random from
//     outside; no black-box test can tell. The session is judged as a
//     whole: when several cookies that vary carry it, each is analysed and
//     their entropy adds up, and a part that fails the FIPS tests (a
//     counter CFID) is no biased generator when the parts that pass carry
//     128 bits (a random CFTOKEN). A signed JWT is a signed statement, not
//     a random ID: the check is skipped with that reason (an unsigned one,
//     alg none, fails).
//   - cache-control (low; WSTG-ATHN-06, ASVS 8.2.1): the check page as the
//     signed-in user sees it must carry Cache-Control: no-store.
//   - idle-timeout (medium; WSTG-SESS-07, ASVS 3.3.2): opt-in with
//     Target.IdleWait; sign in, wait, fail if the session still works.
//   - absolute-timeout (medium; WSTG-SESS-07, ASVS 3.3.2, NIST SP 800-63B
//     §7.1): opt-in with Target.AbsoluteWait; sign in and use the session (the
//     check page) every minute, or every tenth of the wait if that is
//     shorter, so that no idle timeout ends it; fail if it still works
//     when the wait is over, pass as soon as it ends.
//   - credentials-in-url (high; CWE-598, ASVS 8.3.1): every redirect the
//     audit meets is read before it is followed; one whose URL carries the
//     password or a secret header value, in any of the encodings above, is
//     not followed (requesting it would put the password in logs), and the
//     check fails with the location masked. Passes when no redirect of the
//     audit did.
//
// # Framework
//
// After the checks the audit recognises the framework from what any
// client sees: session cookie names (PHPSESSID, JSESSIONID, connect.sid,
// sessionid with csrftoken, rack.session, _APP_session, APP_session with
// XSRF-TOKEN, laravel_session, mojolicious, Flask's session) and the shape
// of their values (express-session's s:ID.SIG, Flask's signed cookie,
// gorilla/securecookie, Laravel's encrypted cookie), headers
// (X-Powered-By, Server, X-Runtime), the login form's hidden fields
// (csrfmiddlewaretoken, authenticity_token, _token, _csrf) and the page
// for an unknown path (two requests: the login page and that path).
// Confidence is high for a mark only that framework leaves, medium for a
// shared or combined one, low for one weak mark; the evidence lists the
// marks. A mark every server of a platform shows (Go's "404 page not
// found") only supports a library seen in the cookies. A failed fixation,
// fixation-url or adopts-unknown-id check (and logout-invalidation for
// signed-cookie sessions) then carries the fix in that framework's terms
// with a short snippet: PHP, Express (express-session, passport 0.6.0 or
// later), Flask-Session 0.7 or later, Flask's signed cookie, Django,
// Servlet, Spring Security, Rack, Rails, Laravel, Go scs, gorilla/sessions,
// sessionguard (its __Host-sid cookie with a 256-bit token, stored with its
// defaults) and plain Go net/http (told how sessionguard's Session.Login
// fixes it, beside scs); generic advice when the framework is not
// recognised or has no fix of its own. The fix for the fixation checks
// never says to move the session's data into the new session: the
// signed-in session starts empty, and only the values the application
// names (a shopping cart) are carried over, because anything else in the
// anonymous session may have been put there by the attacker.
//
// Except while collecting token samples, requests go one at a time; the
// report counts them. Sampling adds one request per token when the
// session cookie is issued before sign-in, otherwise one sign-in and one
// sign-out per token, so its duration is then bound by the application's
// password hashing.
//
// # Exit status
//
// [Report.ExitCode] is the exit status of a command that runs the audit:
// 1 if a check failed at or above a severity threshold, otherwise 2 if
// the audit or one of its checks could not be done, otherwise 0. Findings
// win: a fixation that was shown gives 1 even if another check could not
// be performed.
//
// The audit has Target.MaxTime (default [DefaultMaxTime], plus IdleWait
// and AbsoluteWait), and each check a share of it. When the time is up,
// or ctx is cancelled, the report holds every check that finished and
// marks the others as errors ("not finished"). The sessions signed in so
// far are still signed out, for a few seconds at most.
//
// # Messages name Target fields
//
// Where a message advises changing how the audit runs, it names the
// [Target] field: "set Target.LogoutPath", "add ORIGIN to
// Target.AllowOrigins"; a sign-in driver names its own settings the same
// way with the type name Driver ("add ORIGIN to Driver.AllowLoadFrom",
// package auditbrowser). [Hints] finds these references and
// [RenameHints] and [Report.RenameHints] rewrite them, so that a command
// line can name its flags instead (sessionguard audit says "pass --logout
// PATH", "pass --allow-load-from ORIGIN").
//
// # Output
//
// Text (the default) starts with the verdict — "VULNERABLE to session
// fixation", "no fixation found" or "could not audit: REASON" — then the
// target, session cookie, check page, framework, request and sign-in counts, a table
// of checks with their result and severity, and for each finding its
// evidence, remediation, the fix in the framework's terms and references
// (OWASP WSTG, ASVS, CWE-384 and others);
// finally the reasons for checks not performed. Colour is used only when
// standard output is a terminal and NO_COLOR is not set.
//
// JSON ([WriteJSON]) is one object; new fields may be added,
// existing ones keep their meaning while version is 1:
//
//	{
//	  "version": 1,                       // SchemaVersion
//	  "target": "https://app.example/",   // the audited base URL
//	  "verdict": "vulnerable",            // or "no-fixation-found", "could-not-audit"
//	  "summary": "VULNERABLE to session fixation",
//	  "error": "…",                       // why it could not audit; omitted otherwise
//	  "sessionCookie": "sid",             // omitted if not found
//	  "sessionCookies": ["sid", "user"],  // every cookie carrying the session, sessionCookie first
//	  "signedInSignal": "…",              // how signed in was told from not
//	  "signIn": "json",                   // only without the login form: json or driver (Target.SignIn)
//	  "warnings": ["…"],                  // AllowPasswordInURL, Insecure; omitted if none
//	  "checkURL": "/dashboard",           // omitted if not reached
//	  "sessionsCreated": 11,              // sessions of the test account the audit signed in
//	  "sessionsLeftOpen": 0,              // of which it could not sign out
//	  "framework": {                      // omitted when nothing points to one, or could not audit
//	    "id": "express",                  // php, express, flask-session, flask, django, servlet,
//	                                      // spring-security, rack, rails, laravel, scs, gorilla, mojolicious,
//	                                      // sessionguard, go (Go net/http without a session library seen)
//	    "name": "Express (express-session)",
//	    "confidence": "high",             // high | medium | low
//	    "evidence": ["session cookie connect.sid (express-session's default name)"]
//	  },
//	  "signIns": 14,                      // requests that carried the credentials (at most MaxSignIns)
//	  "requests": 187,
//	  "checks": [{
//	    "id": "fixation",                 // a check ID above
//	    "status": "fail",                 // pass | fail | skip | error
//	    "severity": "critical",           // critical | high | medium | low
//	    "title": "…",                     // what a failure means
//	    "evidence": ["…", "…"],           // steps seen; first line is the reason for skip/error
//	    "remediation": "…",
//	    "references": [{"id": "CWE-384", "url": "https://cwe.mitre.org/…"}],
//	    "fixes": [{                       // failed checks only; omitted when none applies
//	      "framework": "Express (express-session)", // omitted for generic advice
//	      "text": "…", "snippet": "…", "language": "js",
//	      "references": [{"id": "…", "url": "…"}]
//	    }],
//	    "flow": [                         // a proven hijack (failed fixation, fixation-url)
//	      {"from": "attacker", "to": "application", "message": "GET /login"},
//	      {"from": "application", "to": "attacker", "message": "200, Set-Cookie: sid=k3Jd…Qw"}
//	    ]
//	  }]
//	}
//
// Every check appears, in the order above. severity is the finding's
// severity for a failed check and the severity a failure would have had
// otherwise.
//
// SARIF ([WriteSARIF]) is a SARIF 2.1.0 log with one run:
// one rule per check (help text and markdown with remediation and
// references, helpUri, security-severity for code-scanning dashboards),
// one result per failed check (ruleId, ruleIndex, level error/warning/note
// from the severity, the target as location, the evidence and the framework fixes as
// properties; the framework in the run's properties),
// and a tool-execution notification for every check skipped or not
// performed; executionSuccessful is false when the verdict is
// could-not-audit.
//
// Markdown ([WriteMarkdown]) is the report for the
// development team: the verdict and a summary table, the application
// (framework and the marks it was recognised by), then each finding with
// its evidence step by step, a Mermaid sequence diagram of a proven hijack
// as its requests happened (attacker, victim's browser, application), its
// impact, the fix in the framework's terms with a snippet, the general
// remediation and references; then what was not tested and why, and what
// passed. Everything the application supplied (paths, cookie names and
// values, header values, page text) is shown only in code spans, fenced
// code blocks or as Mermaid entity codes, never as Markdown: no HTML,
// link or image from the target reaches the document.
//
// # Go API
//
// [Run] takes a [Target] and returns the same [Report], so an
// application's own tests can assert that it is fixation-proof (see the
// example). Run is safe for concurrent use with different targets.
package audit
