package audit

import "fmt"

// Check IDs. They are stable: scripts and CI pipelines match on them, and
// an ID keeps its meaning for as long as the JSON schema version is 1.
const (
	IDFixation           = "fixation"
	IDFixationURL        = "fixation-url"
	IDAdoptsUnknownID    = "adopts-unknown-id"
	IDLogoutInvalidation = "logout-invalidation"
	IDCookieSecure       = "cookie-secure"
	IDCookieHTTPOnly     = "cookie-httponly"
	IDCookieSameSite     = "cookie-samesite"
	IDCookiePrefix       = "cookie-prefix"
	IDCookiePath         = "cookie-path"
	IDCookieLifetime     = "cookie-lifetime"
	IDForgeableCookie    = "forgeable-cookie"
	IDTokenRandomness    = "token-randomness"
	IDCacheControl       = "cache-control"
	IDIdleTimeout        = "idle-timeout"
	IDLoginCSRF          = "login-csrf"
	IDAbsoluteTimeout    = "absolute-timeout"
)

// checkInfo is what a check is, independent of any one audit: it feeds
// the report, the text remediation and the SARIF rules.
type checkInfo struct {
	id       string
	name     string // SARIF rule name, PascalCase
	topic    string // what is checked, a few words for the text table
	title    string // what a failure means, one line
	severity Severity
	// description says what the check does, for SARIF fullDescription
	// and help.
	description string
	remediation string
	refs        []Reference
}

