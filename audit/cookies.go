package audit

import (
	"net/http"
	"strings"
)

// cookieChecks decides cookie-secure, cookie-httponly, cookie-samesite and
// cookie-prefix (WSTG-SESS-02) on the session cookie as the victim's
// browser last received it, normally in response to the sign-in.
func (a *auditor) cookieChecks() map[string]Check {
	ids := []string{IDCookieSecure, IDCookieHTTPOnly, IDCookieSameSite, IDCookiePrefix}
	out := map[string]Check{}
	if a.issued == nil {
		for _, id := range ids {
			c := newCheck(id)
			c.errorf("no Set-Cookie for %s was seen (the cookie was set by script?), so its attributes are unknown", a.cookie)
			out[id] = c
		}
		return out
	}
	ck := a.issued.cookie
	header := "Set-Cookie " + a.issuedAt + ": " + ck.Raw
	plainHTTP := a.env.base.Scheme == "http"
	loopback := isLoopback(canonicalHost(a.env.base.Host))

	sec := newCheck(IDCookieSecure)
	sec.add("%s", header)
	switch {
	case !ck.Secure:
		sec.fail(SeverityMedium)
		sec.add("no Secure attribute: the browser sends the session cookie over plain HTTP, where anyone on the network reads it")
		if plainHTTP {
			sec.add("the target itself is served over plain HTTP (%s)", a.env.base.Scheme+"://"+a.env.base.Host)
		}
	case plainHTTP && !loopback:
		sec.fail(SeverityMedium)
		sec.add("the target is served over plain HTTP: the password and the session cookie cross the network in clear (and browsers refuse Secure cookies from http:// pages)")
	case plainHTTP:
		sec.result(StatusPass)
		sec.add("Secure is set; the target is plain HTTP on loopback, which browsers treat as a secure context; serve it over HTTPS in production")
	default:
		sec.result(StatusPass)
	}

	ho := newCheck(IDCookieHTTPOnly)
	ho.add("%s", header)
	if ck.HttpOnly {
		ho.result(StatusPass)
	} else {
		ho.fail(SeverityMedium)
		ho.add("no HttpOnly attribute: script injected into any page can read the session cookie")
	}

	ss := newCheck(IDCookieSameSite)
	ss.add("%s", header)
	switch ck.SameSite {
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
		ss.result(StatusPass)
	case http.SameSiteNoneMode:
		ss.fail(SeverityLow)
		ss.add("SameSite=None: other sites' requests carry the session")
		if !ck.Secure {
			ss.add("SameSite=None without Secure is refused by current browsers")
		}
	default:
		ss.fail(SeverityLow)
		ss.add("no (valid) SameSite attribute: browsers that do not default to Lax send the session on cross-site requests")
	}

	px := newCheck(IDCookiePrefix)
	px.add("%s", header)
	switch {
	case strings.HasPrefix(ck.Name, "__Host-"):
		var bad []string
		if !ck.Secure {
			bad = append(bad, "no Secure")
		}
		if ck.Domain != "" {
			bad = append(bad, "a Domain attribute")
		}
		if ck.Path != "/" {
			bad = append(bad, "Path is not /")
		}
		if len(bad) > 0 {
			px.fail(SeverityMedium)
			px.add("__Host- cookie with %s: browsers reject it", strings.Join(bad, ", "))
		} else {
			px.result(StatusPass)
		}
	case strings.HasPrefix(ck.Name, "__Secure-"):
		px.fail(SeverityLow)
		px.add("__Secure- keeps the cookie off plain HTTP but not away from sibling subdomains; __Host- also pins it to this host")
	default:
		px.fail(SeverityLow)
		px.add("no __Host- prefix: a sibling subdomain or a plain-HTTP response can plant a session cookie for this site (cookie tossing)")
		if ck.Domain != "" {
			px.add("Domain=%s: the cookie is also sent to every subdomain", ck.Domain)
		}
	}
	for _, c := range []Check{sec, ho, ss, px} {
		out[c.ID] = c
	}
	return out
}
