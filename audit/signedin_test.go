package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSignedInByContrast: "signed in" is established against the check
// page without cookies and after a deliberately wrong password, so a
// failure page that shows the user name is never taken for a sign-in.
func TestSignedInByContrast(t *testing.T) {
	t.Parallel()
	failPage := app{anonSession: true, renew: true, failShowsUser: true, loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true}
	tests := []struct {
		name    string
		app     app
		target  Target
		wantErr error
		errText string
		verdict Verdict
	}{
		{name: "wrong password, failure page shows the user name", app: failPage,
			target: Target{Password: "not-the-password"}, wantErr: ErrSignIn, errText: "deliberately wrong password"},
		{name: "right password, the user name alone is no signal", app: failPage,
			wantErr: ErrSignIn, errText: "Target.Expect"},
		{name: "right password, --expect tells them apart", app: failPage,
			target: Target{Expect: "Welcome alice"}, verdict: VerdictNoFixationFound},
		{name: "Servlet FORM authentication: the form is served at the protected URL", app: app{formAuth: true, anonSession: true, renew: true,
			userField: "j_username", passField: "j_password", formAction: "j_security_check", loginRedirect: "/dashboard", httpOnly: true},
			target: Target{LoginPath: "/dashboard", CheckPath: "/dashboard"}, verdict: VerdictNoFixationFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, tc.app)
			tg := auditTarget(srv.URL, tc.target)
			tg.Samples = -1
			if tc.target.Password != "" {
				tg.Password = tc.target.Password
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := Run(ctx, tg)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("Run: %v (verdict %s), want %v saying %q", err, rep.Verdict, tc.wantErr, tc.errText)
				}
				if rep.Verdict != VerdictCouldNotAudit {
					t.Errorf("verdict %s", rep.Verdict)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", rep.Verdict, tc.verdict)
			}
			if !strings.Contains(rep.SignedInSignal, "after a wrong password") || !strings.Contains(rep.SignedInSignal, "without cookies") {
				t.Errorf("signal %q", rep.SignedInSignal)
			}
		})
	}
}
