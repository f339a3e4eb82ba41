// Package sessiontest provides utilities for testing applications that use
// package session, as net/http/httptest does for net/http.
//
// A [Manager] is a session.Manager over a fresh memstore.Store whose time
// is a [Clock] that moves only when the test says so, and whose events go
// to a [Recorder] instead of the log, so test output stays quiet:
//
//	sessions := sessiontest.NewManager(session.Config{})
//	defer sessions.Close()
//	ts := httptest.NewServer(sessions.Handler(app))
//	defer ts.Close()
//
// # Signed-in requests in one line
//
// [Manager.Login] signs a user in and returns the session cookie;
// [Manager.Client] returns an *http.Client whose cookie jar holds it. The
// session is made by session.Session.Login on a request the Manager itself
// serves, so it is what the application's own sign-in makes (a fresh
// token, a sign-in time, a place in the user's session list), without
// scraping the sign-in form:
//
//	r := httptest.NewRequest("GET", "/dashboard", nil)
//	r.AddCookie(sessions.Login("alice"))
//
//	client := sessions.Client(ts, "alice")
//	res, err := client.Get(ts.URL + "/dashboard")
//
// # Plain HTTP and the __Host- cookie
//
// The default session cookie is __Host-sid, which is Secure. Browsers send
// Secure cookies to http://localhost and loopback addresses, but
// net/http/cookiejar does not; [NewJar] (used by [NewClient] and
// [Manager.Client]) does as browsers do, so the default configuration
// works behind httptest.NewServer. httptest.NewTLSServer works too.
// Requests built with httptest.NewRequest and AddCookie need nothing.
//
// # Time
//
// [Manager.ExpireIdle] ages every idle session past the idle timeout;
// [Manager.KeepActive] and [Manager.ExpireAbsolute] move the Clock while a
// callback keeps a session in use, to reach the absolute timeout.
//
// # Failing loudly
//
// Like httptest.NewServer and httptest.NewRequest, the functions of this
// package panic on a mistake (a configuration session.New refuses, a
// sign-in that cannot be made) rather than return an error, so that a test
// stays short; a panic fails the test that caused it.
package sessiontest
