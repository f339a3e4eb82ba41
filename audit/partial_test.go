package audit

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// base is a plain application: a session before sign-in, logout by POST.
func base(a app) app {
	a.httpOnly, a.sameSite, a.noStore = true, http.SameSiteLaxMode, true
	if a.loginRedirect == "" && a.interstitial == "" && !a.clientSide {
		a.loginRedirect = "/dashboard"
	}
	if a.logoutMethod == "" {
		a.logoutMethod = http.MethodPost
	}
	a.logoutLink = true
	return a
}

// partialCases are applications modelled on real ones and on published
// fixation bugs, each class vulnerable and fixed: the verdict and exit
// status (as sessionguard audit gives them, --fail-on high) they must get,
// and the checks that decide it.
var partialCases = []struct {
	name    string
	app     app
	target  Target
	wantErr error
	verdict Verdict
	exit    int
	want    map[string]Status
}{
	// §1 partial fixes
	{name: "old ID kept signed in (PHP session_regenerate_id(false))", app: base(app{anonSession: true, renew: true, keepOld: true}),
		verdict: VerdictVulnerable, exit: 1, want: map[string]Status{IDFixation: StatusFail}},
	{name: "old ID deleted (session_regenerate_id(true))", app: base(app{anonSession: true, renew: true}),
		verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass}},
	{name: "old ID forwarded to the new session for 5 minutes (PHP manual's lost-session recipe)", app: base(app{anonSession: true, renew: true, forwardOld: 5 * time.Minute}),
		verdict: VerdictVulnerable, exit: 1, want: map[string]Status{IDFixation: StatusFail}},
	{name: "renewal deferred to the next request: the attacker polling gets the new ID", app: base(app{anonSession: true, deferRenew: true}),
		verdict: VerdictVulnerable, exit: 1, want: map[string]Status{IDFixation: StatusFail}},
	{name: "renewal at the sign-in itself", app: base(app{anonSession: true, renew: true}),
		verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass}},
	{name: "renewal only on a browser's first sign-in (device cookie)", app: base(app{anonSession: true, renew: true, deviceCookie: true}),
		verdict: VerdictVulnerable, exit: 1, want: map[string]Status{IDFixation: StatusFail}},
	{name: "renewal only on a browser's first sign-in, no logout link: the session cookies dropped instead", app: app{anonSession: true, renew: true, deviceCookie: true, httpOnly: true, loginRedirect: "/dashboard"},
		verdict: VerdictVulnerable, exit: 1, want: map[string]Status{IDFixation: StatusFail}},
	{name: "renewal on every sign-in, device cookie or not", app: base(app{anonSession: true, renew: true, deviceCookie: true, deviceRenews: true}),
		verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass}},
	{name: "guest cart_token becomes the signed-in sid", app: base(app{guestCookie: "cart_token", guestToSession: true, renew: true}),
		verdict: VerdictVulnerable, exit: 1, want: map[string]Status{IDFixation: StatusFail}},
	{name: "guest cart_token kept apart from a new sid", app: base(app{guestCookie: "cart_token", renew: true}),
		verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass}},
	{name: "ColdFusion CFID+CFTOKEN, in URLs and cookies, kept at sign-in", app: base(app{cookie: "CFID", partCookie: "CFTOKEN", urlParam: "CFID", anonSession: true, token: tokenCounter()}),
		verdict: VerdictVulnerable, exit: 1, want: map[string]Status{IDFixation: StatusFail, IDFixationURL: StatusFail}},
	{name: "ColdFusion CFID+CFTOKEN renewed at sign-in: a counter beside a random part is not a biased session", app: base(app{cookie: "CFID", partCookie: "CFTOKEN", urlParam: "CFID", anonSession: true, renew: true, token: tokenCounter()}),
		target:  Target{Samples: 40},
		verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass, IDFixationURL: StatusPass, IDTokenRandomness: StatusPass}},
	{name: "URL-only session (PHP trans_sid): the victim's next page carries no ID, the attacker's replay is signed in", app: base(app{urlParam: "session", adopt: true, anonSession: true, renew: true, keepURLID: true, dropURLAtSignIn: true}),
		verdict: VerdictVulnerable, exit: 1, want: map[string]Status{IDFixation: StatusPass, IDFixationURL: StatusFail}},
	{name: "URL session renewed at sign-in", app: base(app{urlParam: "session", adopt: true, anonSession: true, renew: true, dropURLAtSignIn: true}),
		verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass, IDFixationURL: StatusPass}},

	// §2 signed and stateless cookies
	{name: "Flask + Flask-Login: itsdangerous cookie, the same signed value at two sign-ins in one second", app: base(app{cookie: "session", clientSide: true, flaskSecond: true, logoutMethod: http.MethodGet}),
		target:  Target{CheckPath: "/dashboard", Samples: -1},
		verdict: VerdictNoFixationFound, exit: 1, want: map[string]Status{IDFixation: StatusPass, IDForgeableCookie: StatusPass, IDLogoutInvalidation: StatusFail}},
	{name: "plain user=alice companion beside a renewed sid: forgeable, not fixation", app: base(app{anonSession: true, renew: true, companion: "user"}),
		verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass, IDForgeableCookie: StatusFail}},
	{name: "signed user companion beside a renewed sid", app: base(app{anonSession: true, renew: true, companion: "user", companionSigned: true}),
		verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass, IDForgeableCookie: StatusPass}},
	{name: "signed JWT session cookie: no biased generator", app: base(app{cookie: "token", clientSide: true, jwt: true, anonSession: true, logoutMethod: http.MethodGet}),
		target:  Target{CheckPath: "/dashboard", Samples: 30},
		verdict: VerdictNoFixationFound, exit: 1, want: map[string]Status{IDFixation: StatusPass, IDTokenRandomness: StatusSkip}},

	// §3 a sign-in not finished is never a pass
	{name: "one-time code page (autocomplete=one-time-code) naming the user", app: base(app{anonSession: true, renew: true, interstitial: "otp"}),
		target: Target{CheckPath: "/dashboard"}, wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "one-time code in words only (authenticator app), landing page as check", app: base(app{anonSession: true, renew: true, interstitial: "otp-words"}),
		wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "approve on your phone", app: base(app{anonSession: true, renew: true, interstitial: "approve"}),
		target: Target{CheckPath: "/dashboard"}, wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "trust this device interstitial", app: base(app{anonSession: true, renew: true, interstitial: "trust-device"}),
		target: Target{CheckPath: "/dashboard"}, wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "forced password change", app: base(app{anonSession: true, renew: true, interstitial: "password-change"}),
		target: Target{CheckPath: "/dashboard"}, wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "lock screen naming the user", app: base(app{anonSession: true, renew: true, interstitial: "lock-screen"}),
		target: Target{CheckPath: "/dashboard"}, wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	// Beyond those: a code in one-digit boxes (on a German page), a
	// security key, an ADFS-style password change showing the user name,
	// a magic link by e-mail.
	{name: "one-time code in one-digit boxes", app: base(app{anonSession: true, renew: true, interstitial: "otp-boxes"}),
		target: Target{CheckPath: "/dashboard"}, wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "security key (WebAuthn)", app: base(app{anonSession: true, renew: true, interstitial: "webauthn"}),
		target: Target{CheckPath: "/dashboard"}, wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "forced password change showing the user name", app: base(app{anonSession: true, renew: true, interstitial: "password-change-adfs"}),
		wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "sign-in link sent by e-mail", app: base(app{anonSession: true, renew: true, interstitial: "magic-link"}),
		target: Target{CheckPath: "/dashboard"}, wantErr: ErrSignInUnfinished, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "account locked by the audit's own wrong-password probe", app: base(app{anonSession: true, renew: true, lockAfterFailures: 1}),
		wantErr: ErrAccountLocked, verdict: VerdictCouldNotAudit, exit: 2},
	{name: "the same account audited without the wrong-password probe", app: base(app{anonSession: true, renew: true, lockAfterFailures: 1}),
		target: Target{NoWrongPasswordProbe: true}, verdict: VerdictNoFixationFound, exit: 0, want: map[string]Status{IDFixation: StatusPass}},
	{name: "403 for everything after a logout, the control included", app: base(app{anonSession: true, renew: true, forbidAllAfterLogout: true}),
		verdict: VerdictCouldNotAudit, exit: 2, want: map[string]Status{IDFixation: StatusError}},
}

