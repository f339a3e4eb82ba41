package session

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// NextParam is the query parameter in which [Manager.RequireSignIn] tells
// the sign-in page where to return after the sign-in.
const NextParam = "next"

// MaxNextLen bounds the return address [SafeNext] accepts.
const MaxNextLen = 2048

// SafeNext returns next, and true, when it is a safe place to send a user
// after signing in: a path on this site. It must start with a single "/"
// ("//host" and "/\host" lead browsers to another site), and hold no
// backslash, no control character and no invalid UTF-8, and at most
// [MaxNextLen] bytes. Anything else, a full URL included, is refused
// (an open redirect, CWE-601).
//
// Check the address where it is used, on the sign-in request, even when
// it came from [Manager.RequireSignIn]: the parameter is in a URL anyone
// can write.
func SafeNext(next string) (string, bool) {
	if len(next) == 0 || len(next) > MaxNextLen || next[0] != '/' {
		return "", false
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "", false
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	if !utf8.ValidString(next) {
		return "", false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	return next, true
}

// Next returns the return address of a sign-in request, from its
// [NextParam] parameter, when [SafeNext] accepts it, and fallback
// otherwise. Use it where the sign-in succeeds:
//
//	http.Redirect(w, r, session.Next(r, "/dashboard"), http.StatusSeeOther)
func Next(r *http.Request, fallback string) string {
	if next, ok := SafeNext(r.FormValue(NextParam)); ok {
		return next
	}
	return fallback
}

// RequireSignIn returns a middleware that lets signed-in requests through
// and redirects the others (303 See Other) to loginPath, with the page
// they asked for in the [NextParam] query parameter when it was a GET or
// HEAD request for a [SafeNext] address. The return address travels in the
// URL, never in the anonymous session: an attacker can prepare an
// anonymous session, and its contents must not steer the signed-in user
// (invariant I13).
//
// The reason the session ended is not put in the URL, where anyone could
// write one: the redirect response carries it in a signed cookie, and
// [Session.Ended] reads it on the sign-in page (see Ended).
//
// Wrap handlers that run inside [Manager.Handler]; a request that did not
// pass through it is passed through it first. RequireSignIn panics when
// loginPath is not a local path such as "/login" (a query is allowed).
func (m *Manager) RequireSignIn(loginPath string) func(http.Handler) http.Handler {
	if _, ok := SafeNext(loginPath); !ok {
		panic(fmt.Sprintf("session: RequireSignIn: the sign-in path must be a local path such as /login, not %q", loginPath))
	}
	login, err := url.Parse(loginPath)
	if err != nil {
		panic(fmt.Sprintf("session: RequireSignIn: %v", err))
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("session: RequireSignIn middleware called with a nil handler")
		}
		guard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if From(r).Authenticated() {
				next.ServeHTTP(w, r)
				return
			}
			http.Redirect(w, r, m.signInURL(login, r), http.StatusSeeOther)
		})
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if From(r) == nil {
				m.Handler(guard).ServeHTTP(w, r)
				return
			}
			guard.ServeHTTP(w, r)
		})
	}
}

// signInURL is login with r's address as the return address, if safe.
// The address keeps none of the session-like parameters the request was
// warned about (EventTokenInURL): a session ID in a link must not travel
// on into the sign-in page's URL, its logs and the redirect after it.
func (m *Manager) signInURL(login *url.URL, r *http.Request) string {
	u := *login
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return u.String()
	}
	back := *r.URL
	back.RawQuery = m.withoutTokenParams(back.RawQuery)
	back.ForceQuery = false
	if strings.Contains(strings.ToLower(back.EscapedPath()), ";jsessionid=") {
		return u.String() // the ID is in the path itself: no return address
	}
	next, ok := SafeNext(back.RequestURI())
	if !ok {
		return u.String()
	}
	q := u.Query()
	q.Set(NextParam, next)
	u.RawQuery = q.Encode()
	return u.String()
}
