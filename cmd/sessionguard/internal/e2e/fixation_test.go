package e2e

import (
	"crypto/rand"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/app"
)

// TestI3_I2_BrowserFixationLink runs the attack of the analysis with two
// browsers that share nothing but the attacker's link:
//
//  1. the attacker invents a session ID;
//  2. the victim's browser opens BASE/login?session=ID and the victim signs
//     in through the form as the page serves it;
//  3. the attacker's browser presents the ID, both as the app's cookie and
//     in the URL, and opens the dashboard.
//
// On the vulnerable app the attacker is signed in as the victim: the attack
// is real, and the test can see it. On the secure app the ID in the URL is
// ignored (I2), the invented ID is never adopted (I1) and sign-in issues a
// fresh one (I3), so the attacker lands on the sign-in page, which says that
// the ID in the link and the unknown cookie were ignored.
func TestI3_I2_BrowserFixationLink(t *testing.T) {
	cases := []struct {
		name       string
		vulnerable bool
		cookie     string // the app's session cookie
		hijacked   bool
	}{
		{name: "vulnerable", vulnerable: true, cookie: app.VulnerableCookie, hijacked: true},
		{name: "secure", vulnerable: false, cookie: secureCookie, hijacked: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			base := startApp(t, tc.vulnerable, boltStore)
			attacker := newBrowser(ctx, t, "attacker", base)
			victim := newBrowser(ctx, t, "victim", base)

			// Shaped like the secure app's tokens (43 base64url characters),
			// so that only its origin, not its form, gives it away.
			fixed := rand.Text() + rand.Text()[:17]
			link := "/login?session=" + url.QueryEscape(fixed)

			victim.signIn(link, password)
			if got, want := victim.heading(), "Welcome "+userName; got != want {
				victim.fatalf("the victim did not get signed in: heading %q, want %q", got, want)
			}
			vc := victim.cookie(tc.cookie)
			if vc == nil {
				victim.fatalf("the victim's browser holds no %s cookie", tc.cookie)
			}
			if got := vc.Value == fixed; got != tc.hijacked {
				t.Errorf("the victim's session cookie is the attacker's ID: %v, want %v", got, tc.hijacked)
			}

			attacker.plantCookie(tc.cookie, fixed)
			attacker.open("/dashboard?session=" + url.QueryEscape(fixed))
			text := attacker.text()
			hijacked := strings.Contains(text, "Welcome "+userName)
			switch {
			case hijacked && !tc.hijacked:
				attacker.fatalf("HIJACKED: the attacker's fixed ID signs it in as %s on the secure app", userName)
			case !hijacked && tc.hijacked:
				attacker.fatalf("the attack did not work on the vulnerable app, so this test cannot tell a defence from a broken attack")
			case !hijacked:
				if p := attacker.path(); !strings.HasPrefix(p, "/login") {
					attacker.fatalf("want the attacker sent to /login, at %s", p)
				}
				// The page says, calmly, what was refused.
				text := attacker.text()
				if !strings.Contains(text, "A session ID in the link you followed was ignored") ||
					!strings.Contains(text, "Your browser sent a session cookie this site does not know") {
					attacker.fatalf("the sign-in page does not say that the fixed ID was ignored")
				}
				attacker.screenshot("secure-refuses-fixed-id", 440)
			}

			// The secure app's attacker is not signed in by any other route
			// either: not through the cookie alone.
			if !tc.hijacked {
				attacker.mustBeSignedOut()
				victim.mustBeSignedIn()
			}
		})
	}
}
