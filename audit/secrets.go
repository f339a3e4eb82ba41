package audit

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// redactedError is an error whose message went through the redaction of
// one audit: it says the same as the original, minus the secrets, and
// still matches the original with errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with the secrets of this audit masked in its
// message.
func (e *env) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if r, ok := err.(*redactedError); ok {
		return r
	}
	return &redactedError{msg: e.redact(err.Error()), err: err}
}

// WithoutUserinfo returns the URL raw with any user information before its
// host (user:password@) left out, whether or not raw parses (a URL
// written without its scheme parses as something else): what a message or
// a report may show of a URL given to the audit.
func WithoutUserinfo(raw string) string {
	prefix, rest := "", raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		rest = rest[at+1:]
	}
	return prefix + rest
}

// origin is scheme://host[:port] with the default port left out, as
// browsers compare origins.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	return scheme + "://" + host
}

// parseOrigin reads an AllowOrigins value: scheme://host[:port].
func parseOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", false
	}
	return origin(u), true
}

// mayReceiveCredentials reports whether the credentials, or a request body
// carrying them, may go to `to` when the login page was served from
// `from`: the same origin (scheme, host and port), or an origin allowed
// with Target.AllowOrigins. The same host over https is another origin
// too: it must be allowed like any other.
func (e *env) mayReceiveCredentials(from, to *url.URL) bool {
	return origin(from) == origin(to) || slices.Contains(e.allowOrigins, origin(to))
}

// mayVisit reports whether a redirect may lead to u: the target's origin,
// the same host upgraded from http:// to https:// on the default port, or
// an origin allowed with Target.AllowOrigins. Another port of the same
// host is another origin.
func (e *env) mayVisit(u *url.URL) bool {
	if origin(u) == origin(e.base) || slices.Contains(e.allowOrigins, origin(u)) {
		return true
	}
	return e.base.Scheme == "http" && u.Scheme == "https" && origin(u) == "https://"+hostOf(e.base)
}

// hostOf is u's host as origin writes it, without the port.
func hostOf(u *url.URL) string {
	h := strings.ToLower(u.Hostname())
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// sendsHeader reports whether Target.Header goes with a request to u:
// only to the target's own origin, never to another port, scheme or an
// allowed sign-in service.
func (e *env) sendsHeader(u *url.URL) bool {
	return origin(u) == origin(e.base)
}

// maskSecrets sets up the masking of the audit's secrets, and warns about
// the ones too short to be masked everywhere.
func (a *auditor) maskSecrets() {
	m, weak := newMasker(a.t.User, a.t.Password, a.t.Header)
	a.env.mask = m
	for _, w := range weak {
		a.warn(fmt.Sprintf("%s has fewer than %d characters: it is hidden where the application returns it as the value of a credential-named parameter or header, but elsewhere it could not be told apart from ordinary text and would show if the application echoed it; use a long random value for the test account",
			w, MinMaskablePassword))
	}
}