func TestPartialFixes(t *testing.T) {
	t.Parallel()
	for _, tc := range partialCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newApp(t, tc.app)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			tg := tc.target
			if tg.Samples == 0 {
				tg.Samples = -1
			}
			rep, err := Run(ctx, auditTarget(srv.URL, tg))
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Run: %v, want %v", err, tc.wantErr)
			}
			if rep.Verdict != tc.verdict || rep.ExitCode(SeverityHigh) != tc.exit {
				t.Errorf("verdict %s, exit %d; want %s, %d (%s)", rep.Verdict, rep.ExitCode(SeverityHigh), tc.verdict, tc.exit, rep.Error)
			}
			for id, want := range tc.want {
				if c, _ := rep.Check(id); c.Status != want {
					t.Errorf("%s: %s, want %s", id, c.Status, want)
				}
			}
			checkSignIns(t, rep, srv, DefaultMaxSignIns)
			for _, c := range rep.Checks {
				if rep.Verdict == VerdictCouldNotAudit && tc.wantErr != nil && c.Status == StatusPass {
					t.Errorf("%s passed in an audit that could not sign in", c.ID)
				}
			}
			if t.Failed() || *showReports {
				for _, id := range []string{IDFixation, IDFixationURL, IDTokenRandomness, IDForgeableCookie} {
					c, _ := rep.Check(id)
					t.Logf("%s %s:\n  %s", id, c.Status, joinLines(c.Evidence))
				}
			}
		})
	}
}

func joinLines(l []string) string {
	out := ""
	for i, s := range l {
		if i > 0 {
			out += "\n  "
		}
		out += s
	}
	return out
}