var (
	refWSTG01 = Reference{"OWASP WSTG-SESS-01", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/06-Session_Management_Testing/01-Testing_for_Session_Management_Schema"}
	refWSTG02 = Reference{"OWASP WSTG-SESS-02", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/06-Session_Management_Testing/02-Testing_for_Cookies_Attributes"}
	refWSTG03 = Reference{"OWASP WSTG-SESS-03", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/06-Session_Management_Testing/03-Testing_for_Session_Fixation"}
	refWSTG05 = Reference{"OWASP WSTG-SESS-05", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/06-Session_Management_Testing/05-Testing_for_Cross_Site_Request_Forgery"}
	refWSTG06 = Reference{"OWASP WSTG-SESS-06", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/06-Session_Management_Testing/06-Testing_for_Logout_Functionality"}
	refWSTG07 = Reference{"OWASP WSTG-SESS-07", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/06-Session_Management_Testing/07-Testing_Session_Timeout"}
	refWSTGA6 = Reference{"OWASP WSTG-ATHN-06", "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/04-Authentication_Testing/06-Testing_for_Browser_Cache_Weaknesses"}

	asvsV3  = "https://github.com/OWASP/ASVS/blob/v4.0.3/4.0/en/0x12-V3-Session-management.md"
	refA311 = Reference{"ASVS 4.0.3 V3.1.1", asvsV3}
	refA321 = Reference{"ASVS 4.0.3 V3.2.1", asvsV3}
	refA322 = Reference{"ASVS 4.0.3 V3.2.2", asvsV3}
	refA331 = Reference{"ASVS 4.0.3 V3.3.1", asvsV3}
	refA332 = Reference{"ASVS 4.0.3 V3.3.2", asvsV3}
	refA341 = Reference{"ASVS 4.0.3 V3.4.1", asvsV3}
	refA342 = Reference{"ASVS 4.0.3 V3.4.2", asvsV3}
	refA343 = Reference{"ASVS 4.0.3 V3.4.3", asvsV3}
	refA344 = Reference{"ASVS 4.0.3 V3.4.4", asvsV3}
	refA345 = Reference{"ASVS 4.0.3 V3.4.5", asvsV3}
	refA821 = Reference{"ASVS 4.0.3 V8.2.1", "https://github.com/OWASP/ASVS/blob/v4.0.3/4.0/en/0x16-V8-Data-Protection.md"}

	refCWE384  = Reference{"CWE-384", "https://cwe.mitre.org/data/definitions/384.html"}
	refCWE598  = Reference{"CWE-598", "https://cwe.mitre.org/data/definitions/598.html"}
	refCWE613  = Reference{"CWE-613", "https://cwe.mitre.org/data/definitions/613.html"}
	refCWE614  = Reference{"CWE-614", "https://cwe.mitre.org/data/definitions/614.html"}
	refCWE1004 = Reference{"CWE-1004", "https://cwe.mitre.org/data/definitions/1004.html"}
	refCWE1275 = Reference{"CWE-1275", "https://cwe.mitre.org/data/definitions/1275.html"}
	refCWE539  = Reference{"CWE-539", "https://cwe.mitre.org/data/definitions/539.html"}
	refCWE331  = Reference{"CWE-331", "https://cwe.mitre.org/data/definitions/331.html"}
	refCWE352  = Reference{"CWE-352", "https://cwe.mitre.org/data/definitions/352.html"}
	refCSRFCS  = Reference{"OWASP CSRF Prevention Cheat Sheet: login CSRF", "https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html#possible-csrf-vulnerabilities-in-login-forms"}
	refCWE565  = Reference{"CWE-565", "https://cwe.mitre.org/data/definitions/565.html"}
	refCWE525  = Reference{"CWE-525", "https://cwe.mitre.org/data/definitions/525.html"}
	refFIPS    = Reference{"FIPS 140-2 §4.9.1", "https://csrc.nist.gov/publications/detail/fips/140/2/final"}
	refNIST    = Reference{"NIST SP 800-63B §7.1", "https://pages.nist.gov/800-63-3/sp800-63b.html#sec7"}
)

// catalog lists every check in report order.
var catalog = []checkInfo{
	{
		id: IDFixation, topic: "Session fixation", name: "SessionFixation", severity: SeverityCritical,
		title:       "Session fixation: cookies the attacker held before sign-in are signed in afterwards",
		description: "The attacker obtains session cookies before the victim signs in (by visiting the site, or by inventing an ID) and plants them in the victim's browser. After the victim signs in, the attacker replays the cookies held before the sign-in. The check fails if the attacker is then signed in as the victim.",
		remediation: "Issue a new session ID whenever the authentication state changes (sign-in, sign-out, privilege change) and invalidate the old one on the server, so an ID known before sign-in is worthless after it.",
		refs:        []Reference{refWSTG03, refA321, refCWE384},
	},
	{
		id: IDFixationURL, topic: "Session fixation via login link", name: "SessionFixationViaURL", severity: SeverityCritical,
		title:       "Session fixation via URL: an ID in the login link becomes the signed-in session",
		description: "The victim opens the login page through a link carrying a session ID (?session=, ?sid=, ?PHPSESSID=, ?JSESSIONID=, the session cookie's name, or a ;jsessionid= path parameter) and signs in through the page as served, following whatever links and form fields the server rewrote. The check fails if the attacker, using that ID, is then signed in as the victim.",
		remediation: "Read the session ID from the session cookie only, never from a URL query, path parameter or form field; renew the ID at sign-in.",
		refs:        []Reference{refWSTG03, refA311, refA321, refCWE384, refCWE598},
	},
	{
		id: IDAdoptsUnknownID, topic: "Invented session IDs refused", name: "AdoptsUnknownSessionID", severity: SeverityMedium,
		title:       "Invented session IDs are adopted instead of replaced",
		description: "A client presents a session ID the server never issued. The check fails if the server echoes it back, keeps it where a fresh client would be given a new ID, or still uses it as the session ID after sign-in.",
		remediation: "Honour only session IDs the server generated and still holds; treat an unknown ID as no session and issue a fresh one.",
		refs:        []Reference{refWSTG03, refA321, refCWE384},
	},
	{
		id: IDLoginCSRF, topic: "Cross-site sign-in refused", name: "LoginCSRF", severity: SeverityMedium,
		title:       "Login CSRF: another site can sign the victim's browser in to an account of the attacker's choosing",
		description: "An attacker's page posts the sign-in form to the application as a browser sends it (Origin of another site, Sec-Fetch-Site: cross-site, no Referer, no cookies of the application, the hidden fields of the attacker's own visit instead of a token valid for the victim). The check fails if the browser is signed in afterwards: the victim then works in the attacker's account, and what they type there (card numbers, searches, documents) is the attacker's to read.",
		remediation: "Refuse cross-site sign-in requests: check Origin or Sec-Fetch-Site on the sign-in POST (Go's http.CrossOriginProtection does both), and require a CSRF token bound to the pre-login session on the login form too.",
		refs:        []Reference{refWSTG05, refCSRFCS, refCWE352},
	},
	{
		id: IDLogoutInvalidation, topic: "Logout ends the session on the server", name: "LogoutInvalidation", severity: SeverityHigh,
		title:       "Logout does not invalidate the session on the server",
		description: "A copy of the signed-in cookies is taken, the user logs out, and the copy is replayed. The check fails if the copy is still signed in.",
		remediation: "Delete or revoke the session on the server at logout; clearing the cookie in the browser is not enough. Client-side (signed cookie) sessions cannot be revoked and need a server-side record or a revocation list.",
		refs:        []Reference{refWSTG06, refA331, refCWE613},
	},
	{
		id: IDCookieSecure, topic: "Secure cookie over HTTPS", name: "CookieSecure", severity: SeverityMedium,
		title:       "Session cookie can travel over plain HTTP",
		description: "The session cookie as the browser stores it after sign-in must carry the Secure attribute and the site must be served over HTTPS. A plain-HTTP target is reported as such.",
		remediation: "Serve the site over HTTPS only and set the Secure attribute on the session cookie.",
		refs:        []Reference{refWSTG02, refA341, refCWE614},
	},
	{
		id: IDCookieHTTPOnly, topic: "HttpOnly cookie", name: "CookieHttpOnly", severity: SeverityMedium,
		title:       "Session cookie is readable by scripts",
		description: "The session cookie as the browser stores it after sign-in must carry the HttpOnly attribute, so that script injected into a page cannot read it.",
		remediation: "Set the HttpOnly attribute on the session cookie.",
		refs:        []Reference{refWSTG02, refA342, refCWE1004},
	},
	{
		id: IDCookieSameSite, topic: "SameSite cookie", name: "CookieSameSite", severity: SeverityLow,
		title:       "Session cookie is sent on cross-site requests",
		description: "The session cookie as the browser stores it after sign-in must carry SameSite=Lax or SameSite=Strict; a missing attribute or SameSite=None lets other sites send requests with the user's session.",
		remediation: "Set SameSite=Lax (or Strict) on the session cookie.",
		refs:        []Reference{refWSTG02, refA343, refCWE1275},
	},
	{
		id: IDCookiePrefix, topic: "__Host- cookie prefix", name: "CookiePrefix", severity: SeverityLow,
		title:       "Session cookie is not locked to the host with the __Host- prefix",
		description: "The session cookie's name should start with __Host- (which requires Secure, Path=/ and no Domain), so that a sibling subdomain or a plain-HTTP response cannot plant or overwrite it (cookie tossing, a route to session fixation).",
		remediation: "Name the session cookie __Host-NAME and set it with Secure, Path=/ and no Domain attribute.",
		refs:        []Reference{refWSTG02, refA344, refCWE384},
	},
	{
		id: IDCookiePath, topic: "Cookie scope (Path, Domain)", name: "CookiePath", severity: SeverityLow,
		title:       "Session cookie is sent to more of the site than the application",
		description: "The session cookie as the browser stores it must not carry a Domain attribute (which sends it to every subdomain) and, for an application under a path, should carry that Path, so that other applications on the same host or domain never receive it.",
		remediation: "Leave the Domain attribute out and set Path to the application's base path (or use a __Host- cookie with Path=/ when the application owns the host).",
		refs:        []Reference{refWSTG02, refA345},
	},
	{
		id: IDCookieLifetime, topic: "Session cookie ends with the browser", name: "CookieLifetime", severity: SeverityMedium,
		title:       "Session cookie is persistent although the user did not ask to be remembered",
		description: "After a sign-in that did not tick any \"remember me\" box, the session cookie as the browser stores it must have no Max-Age or Expires, so that closing the browser ends the session on a shared computer.",
		remediation: "Issue the session cookie without Max-Age or Expires; make it persistent only when the user asks to be remembered, with a server-side absolute timeout either way.",
		refs:        []Reference{refWSTG02, refCWE539},
	},
	{
		id: IDForgeableCookie, topic: "Session cookies cannot be forged", name: "ForgeableCookie", severity: SeverityMedium,
		title:       "A cookie the session rests on can be written by anyone",
		description: "Every cookie whose removal signs the user out carries part of the session. One whose value is the same at every sign-in and is the user name in the clear (user=alice, or its base64) without a signature, or a few guessable characters (logged_in=1), can be written by anyone: the session then rests on it as much as on a secret. A value that is merely the same at two sign-ins (a signed cookie whose timestamp is in seconds, a per-account token) is not forgeable for that.",
		remediation: "Rest the session on a secret the server issued and holds (the session ID); keep who the user is in the server-side session, not in a cookie of its own, or sign it (HMAC) and check the signature on every request.",
		refs:        []Reference{refWSTG02, refCWE565},
	},
	{
		id: IDTokenRandomness, topic: "Token randomness", name: "TokenRandomness", severity: SeverityHigh,
		title:       "Session tokens are predictable",
		description: "Fresh session tokens are collected and decoded; the bit stream is run through the FIPS 140-2 monobit, poker, runs and long-run tests, every character position is tested for uniformity, and the effective entropy is estimated. The check fails below 64 bits, and warns (low severity) below 128 bits.",
		remediation: "Generate session tokens from a cryptographically secure random number generator with at least 128 bits of entropy (crypto/rand, 32 bytes, base64url).",
		refs:        []Reference{refWSTG01, refA322, refCWE331, refFIPS},
	},
	{
		id: IDCacheControl, topic: "Cache-Control: no-store", name: "CacheControl", severity: SeverityLow,
		title:       "Signed-in pages may be stored by caches",
		description: "A page only a signed-in user sees must be served with Cache-Control: no-store, so that neither a shared cache nor the browser's back button shows it to someone else.",
		remediation: "Send Cache-Control: no-store on every response to a signed-in user (and Vary: Cookie where a shared cache might sit in front).",
		refs:        []Reference{refWSTGA6, refA821, refCWE525},
	},
	{
		id: IDIdleTimeout, topic: "Idle timeout", name: "IdleTimeout", severity: SeverityMedium,
		title:       "Session survives the idle time",
		description: "Opt-in with Target.IdleWait: the auditor signs in, waits that long without any request, and fails the check if the session still works.",
		remediation: "Enforce an idle timeout on the server (on every load of the session record), for example 30 minutes for ASVS level 2.",
		refs:        []Reference{refWSTG07, refA332, refNIST, refCWE613},
	},
	{
		id: IDAbsoluteTimeout, topic: "Absolute timeout", name: "AbsoluteTimeout", severity: SeverityMedium,
		title:       "Session never ends while it is in use",
		description: "Opt-in with Target.AbsoluteWait: the auditor signs in and keeps the session busy (a request to the check page every minute, or every tenth of the wait if that is shorter) for that long, and fails the check if the session still works at the end.",
		remediation: "Enforce an absolute timeout on the server, counted from sign-in and not extended by activity, for example 12 hours for ASVS level 2; the user then signs in again.",
		refs:        []Reference{refWSTG07, refA332, refNIST, refCWE613},
	},
}

func infoFor(id string) checkInfo {
	for _, c := range catalog {
		if c.id == id {
			return c
		}
	}
	panic("audit: unknown check " + id)
}

// newCheck starts a check result from its catalog entry.
func newCheck(id string) Check {
	ci := infoFor(id)
	return Check{
		ID:          ci.id,
		Severity:    ci.severity,
		Title:       ci.title,
		Evidence:    []string{},
		Remediation: ci.remediation,
		References:  ci.refs,
	}
}

func (c *Check) add(format string, args ...any) {
	c.Evidence = append(c.Evidence, fmt.Sprintf(format, args...))
}

// result sets the status; for skip and error the reason becomes the first
// line of evidence.
func (c *Check) result(s Status) { c.Status = s }

func (c *Check) skip(reason string) {
	c.Status = StatusSkip
	c.Evidence = append([]string{reason}, c.Evidence...)
}

func (c *Check) fail(sev Severity) {
	c.Status = StatusFail
	c.Severity = sev
}

func (c *Check) errorf(format string, args ...any) {
	c.Status = StatusError
	c.Evidence = append([]string{fmt.Sprintf(format, args...)}, c.Evidence...)
}
