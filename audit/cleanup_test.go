package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// live counts the signed-in sessions the fixture still holds.
func (s *appServer) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sess := range s.sessions {
		if sess.user != "" {
			n++
		}
	}
	return n
}

// TestLeavesNothingBehind: every session the audit signs in is signed out
// again, sampling sign-ins included; when there is no way to log out the
// report says how many stay open and why.
func TestLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		app      app
		target   Target
		leftOpen bool
	}{
		{name: "secure app, logout form found on the dashboard", app: secureApp},
		{name: "vulnerable app", app: vulnerableApp},
		{name: "tokens only from sign-ins (25 samples)", app: app{renew: true, httpOnly: true, loginRedirect: "/dashboard", logoutMethod: "POST", logoutLink: true},
			target: Target{Samples: 25, MaxSignIns: 60}},
		{name: "logout only through --logout", app: app{anonSession: true, renew: true, loginRedirect: "/dashboard", logoutMethod: "GET"},
			target: Target{LogoutPath: "/logout"}},
		{name: "no way to log out", app: app{anonSession: true, renew: true, loginRedirect: "/dashboard"}, leftOpen: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, tc.app)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tg := auditTarget(srv.URL, tc.target)
			if tc.target.Samples == 0 {
				tg.Samples = -1
			}
			rep, err := Run(ctx, tg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			live := srv.live()
			if rep.SessionsCreated == 0 || rep.SessionsLeftOpen != live {
				t.Errorf("report: %d created, %d left open; the server holds %d signed-in sessions", rep.SessionsCreated, rep.SessionsLeftOpen, live)
			}
			if !tc.leftOpen && live != 0 {
				t.Errorf("%d signed-in sessions left on the server", live)
			}
			if tc.leftOpen {
				if live == 0 || len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "Target.LogoutPath") {
					t.Errorf("left open %d, warnings %q", live, rep.Warnings)
				}
			}
			if tc.target.Samples > 0 && rep.SessionsCreated < tc.target.Samples {
				t.Errorf("%d sessions created, want at least the %d sampling sign-ins", rep.SessionsCreated, tc.target.Samples)
			}
		})
	}
}

// TestInterruptKeepsFinishedChecks: when the context ends the report keeps
// every finished check, marks the others "not finished", and the audit's
// sessions are still signed out.
func TestInterruptKeepsFinishedChecks(t *testing.T) {
	t.Parallel()
	// The idle wait never ends before the interrupt.
	srv := newApp(t, vulnerableApp)
	ctx, cancel := context.WithCancel(context.Background())
	tg := auditTarget(srv.URL, Target{Samples: -1, IdleWait: time.Hour})
	go func() {
		// The idle-timeout check signs in and waits: once the requests
		// stop for half a second (or after 20 s whatever happens),
		// interrupt.
		deadline := time.Now().Add(20 * time.Second)
		last, still := -1, 0
		for still < 5 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			srv.mu.Lock()
			n := srv.requests
			srv.mu.Unlock()
			if n == last && n > 0 {
				still++
			} else {
				last, still = n, 0
			}
		}
		cancel()
	}()
	rep, err := Run(ctx, tg)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("Run error %v, want interrupted", err)
	}
	fix, _ := rep.Check(IDFixation)
	idle, _ := rep.Check(IDIdleTimeout)
	if fix.Status != StatusFail || idle.Status != StatusError || !strings.HasPrefix(idle.Evidence[0], "not finished") {
		t.Errorf("fixation %s, idle-timeout %s %q", fix.Status, idle.Status, idle.Evidence)
	}
	if rep.Verdict != VerdictVulnerable || rep.ExitCode(SeverityHigh) != 1 || rep.ExitCode(SeverityNone) != 2 {
		t.Errorf("verdict %s, exit %d (fail-on high), %d (none)", rep.Verdict, rep.ExitCode(SeverityHigh), rep.ExitCode(SeverityNone))
	}
	if n := srv.live(); n != 0 {
		t.Errorf("%d sessions left signed in after the interrupt; report %d/%d %q", n, rep.SessionsCreated, rep.SessionsLeftOpen, rep.Warnings)
	}
}

// TestMaxTime: the audit stops at MaxTime with the finished checks in the
// report and the rest "not finished".
func TestMaxTime(t *testing.T) {
	t.Parallel()
	cfg := vulnerableApp
	cfg.delay = 5 * time.Millisecond
	srv := newApp(t, cfg)
	start := time.Now()
	rep, err := Run(context.Background(), auditTarget(srv.URL, Target{Samples: 100000, MaxTime: 3 * time.Second}))
	took := time.Since(start)
	if !errors.Is(err, ErrNotFinished) || !strings.Contains(err.Error(), "Target.MaxTime 3s") {
		t.Fatalf("Run error %v, want ErrNotFinished naming Target.MaxTime", err)
	}
	if took > 3*time.Second+cleanupTime {
		t.Errorf("took %v with --max-time 3s", took)
	}
	fix, _ := rep.Check(IDFixation)
	tr, _ := rep.Check(IDTokenRandomness)
	if fix.Status != StatusFail || tr.Status != StatusError || !strings.HasPrefix(tr.Evidence[0], "not finished") {
		t.Errorf("fixation %s; token-randomness %s %q", fix.Status, tr.Status, tr.Evidence)
	}
	if rep.ExitCode(SeverityHigh) != 1 || rep.ExitCode(SeverityNone) != 2 {
		t.Errorf("exit %d / %d", rep.ExitCode(SeverityHigh), rep.ExitCode(SeverityNone))
	}
}
