package audit

import (
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// jar is one actor's cookie jar: what one browser profile holds. It
// follows RFC 6265 for domain, path and expiry, with one deliberate
// difference from net/http/cookiejar: like browsers do for localhost
// ("potentially trustworthy" origins), it sends Secure cookies to loopback
// hosts over plain http://, so that an application setting __Host-
// cookies can be audited on http://127.0.0.1. Whether the cookie was
// Secure is reported by the cookie-secure check, not hidden.
//
// It stores cookies as RFC 6265bis says a browser does: a Domain that
// does not match the host, a Secure cookie from a plain-HTTP page (other
// than loopback), a non-Secure cookie that would overwrite a Secure one
// from plain HTTP, and a __Secure- or __Host- cookie that does not meet its
// prefix's rules are rejected (and remembered, for error messages); a
// deletion removes only the cookie of the same name, domain and path.
//
// A jar is safe for concurrent use. Its zero value is not usable; use
// newJar.
type jar struct {
	mu       sync.Mutex
	now      func() time.Time
	seq      uint64
	cookies  map[cookieKey]storedCookie
	rejected []string // Set-Cookie headers a browser would refuse, and why
}

type cookieKey struct{ domain, path, name string }

type storedCookie struct {
	value    string
	hostOnly bool
	secure   bool
	httpOnly bool
	sameSite http.SameSite
	expires  time.Time // zero: session cookie
	seq      uint64    // creation order, for RFC 6265 §5.4 ordering
	raw      string    // the Set-Cookie header that stored it
	setBy    string    // the request it answered: "POST /login"
}

// jarSnapshot is a copy of a jar's contents; restoring it gives back
// exactly the cookies the actor held.
type jarSnapshot map[cookieKey]storedCookie

func newJar() *jar {
	return &jar{now: time.Now, cookies: map[cookieKey]storedCookie{}}
}

// SetCookies implements [http.CookieJar].
func (j *jar) SetCookies(u *url.URL, cookies []*http.Cookie) { j.setFrom("", u, cookies) }

// setFrom stores the cookies a response to method u set.
func (j *jar) setFrom(method string, u *url.URL, cookies []*http.Cookie) {
	host := canonicalHost(u.Host)
	secureChannel := u.Scheme == "https" || isLoopback(host)
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	for _, c := range cookies {
		reject := func(why string) {
			if len(j.rejected) < 50 {
				j.rejected = append(j.rejected, "Set-Cookie "+c.Name+" ("+why+")")
			}
		}
		domain, hostOnly := host, true
		if d := strings.TrimPrefix(strings.ToLower(c.Domain), "."); d != "" {
			if !domainMatch(host, d) {
				reject("Domain=" + d + " does not match " + host)
				continue // RFC 6265 §5.3 step 6: a foreign domain is ignored.
			}
			domain, hostOnly = d, false
		}
		path := c.Path
		if path == "" || path[0] != '/' {
			path = defaultPath(u.Path)
		}
		switch {
		case c.Secure && !secureChannel:
			reject("Secure, set by a plain-HTTP page")
			continue
		case strings.HasPrefix(c.Name, "__Secure-") && !c.Secure:
			reject("__Secure- without Secure")
			continue
		case strings.HasPrefix(c.Name, "__Host-") && (!c.Secure || !hostOnly || path != "/"):
			reject("__Host- needs Secure, no Domain and Path=/")
			continue
		}
		if !c.Secure && !secureChannel && j.shadowsSecure(c.Name, domain, path) {
			reject("would overwrite a Secure cookie from plain HTTP")
			continue
		}
		k := cookieKey{domain, path, c.Name}
		var expires time.Time
		switch {
		case c.MaxAge < 0:
			delete(j.cookies, k)
			continue
		case c.MaxAge > 0:
			expires = now.Add(time.Duration(c.MaxAge) * time.Second)
		case !c.Expires.IsZero():
			if !c.Expires.After(now) {
				delete(j.cookies, k)
				continue
			}
			expires = c.Expires
		}
		seq := j.seq
		if old, ok := j.cookies[k]; ok {
			seq = old.seq // replacing keeps the creation time (§5.3 step 11)
		} else {
			j.seq++
		}
		setBy := ""
		if method != "" {
			setBy = method + " " + rel(u)
		}
		j.cookies[k] = storedCookie{value: c.Value, hostOnly: hostOnly, secure: c.Secure, httpOnly: c.HttpOnly,
			sameSite: c.SameSite, expires: expires, seq: seq, raw: c.Raw, setBy: setBy}
	}
}

// shadowsSecure reports whether a Secure cookie of that name is stored
// for a domain and path the new one overlaps (RFC 6265bis §5.7 step 16).
func (j *jar) shadowsSecure(name, domain, path string) bool {
	for k, c := range j.cookies {
		if k.name == name && c.secure && (domainMatch(domain, k.domain) || domainMatch(k.domain, domain)) && pathMatch(path, k.path) {
			return true
		}
	}
	return false
}

// stored returns the cookie of that name a browser would send to u (the
// one with the longest path), with its attributes.
func (j *jar) stored(u *url.URL, name string) (cookieKey, storedCookie, bool) {
	cs := j.Cookies(u)
	j.mu.Lock()
	defer j.mu.Unlock()
	host := canonicalHost(u.Host)
	var bestK cookieKey
	var best storedCookie
	found := false
	for _, c := range cs {
		if c.Name != name {
			continue
		}
		for k, sc := range j.cookies {
			if k.name == name && sc.value == c.Value && (sc.hostOnly && k.domain == host || !sc.hostOnly && domainMatch(host, k.domain)) &&
				pathMatch(orSlash(u.Path), k.path) && (!found || len(k.path) > len(bestK.path)) {
				bestK, best, found = k, sc, true
			}
		}
		break
	}
	return bestK, best, found
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// rejections lists the Set-Cookie headers a browser would have refused.
func (j *jar) rejections() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.rejected...)
}

