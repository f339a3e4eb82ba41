package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSignInBudget: every request carrying the credentials counts, as the
// server sees them; the fixation checks get the budget first, and an
// audit whose budget cannot cover them is not done; no check passes for
// want of sign-ins.
func TestSignInBudget(t *testing.T) {
	t.Parallel()
	signInOnly := app{renew: true, httpOnly: true, loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true}
	anon := app{anonSession: true, renew: true, httpOnly: true, loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true}
	tests := []struct {
		name    string
		app     app
		target  Target
		budget  int
		wantErr error
		verdict Verdict
		want    map[string]Status
	}{
		{name: "default budget, IDs only at sign-in: token-randomness skipped, not 200 sign-ins", app: signInOnly,
			target: Target{Samples: DefaultSamples}, budget: DefaultMaxSignIns, verdict: VerdictNoFixationFound,
			want: map[string]Status{IDFixation: StatusPass, IDFixationURL: StatusPass, IDTokenRandomness: StatusSkip, IDLogoutInvalidation: StatusPass}},
		{name: "default budget, IDs before sign-in: tokens from anonymous visits", app: anon,
			target: Target{Samples: 40}, budget: DefaultMaxSignIns, verdict: VerdictNoFixationFound,
			want: map[string]Status{IDFixation: StatusPass, IDTokenRandomness: StatusPass}},
		{name: "a budget that cannot cover the fixation checks: not done, no sign-in made", app: anon,
			target: Target{MaxSignIns: 5, Samples: -1}, budget: 0, wantErr: ErrSignInBudget, verdict: VerdictCouldNotAudit},
		{name: "the smallest budget: the fixation checks first, then what is left, then the rest skipped", app: anon,
			target: Target{MaxSignIns: 14, Samples: -1, IdleWait: time.Millisecond, AbsoluteWait: time.Millisecond}, budget: 14, verdict: VerdictNoFixationFound,
			want: map[string]Status{IDFixation: StatusPass, IDFixationURL: StatusPass, IDIdleTimeout: StatusSkip, IDAbsoluteTimeout: StatusSkip}},
		{name: "sign-in sampling within a larger budget", app: signInOnly,
			target: Target{Samples: 30, MaxSignIns: 60}, budget: 60, verdict: VerdictNoFixationFound,
			want: map[string]Status{IDTokenRandomness: StatusPass}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, tc.app)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rep, err := Run(ctx, auditTarget(srv.URL, tc.target))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Run: %v, want %v", err, tc.wantErr)
			}
			if rep.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s (%s)", rep.Verdict, tc.verdict, rep.Error)
			}
			checkSignIns(t, rep, srv, tc.budget)
			for id, want := range tc.want {
				c, _ := rep.Check(id)
				if c.Status != want {
					t.Errorf("%s: %s, want %s: %q", id, c.Status, want, c.Evidence)
				}
				if want == StatusSkip && tc.target.MaxSignIns > 0 && !strings.Contains(c.Evidence[0], "Target.MaxSignIns") {
					t.Errorf("%s skipped without naming the budget: %q", id, c.Evidence)
				}
			}
			t.Logf("%d sign-ins", rep.SignIns)
		})
	}
}
