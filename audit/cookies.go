package audit

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// cookieChecks decides cookie-secure, cookie-httponly, cookie-samesite,
// cookie-prefix, cookie-path and cookie-lifetime (WSTG-SESS-02, ASVS V3.4)
// on the session cookies as the victim's browser stores them after
// signing in (RFC 6265bis): a decoy Set-Cookie the browser rejects, or a
// deletion on another path, changes nothing.
func (a *auditor) cookieChecks() map[string]Check {
	ids := []string{IDCookieSecure, IDCookieHTTPOnly, IDCookieSameSite, IDCookiePrefix, IDCookiePath, IDCookieLifetime}
	out := map[string]Check{}
	for _, id := range ids {
		out[id] = newCheck(id)
	}
	plainHTTP := a.env.base.Scheme == "http"
	loopback := isLoopback(canonicalHost(a.env.base.Host))
	basePath := strings.TrimSuffix(a.env.base.Path, "/")
	for _, name := range a.cookies {
		k, ck, ok := a.victim.jar.stored(a.checkURL, name)
		if !ok {
			for _, id := range ids {
				c := out[id]
				c.errorf("%s is not stored by the victim's browser for %s, so its attributes are unknown", name, rel(a.checkURL))
				out[id] = c
			}
			continue
		}
		header := "Set-Cookie: " + ck.raw
		if ck.setBy != "" {
			header = "stored from the response to " + ck.setBy + ": " + header
		}
		if ck.raw == "" {
			header = name + " (set by script or planted: no Set-Cookie seen)"
		}
		judge := func(id string, fail bool, sev Severity, lines ...string) {
			c := out[id]
			c.add("%s", header)
			for _, l := range lines {
				c.add("%s", l)
			}
			if fail && (c.Status != StatusFail || sev > c.Severity) {
				c.fail(sev)
			} else if !fail && c.Status == "" {
				c.result(StatusPass)
			}
			out[id] = c
		}

		switch {
		case !ck.secure:
			lines := []string{"no Secure attribute: the browser sends the session cookie over plain HTTP, where anyone on the network reads it"}
			if plainHTTP {
				lines = append(lines, fmt.Sprintf("the target itself is served over plain HTTP (%s)", origin(a.env.base)))
			}
			judge(IDCookieSecure, true, SeverityMedium, lines...)
		case plainHTTP && !loopback:
			judge(IDCookieSecure, true, SeverityMedium, "the target is served over plain HTTP: the password and the session cookie cross the network in clear (and browsers refuse Secure cookies from http:// pages)")
		case plainHTTP:
			judge(IDCookieSecure, false, 0, "Secure is set; the target is plain HTTP on loopback, which browsers treat as a secure context; serve it over HTTPS in production")
		default:
			judge(IDCookieSecure, false, 0)
		}

		if ck.httpOnly {
			judge(IDCookieHTTPOnly, false, 0)
		} else {
			judge(IDCookieHTTPOnly, true, SeverityMedium, "no HttpOnly attribute: script injected into any page can read the session cookie")
		}

		switch ck.sameSite {
		case http.SameSiteLaxMode, http.SameSiteStrictMode:
			judge(IDCookieSameSite, false, 0)
		case http.SameSiteNoneMode:
			judge(IDCookieSameSite, true, SeverityLow, "SameSite=None: other sites' requests carry the session")
		default:
			judge(IDCookieSameSite, true, SeverityLow, "no (valid) SameSite attribute: browsers that do not default to Lax send the session on cross-site requests")
		}

		// The jar refuses a __Host- or __Secure- cookie that breaks its
		// prefix's rules, so a stored one meets them.
		switch {
		case strings.HasPrefix(name, "__Host-"):
			judge(IDCookiePrefix, false, 0)
		case strings.HasPrefix(name, "__Secure-"):
			judge(IDCookiePrefix, true, SeverityLow, "__Secure- keeps the cookie off plain HTTP but not away from sibling subdomains; __Host- also pins it to this host")
		default:
			lines := []string{"no __Host- prefix: a sibling subdomain or a plain-HTTP response can plant a session cookie for this site (cookie tossing)"}
			if !ck.hostOnly {
				lines = append(lines, fmt.Sprintf("Domain=%s: the cookie is also sent to every subdomain", k.domain))
			}
			judge(IDCookiePrefix, true, SeverityLow, lines...)
		}

		scope := fmt.Sprintf("stored for host %s, path %s", k.domain, k.path)
		if !ck.hostOnly {
			scope = fmt.Sprintf("stored for domain %s and its subdomains, path %s", k.domain, k.path)
		}
		switch {
		case !ck.hostOnly:
			judge(IDCookiePath, true, SeverityLow, scope, fmt.Sprintf("the Domain attribute sends the session cookie to every subdomain of %s; leave Domain out", k.domain))
		case basePath != "" && !strings.HasPrefix(name, "__Host-") && k.path != basePath && !strings.HasPrefix(k.path, basePath+"/"):
			judge(IDCookiePath, true, SeverityLow, scope, fmt.Sprintf("the application lives under %s but the cookie is sent to all of %s; set Path=%s", basePath, k.path, basePath))
		default:
			judge(IDCookiePath, false, 0, scope)
		}

		if ck.expires.IsZero() {
			judge(IDCookieLifetime, false, 0, "a session cookie (no Max-Age or Expires): it ends when the browser closes")
		} else {
			left := time.Until(ck.expires).Round(time.Minute)
			judge(IDCookieLifetime, true, SeverityMedium,
				fmt.Sprintf("persistent: kept for about %s after the browser closes, although the sign-in did not ask to be remembered", left),
				"a session cookie that outlives the browser leaves a signed-in session on shared computers; set Max-Age only when the user ticks \"remember me\"")
		}
	}
	return out
}
