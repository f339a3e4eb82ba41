package audit

import (
	"fmt"
	"strings"
)

// SchemaVersion is the version of the JSON report schema written by
// [WriteJSON]. It changes only when a field is removed or changes meaning;
// new fields may be added without a change.
const SchemaVersion = 1

// Status is the outcome of one check.
type Status string

// The four outcomes of a check. Only [StatusFail] is a finding. A check that
// could not be performed is [StatusSkip] (not applicable or not asked for) or
// [StatusError] (it was attempted and could not be completed), always with the
// reason in its evidence; it is never [StatusPass].
const (
	StatusPass  Status = "pass"
	StatusFail  Status = "fail"
	StatusSkip  Status = "skip"
	StatusError Status = "error"
)

// Severity rates a finding. The zero value is [SeverityNone].
type Severity int

// Severities, lowest first. [SeverityNone] is only meaningful as a
// threshold: a report fails no threshold of SeverityNone.
const (
	SeverityNone Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"none", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity parses one of critical, high, medium, low, none.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want critical, high, medium, low or none)", s)
}

// MarshalText implements [encoding.TextMarshaler]: a severity is written
// as its name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler].
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Reference is a document a check cites: an OWASP WSTG test, an ASVS
// requirement, a CWE entry.
type Reference struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// Check is the result of one check.
type Check struct {
	// ID is one of the stable check IDs listed in the package documentation.
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Severity is the severity of the finding when Status is Fail, and the
	// severity a failure of this check would have had otherwise.
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Evidence says what was sent and seen, one line per step. Token
	// values are masked. For Skip and Error the first line is the reason.
	Evidence    []string    `json:"evidence"`
	Remediation string      `json:"remediation"`
	References  []Reference `json:"references"`
	// Fixes is the remedy of a failed check in the terms of the
	// application's framework, or generic advice for the fixation checks
	// when the framework was not recognised; omitted otherwise.
	Fixes []Fix `json:"fixes,omitempty"`
	// Flow is a proven hijack as it happened, request by request, for a
	// sequence diagram; only for a failed fixation or fixation-url check.
	Flow []Step `json:"flow,omitempty"`
}

// Step is one message of an attack as it happened: From and To are
// "attacker", "victim" or "application".
type Step struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Message string `json:"message"`
}

// Verdict summarises a report in one word.
type Verdict string

// Verdicts. [VerdictVulnerable] wins over everything else: a fixation that was
// shown is reported even if another check could not be performed.
const (
	VerdictVulnerable      Verdict = "vulnerable"
	VerdictNoFixationFound Verdict = "no-fixation-found"
	VerdictCouldNotAudit   Verdict = "could-not-audit"
)

// Report is the outcome of an audit. The same report feeds every output
// format.
type Report struct {
	// Version is [SchemaVersion].
	Version int `json:"version"`
	// Target is the audited base URL.
	Target  string  `json:"target"`
	Verdict Verdict `json:"verdict"`
	// Summary is the verdict as a sentence: "VULNERABLE to session
	// fixation", "no fixation found" or "could not audit: …".
	Summary string `json:"summary"`
	// Error says why the audit, or its fixation checks, could not be done;
	// empty otherwise.
	Error string `json:"error,omitempty"`
	// SessionCookie is the name of the session cookie, detected or given.
	SessionCookie string `json:"sessionCookie,omitempty"`
	// SessionCookies are all the cookies that carry the session: each one's
	// removal signs the user out. The first is SessionCookie.
	SessionCookies []string `json:"sessionCookies,omitempty"`
	// CheckURL is the page used to decide whether a client is signed in.
	CheckURL string `json:"checkURL,omitempty"`
	// SignedInSignal says how the audit tells a signed-in client from
	// another: the check page signed in, without cookies, and after a
	// deliberately wrong password.
	SignedInSignal string `json:"signedInSignal,omitempty"`
	// SignIn is how the audit signed in when not with the login form:
	// "json" (LoginJSONPath) or "driver" (Target.SignIn, such as a
	// browser). fixation-url, which needs the form, is then skipped and
	// the verdict rests on fixation alone.
	SignIn string `json:"signIn,omitempty"`
	// Warnings are things the audit was allowed to do that lower the
	// safety of the engagement or the trust in its results (a password sent
	// in a URL, certificates not verified); omitted when there are none.
	Warnings []string `json:"warnings,omitempty"`
	// SessionsCreated is how many sessions of the test account the audit
	// signed in; SessionsLeftOpen how many of them it could not sign out
	// again (a warning then says why).
	SessionsCreated  int `json:"sessionsCreated"`
	SessionsLeftOpen int `json:"sessionsLeftOpen"`
	// Framework is the framework the application appears to use, from
	// what it shows (cookie names, headers, error pages); omitted when
	// nothing points to one.
	Framework *Framework `json:"framework,omitempty"`
	// SignIns is the number of sign-ins the audit made: requests that
	// carried the credentials, the wrong-password probe included (at most
	// Target.MaxSignIns).
	SignIns int `json:"signIns"`
	// Requests is the number of HTTP requests the audit sent.
	Requests int     `json:"requests"`
	Checks   []Check `json:"checks"`

	rename func(Hint) string // set by RenameHints
}

// Check returns the check with the given ID.
func (r *Report) Check(id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// Findings returns the failed checks whose severity is at least min.
// With min [SeverityNone] it returns every failed check.
func (r *Report) Findings(min Severity) []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == StatusFail && c.Severity >= min {
			out = append(out, c)
		}
	}
	return out
}

// FixationFound reports whether the fixation or fixation-url check failed:
// an attacker who held a session ID before the victim signed in was
// signed in as the victim afterwards.
func (r *Report) FixationFound() bool {
	for _, c := range r.Checks {
		if (c.ID == IDFixation || c.ID == IDFixationURL) && c.Status == StatusFail {
			return true
		}
	}
	return false
}

// ExitCode is the exit status of sessionguard audit for this report: 1 if
// a check failed at or above failOn (never with [SeverityNone]), otherwise
// 2 if the audit or one of its checks could not be done, otherwise 0.
func (r *Report) ExitCode(failOn Severity) int {
	if failOn != SeverityNone && len(r.Findings(failOn)) > 0 {
		return 1
	}
	if r.Verdict == VerdictCouldNotAudit {
		return 2
	}
	for _, c := range r.Checks {
		if c.Status == StatusError {
			return 2
		}
	}
	return 0
}

// finish fills in the verdict and summary from the checks and the
// audit-level error.
func (r *Report) finish(auditErr error) {
	r.Version = SchemaVersion
	switch {
	case auditErr != nil:
		r.Verdict = VerdictCouldNotAudit
		r.Error = auditErr.Error()
	case r.FixationFound():
		r.Verdict = VerdictVulnerable
	default:
		r.Verdict = VerdictNoFixationFound
		for _, id := range []string{IDFixation, IDFixationURL} {
			c, ok := r.Check(id)
			if ok && id == IDFixationURL && r.SignIn != "" && c.Status == StatusSkip {
				continue // does not apply without a login form
			}
			if !ok || c.Status != StatusPass {
				r.Verdict = VerdictCouldNotAudit
				reason := "not performed"
				if ok && len(c.Evidence) > 0 {
					reason = c.Evidence[0]
				}
				r.Error = id + ": " + reason
				break
			}
		}
	}
	switch r.Verdict {
	case VerdictVulnerable:
		r.Summary = "VULNERABLE to session fixation"
	case VerdictNoFixationFound:
		r.Summary = "no fixation found"
	default:
		r.Summary = "could not audit: " + r.Error
	}
}
