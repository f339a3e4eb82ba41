package audit

import (
	"net/http"
)

// IDCredentialsInURL is the check that fails when the application
// redirects to a URL carrying the password (or a secret header value): a
// browser would request it, and the password would be kept in server,
// proxy and browser logs and leak through the Referer header (CWE-598).
// The audit does not follow such a redirect.
const IDCredentialsInURL = "credentials-in-url"

var refASVS1 = Reference{"ASVS 4.0.3 V8.3.1", "https://github.com/OWASP/ASVS/blob/v4.0.3/4.0/en/0x16-V8-Data-Protection.md"}

func init() {
	catalog = append(catalog, checkInfo{
		id: IDCredentialsInURL, topic: "Credentials in URLs", name: "CredentialsInURL", severity: SeverityHigh,
		title:       "The application redirects to a URL carrying the password",
		description: "Every redirect the audit meets is read before it is followed: one whose URL holds the password, or a secret header value, in any common encoding (percent-encoded, HTML or JSON escaped, base64 of the password or of user:password, hex) is not followed, and the check fails with the location masked.",
		remediation: "Never put the password (or any credential) in a URL: keep it in the body of the POST that signs in, and redirect after sign-in to a URL built without it.",
		refs:        []Reference{refCWE598, refASVS1},
	})
	impacts[IDCredentialsInURL] = "The password is written into the logs of every server, proxy and browser history the URL passes through, and is sent on to other sites in the Referer header: anyone who reads those logs can sign in as the user."
}

// credURL is a redirect that carried a secret, as evidence.
type credURL struct {
	request  string // "POST /login"
	status   int
	location string // masked when shown
}

// sawCredentialsInURL records a redirect whose location carries a secret.
func (e *env) sawCredentialsInURL(request string, status int, location string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.credURLs) < 10 {
		e.credURLs = append(e.credURLs, credURL{request, status, location})
	}
	e.credURLCount++
}

// checkCredentialsInURL reports the redirects that carried a secret in
// their URL. It runs once the other checks are done, on what every
// request of the audit saw.
func (a *auditor) checkCredentialsInURL() Check {
	c := newCheck(IDCredentialsInURL)
	a.env.mu.Lock()
	seen, n := append([]credURL(nil), a.env.credURLs...), a.env.credURLCount
	a.env.mu.Unlock()
	if n == 0 {
		c.add("no redirect of the %d requests sent carried the password or a secret header value in its URL", a.env.requests.Load())
		c.result(StatusPass)
		return c
	}
	for _, u := range seen {
		c.add("%s answered %d %s with Location: %s (not followed)", u.request, u.status, http.StatusText(u.status), a.env.redact(u.location))
	}
	if n > len(seen) {
		c.add("and %d more such redirects", n-len(seen))
	}
	c.result(StatusFail)
	return c
}

// keepCredentialsInURL puts a failed credentials-in-url check into the
// report of an audit that could not be completed: what was seen before it
// stopped is a finding all the same.
func (a *auditor) keepCredentialsInURL(rep *Report) {
	c := a.checkCredentialsInURL()
	if c.Status != StatusFail {
		return
	}
	for i := range rep.Checks {
		if rep.Checks[i].ID == IDCredentialsInURL {
			rep.Checks[i] = c
		}
	}
}