// Cookies implements [http.CookieJar]: the cookies a browser would send
// to u, longest path first.
func (j *jar) Cookies(u *url.URL) []*http.Cookie {
	host := canonicalHost(u.Host)
	secureChannel := u.Scheme == "https" || isLoopback(host)
	path := u.Path
	if path == "" {
		path = "/"
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	type match struct {
		k cookieKey
		c storedCookie
	}
	var ms []match
	for k, c := range j.cookies {
		if !c.expires.IsZero() && !c.expires.After(now) {
			delete(j.cookies, k)
			continue
		}
		if c.hostOnly && host != k.domain || !c.hostOnly && !domainMatch(host, k.domain) {
			continue
		}
		if !pathMatch(path, k.path) || c.secure && !secureChannel {
			continue
		}
		ms = append(ms, match{k, c})
	}
	sort.Slice(ms, func(a, b int) bool {
		if len(ms[a].k.path) != len(ms[b].k.path) {
			return len(ms[a].k.path) > len(ms[b].k.path)
		}
		return ms[a].c.seq < ms[b].c.seq
	})
	out := make([]*http.Cookie, len(ms))
	for i, m := range ms {
		out[i] = &http.Cookie{Name: m.k.name, Value: m.c.value}
	}
	return out
}

// all returns the cookies that would be sent to u with their attributes
// (Domain empty for a host-only cookie), for a sign-in driver.
func (j *jar) all(u *url.URL) []*http.Cookie {
	sent := j.Cookies(u)
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, s := range sent {
		for k, c := range j.cookies {
			if k.name != s.Name || c.value != s.Value {
				continue
			}
			hc := &http.Cookie{Name: k.name, Value: c.value, Path: k.path, Secure: c.secure, HttpOnly: c.httpOnly, SameSite: c.sameSite, Expires: c.expires}
			if !c.hostOnly {
				hc.Domain = k.domain
			}
			out = append(out, hc)
			break
		}
	}
	return out
}

// value returns the value of the named cookie that would be sent to u.
func (j *jar) value(u *url.URL, name string) (string, bool) {
	for _, c := range j.Cookies(u) {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// plant stores a host-only cookie for u's host, as an attacker tossing a
// cookie into the victim's browser would. It bypasses the storage rules
// (a real attacker may have other ways in, such as script injection): the
// point is what the server does with the planted ID.
func (j *jar) plant(u *url.URL, name, value, path string) {
	if path == "" {
		path = "/"
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	k := cookieKey{canonicalHost(u.Host), path, name}
	seq := j.seq
	if old, ok := j.cookies[k]; ok {
		seq = old.seq
	} else {
		j.seq++
	}
	secure := strings.HasPrefix(name, "__Host-") || strings.HasPrefix(name, "__Secure-")
	j.cookies[k] = storedCookie{value: value, hostOnly: true, secure: secure, seq: seq, raw: name + "=" + value, setBy: "planted"}
}

// remove deletes every cookie with that name.
func (j *jar) remove(name string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for k := range j.cookies {
		if k.name == name {
			delete(j.cookies, k)
		}
	}
}

func (j *jar) snapshot() jarSnapshot {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := make(jarSnapshot, len(j.cookies))
	for k, c := range j.cookies {
		s[k] = c
	}
	return s
}

func (j *jar) restore(s jarSnapshot) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cookies = make(map[cookieKey]storedCookie, len(s))
	for k, c := range s {
		j.cookies[k] = c
		j.seq = max(j.seq, c.seq+1)
	}
}

// merge adds the cookies of s to the jar, over any of the same name,
// domain and path: cookies planted in a browser that holds others.
func (j *jar) merge(s jarSnapshot) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for k, c := range s {
		j.seq++
		c.seq = j.seq
		j.cookies[k] = c
	}
}

// names lists the names of the cookies a browser would send to u.
func (j *jar) names(u *url.URL) []string {
	var out []string
	for _, c := range j.Cookies(u) {
		out = append(out, c.Name)
	}
	return out
}

func canonicalHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
}

// isLoopback reports whether host is one browsers treat as a secure
// context over plain HTTP: localhost, *.localhost, 127.0.0.0/8 and ::1.
func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func domainMatch(host, domain string) bool {
	if host == domain {
		return true
	}
	if net.ParseIP(host) != nil {
		return false
	}
	return strings.HasSuffix(host, "."+domain)
}

func pathMatch(reqPath, cookiePath string) bool {
	if reqPath == cookiePath {
		return true
	}
	if !strings.HasPrefix(reqPath, cookiePath) {
		return false
	}
	return strings.HasSuffix(cookiePath, "/") || reqPath[len(cookiePath)] == '/'
}

// defaultPath is RFC 6265 §5.1.4.
func defaultPath(p string) string {
	if p == "" || p[0] != '/' {
		return "/"
	}
	i := strings.LastIndex(p, "/")
	if i == 0 {
		return "/"
	}
	return p[:i]
}
