package session

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxCandidates bounds how many distinct session cookies of one request are
// looked up in the store, so 50 tossed cookies cost no more than a few.
const maxCandidates = 3

// cookieTokens scans the request's Cookie headers for cookies named name
// (invariant I2: the cookie is the only place a token is read from). It
// returns up to len(dst) distinct well-formed tokens in dst, the number of
// cookies with that name, and how many of them were malformed. It does not
// allocate for the common single-cookie case.
func cookieTokens(h http.Header, name string, dst []string) (tokens []string, total, malformed int) {
	tokens = dst[:0]
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			k, v, ok := strings.Cut(part, "=")
			if !ok || strings.TrimRight(k, " \t") != name {
				continue
			}
			total++
			v = strings.TrimSpace(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if !validToken(v) {
				malformed++
				continue
			}
			if !slices.Contains(tokens, v) && len(tokens) < cap(tokens) {
				tokens = append(tokens, v)
			}
		}
	}
	return tokens, total, malformed
}

// setCookie adds the session cookie to h. A zero expires makes a session
// cookie (no Max-Age, invariant I7); a time in the past deletes the cookie.
func (m *Manager) setCookie(h http.Header, value string, expires time.Time, now time.Time) {
	c := http.Cookie{
		Name:     m.cfg.Cookie.Name,
		Value:    value,
		Path:     m.cfg.Cookie.Path,
		Domain:   m.cfg.Cookie.Domain,
		Secure:   !m.cfg.Cookie.InsecureWithoutSecure,
		HttpOnly: true,
		SameSite: m.cfg.Cookie.SameSite,
	}
	if !expires.IsZero() {
		if expires.After(now) {
			c.Expires = expires.UTC()
			c.MaxAge = int(expires.Sub(now).Seconds())
			if c.MaxAge == 0 {
				c.MaxAge = 1
			}
		} else {
			c.Expires = time.Unix(1, 0).UTC()
			c.MaxAge = -1
		}
	}
	h.Add("Set-Cookie", c.String())
}

// urlTokenNames are parameter names under which frameworks carry a session
// ID in a URL. The library never reads them (I2); their presence is
// reported because it is how the classic fixation link is built.
var urlTokenNames = []string{"session", "sid", "sessionid", "session_id", "phpsessid", "jsessionid", "token"}

// tokenInURL reports whether the request URL carries a session-like
// parameter in its query or a ;jsessionid= path parameter.
func (m *Manager) tokenInURL(r *http.Request) bool {
	if p := r.URL.EscapedPath(); strings.IndexByte(p, ';') >= 0 &&
		strings.Contains(strings.ToLower(p), ";jsessionid=") {
		return true
	}
	q := r.URL.RawQuery
	for len(q) > 0 {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(kv, "=")
		if k == "" {
			continue
		}
		if m.tokenParam(k) {
			return true
		}
	}
	return false
}

// tokenParam reports whether the query parameter named k (as written in
// the URL) is session-like: the cookie's name or one of urlTokenNames.
func (m *Manager) tokenParam(k string) bool {
	if strings.EqualFold(k, m.cfg.Cookie.Name) {
		return true
	}
	for _, n := range urlTokenNames {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// withoutTokenParams returns the raw query q without its session-like
// parameters, the others in their order.
func (m *Manager) withoutTokenParams(q string) string {
	var b strings.Builder
	for len(q) > 0 {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if k, _, _ := strings.Cut(kv, "="); k == "" || m.tokenParam(k) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv)
	}
	return b.String()
}

// maxWarnedHosts bounds the hosts remembered by warnPlainHTTP, so that
// requests with invented Host headers cannot grow memory.
const maxWarnedHosts = 64

// warnPlainHTTP raises an EventInsecureCookie, once per host, when a Secure
// cookie is set in answer to a plain-HTTP request for a host other than
// localhost or a loopback address. Browsers store Secure cookies from
// plain HTTP only for those, so everywhere else the sign-in silently does
// nothing. Behind a TLS-terminating proxy listed in Config.TrustedProxies,
// X-Forwarded-Proto: https makes the request HTTPS.
func (m *Manager) warnPlainHTTP(r *http.Request) {
	if r == nil || r.TLS != nil || m.cfg.Cookie.InsecureWithoutSecure || m.forwardedHTTPS(r) {
		return
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
		return
	}
	m.warnedMu.Lock()
	_, seen := m.warned[host]
	if !seen && len(m.warned) < maxWarnedHosts {
		if m.warned == nil {
			m.warned = make(map[string]struct{})
		}
		m.warned[host] = struct{}{}
	} else {
		seen = true
	}
	m.warnedMu.Unlock()
	if seen {
		return
	}
	m.emitReq(r, Event{Kind: EventInsecureCookie, Detail: "the Secure session cookie was set on a plain-HTTP request for " +
		strconv.Quote(host) + "; browsers drop it there, so signing in will do nothing. Serve the site over HTTPS, " +
		"use http://localhost for local development, or list a TLS-terminating proxy in Config.TrustedProxies"})
}

// forwardedHTTPS reports whether r came through a trusted proxy that says
// the client used HTTPS.
func (m *Manager) forwardedHTTPS(r *http.Request) bool {
	if len(m.cfg.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	trusted := false
	for _, p := range m.cfg.TrustedProxies {
		if p.Contains(addr) {
			trusted = true
			break
		}
	}
	if !trusted {
		return false
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if i := strings.IndexByte(proto, ','); i >= 0 {
		proto = proto[:i] // the first proxy's view of the client
	}
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
