package audit

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRefusedAttemptsAreNotPasses: an attempt answered 429 (or 5xx) shows
// nothing, so a check whose attempts were refused is an error, never a
// pass; Retry-After is honoured and the attempt retried when the time
// budget allows; a 403 given only to the attacker's planted ID is the
// application defending itself, a completed attempt.
func TestRefusedAttemptsAreNotPasses(t *testing.T) {
	t.Parallel()
	// Fixable only through ?PHPSESSID= (the ID in the URL is kept across
	// sign-in); a session cookie named sid is renewed otherwise.
	phpURL := app{anonSession: true, renew: true, keepURLID: true, urlParam: "PHPSESSID", httpOnly: true, loginRedirect: "/dashboard"}
	tests := []struct {
		name    string
		app     app
		check   string
		want    Status
		verdict Verdict
		minTime time.Duration
	}{
		{name: "5 sign-ins a minute, Retry-After beyond the budget", check: IDFixationURL, want: StatusError, verdict: VerdictCouldNotAudit,
			app: with429(phpURL, 5, time.Minute, "60")},
		{name: "3 sign-ins a second, Retry-After: 1 honoured", check: IDFixationURL, want: StatusFail, verdict: VerdictVulnerable,
			app: with429(phpURL, 3, time.Second, "1"), minTime: time.Second},
		{name: "403 to the planted ID only", check: IDFixation, want: StatusPass, verdict: VerdictNoFixationFound,
			app: app{anonSession: true, renew: true, forbidUnknown: true, httpOnly: true, loginRedirect: "/dashboard"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, tc.app)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			rep, err := Run(ctx, auditTarget(srv.URL, Target{Samples: -1}))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			c, _ := rep.Check(tc.check)
			if c.Status != tc.want || rep.Verdict != tc.verdict {
				t.Errorf("%s %s, verdict %s; want %s, %s; evidence:\n%s", tc.check, c.Status, rep.Verdict, tc.want, tc.verdict, strings.Join(c.Evidence, "\n"))
			}
			if tc.want == StatusError && !strings.Contains(c.Evidence[0], "→ 429 (Too Many Requests)") {
				t.Errorf("the reason does not name the 429: %q", c.Evidence[0])
			}
			if d := time.Since(start); d < tc.minTime {
				t.Errorf("took %v: Retry-After was not honoured", d)
			}
		})
	}
}

func with429(a app, limit int, window time.Duration, retryAfter string) app {
	a.signInLimit, a.signInWindow, a.retryAfter = limit, window, retryAfter
	return a
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"3": 3 * time.Second,
		now.Add(time.Minute).Format(http.TimeFormat): time.Minute,
		"":     -1,
		"soon": -1,
		"-5":   -1,
	} {
		got, ok := retryAfter(v, now)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
