package audit

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMultiCookieSessions: the session is every cookie whose removal signs
// the user out, however many cookies the site sets; a session cookie with
// the same value at every sign-in is known to the attacker.
func TestMultiCookieSessions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		app     app
		target  Target
		cookies []string
		verdict Verdict
	}{
		{name: "a fixed sid plus a user=alice companion", app: app{anonSession: true, companion: "user", httpOnly: true, loginRedirect: "/dashboard",
			logoutMethod: "POST", logoutLink: true},
			cookies: []string{"sid", "user"}, verdict: VerdictVulnerable},
		{name: "15 other cookies set at sign-in before the session cookie", app: app{anonSession: true, renew: true, extraCookies: 15, httpOnly: true, loginRedirect: "/dashboard"},
			cookies: []string{"sid"}, verdict: VerdictNoFixationFound},
		{name: "--cookie given twice", app: app{anonSession: true, companion: "user", httpOnly: true, loginRedirect: "/dashboard"},
			target: Target{Cookies: []string{"user", "sid"}}, cookies: []string{"sid", "user"}, verdict: VerdictVulnerable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, tc.app)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			tg := auditTarget(srv.URL, tc.target)
			tg.Samples = -1
			rep, err := Run(ctx, tg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if !slices.Equal(rep.SessionCookies, tc.cookies) || rep.SessionCookie != tc.cookies[0] {
				t.Errorf("session cookies %q (first %q), want %q", rep.SessionCookies, rep.SessionCookie, tc.cookies)
			}
			if rep.Verdict != tc.verdict {
				c, _ := rep.Check(IDFixation)
				t.Errorf("verdict %s, want %s; fixation evidence:\n%s", rep.Verdict, tc.verdict, strings.Join(c.Evidence, "\n"))
			}
			var b strings.Builder
			if err := WriteJSON(&b, rep); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), `"sessionCookies": [`) || !strings.Contains(b.String(), `"version": 1`) {
				t.Errorf("JSON lacks sessionCookies or version 1:\n%s", b.String()[:300])
			}
		})
	}
}
