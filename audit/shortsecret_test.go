package audit

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestShortPasswordReportUnchanged: a short or common password (x, 1,
// Lax, dashboard) neither shows through the report nor corrupts it: the
// report is the one made with a random 32-character password, in every
// format, but for the warning that the password is too short to mask
// everywhere. Where the application really echoes the password (as the
// value of a password parameter), both reports hide it.
func TestShortPasswordReportUnchanged(t *testing.T) {
	t.Parallel()
	random := rand.Text()[:26] + "A1b2C3" // 32 characters
	fixtures := []struct {
		name   string
		app    app
		target Target
	}{
		{"secure", secureApp, Target{Samples: -1}},
		{"vulnerable", vulnerableApp, Target{Samples: -1}},
		{"php, with token samples", phpApp, Target{Samples: 20}},
		{"password echoed in the redirect", app{anonSession: true, renew: true, httpOnly: true, sameSite: 2, logoutMethod: "POST", logoutLink: true},
			Target{Samples: -1, CheckPath: "/dashboard"}},
	}
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			t.Parallel()
			report := func(pw string) map[string]string {
				cfg := fx.app
				cfg.user, cfg.password = testUser, pw
				if fx.name == "password echoed in the redirect" {
					cfg.loginRedirect = "/dashboard?password=" + url.QueryEscape(pw)
				}
				tg := fx.target
				tg.BaseURL, tg.User, tg.Password = newApp(t, cfg).URL, testUser, pw
				r := render(t, tg, "json")
				r.rep.Warnings = slices.DeleteFunc(r.rep.Warnings, func(w string) bool {
					return strings.HasPrefix(w, "Target.Password has fewer than")
				})
				errText := ""
				if r.err != nil {
					errText = r.err.Error()
				}
				out := outputs(t, r.rep, r.progress, nil)
				out["error"] = errText
				for k, v := range out {
					out[k] = normalize(v)
				}
				return out
			}
			want := report(random)
			if fx.name == "password echoed in the redirect" && !strings.Contains(want["text"], "credentials-in-url   FAIL") {
				t.Errorf("the echo is not reported:\n%s", want["text"])
			}
			for _, pw := range []string{"x", "1", "Lax", "dashboard"} {
				got := report(pw)
				for format, w := range want {
					if got[format] != w {
						t.Errorf("password %q: %s report differs from the one with a random password:\n%s\nwant:\n%s", pw, format, got[format], w)
					}
				}
			}
		})
	}
}

// TestShortHeaderValueReportUnchanged: a short -H value, secret or not
// (DNT: 1, X-Api-Key: 1), changes nothing in the report: session tokens
// stay fingerprinted, the target's address stays whole.
func TestShortHeaderValueReportUnchanged(t *testing.T) {
	t.Parallel()
	report := func(h http.Header) map[string]string {
		tg := Target{BaseURL: newApp(t, vulnerableApp).URL, User: testUser, Password: testPassword, Samples: 20, Header: h}
		r := render(t, tg, "json")
		r.rep.Warnings = slices.DeleteFunc(r.rep.Warnings, func(w string) bool { return strings.HasPrefix(w, "Target.Header ") })
		out := outputs(t, r.rep, r.progress, r.err)
		for k, v := range out {
			out[k] = normalize(v)
		}
		return out
	}
	want := report(nil)
	for _, h := range []http.Header{{"Dnt": {"1"}}, {"X-Api-Key": {"1"}}, {"Authorization": {"Bearer 1"}}} {
		got := report(h)
		for format, w := range want {
			if got[format] != w {
				t.Errorf("-H %v: %s report differs from the one without:\n%s\nwant:\n%s", h, format, got[format], w)
			}
		}
	}
}
