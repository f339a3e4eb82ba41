// Package e2e holds the real-browser tests of sessionguard: the reference
// app (package app) served on a loopback port and driven by headless
// Chromium through the DevTools protocol (github.com/chromedp/chromedp),
// through its pages, the way a person uses it. The package has no code of
// its own; it lives in the command's module (cmd/sessionguard), which
// needs chromedp anyway for `sessionguard audit --browser`, so that
// chromedp never becomes a dependency of the library's users.
//
// # What the tests prove
//
// Unit and httptest tests show what the server sends. These show what a
// browser does with it, which is where session fixation is won or lost:
//
//   - TestI7_I6_BrowserSignInAndOut: signing in through the form leaves
//     exactly one cookie in the browser, __Host-sid, stored Secure, HttpOnly,
//     SameSite=Lax, Path=/, host-only and without an expiry (I7), read back
//     through the DevTools protocol; document.cookie cannot see it; the
//     header keeps its height across the sign-in; signing out removes the
//     cookie and the sign-in page says so, /dashboard then redirects to
//     /login, and the old cookie put back is anonymous (I6).
//   - TestI3_I2_BrowserFixationLink: the attack of the case this project
//     grew from (a login/dashboard application that took its session ID
//     from the URL and kept it across sign-in), with two browser
//     profiles. The attacker invents an ID, the victim opens
//     /login?session=ID and signs in, the attacker presents the ID (as the
//     cookie and in the URL). On the deliberately vulnerable app the attacker
//     is signed in as the victim, which shows the test can see a hijack; on
//     the secure app it lands on the sign-in page, which says calmly that
//     the ID in the link and the unknown cookie were ignored (I1, I2, I3).
//   - TestBrowserSessionsRevokeAndPasswordChange: two browsers signed in as
//     the same user; /sessions lists both by device name ("Chrome on
//     Android", the full User-Agent on hover) and marks "this device", and
//     offers "Sign out all other sessions" only when there are others;
//     revoking the other one signs that browser out, and its sign-in page
//     says why; changing the password signs out every other session, whose
//     sign-in page says the password was changed, and only the new password
//     works.
//
// # Running them
//
// They need Chromium ("chromium" in PATH; on Debian: apt-get install
// chromium). From the repository root, make test installs it when missing
// and runs every module. To run only these, from the repository root:
//
//	go test -race ./cmd/sessionguard/internal/e2e
//
// Without Chromium the tests skip, unless the environment variable CI is
// set: in CI a missing browser fails the run, it never passes it silently.
// Each test is bounded by a one-minute context; the suite takes about a
// minute on two cores, most of it Chromium starting (six browsers). All
// traffic goes to 127.0.0.1, which Chromium treats as a secure context, so
// the Secure __Host- cookie works over plain HTTP there exactly as it does
// over HTTPS in production.
//
// # Screenshots
//
// With SESSIONGUARD_SCREENSHOTS set, the tests also write the images of
// the README to docs/screenshots: dashboard.png, sessions.png (two
// sessions listed) and signin-after-revocation.png (the sign-in page of a
// browser whose session was signed out from another one) from the sessions
// test, and secure-refuses-fixed-id.png (the attacker's browser on the
// secure app, the fixed ID refused) from the fixation test:
//
//	SESSIONGUARD_SCREENSHOTS=1 go test ./cmd/sessionguard/internal/e2e
//
// Ordinary runs write nothing.
package e2e
