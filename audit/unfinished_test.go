package audit

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUnfinishedStep: the pages between the password and the
// application are told from a signed-in page, and a signed-in page that
// merely mentions such words, or a login form shown again, is not taken
// for one.
func TestUnfinishedStep(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"Django two-factor token field", `<p>Hi alice</p><form method=post><input name="otp_token" inputmode="numeric" maxlength="6"></form>`, "one-time code"},
		{"autocomplete one-time-code", `<input autocomplete="one-time-code" id="c">`, "one-time-code"},
		{"Devise OTP in words", `<h1>Two-factor authentication</h1><p>Enter the code from your authenticator app</p><input name="user[otp_attempt]">`, "one-time code"},
		{"Laravel Fortify recovery code", `<p>Please confirm access to your account by entering one of your emergency recovery codes.</p><input name="recovery_code" type="text">`, "one-time code"},
		{"Okta push", `<p>Push sent! Check your phone and approve the sign-in request</p>`, "approved on another device"},
		{"Microsoft stay signed in", `<form method=post><h2>Stay signed in?</h2><button>Yes</button><button>No</button></form>`, "interstitial"},
		{"OAuth consent", `<form method=post><p>Example App wants to access your account</p><button>Allow</button></form>`, "interstitial"},
		{"password expired", `<p>Your password has expired</p><form><input type=password name=new autocomplete=new-password></form>`, "new password"},
		{"lock screen naming the user", `<h1>Welcome back, alice</h1><form><input type=password name=pw></form>`, "password again"},
		{"login form shown again after a wrong password", `<form method=post><input name=username value=alice><input type=password name=password></form>`, ""},
		{"dashboard mentioning two-factor, with a search box", `<input type=text name=q placeholder=Search><h1>Welcome alice</h1><p>Two-factor authentication: on</p>`, ""},
		{"dashboard with a trust-device setting but no form", `<h1>Welcome alice</h1><p>Remember this device: manage your devices</p>`, ""},
		{"plain dashboard", `<h1>Welcome alice</h1><a href=/logout>Log out</a>`, ""},
		{"dashboard with a hidden re-authentication modal", `<h1>Welcome alice</h1><div class="modal" style="display: none"><input type=password name=confirm></div><dialog><input type=password></dialog>`, ""},
		{"dashboard with an open re-authentication dialog", `<h1>Welcome alice</h1><dialog open><p>Session locked</p><input type=password name=pw></dialog>`, "password again"},
		// Beyond the named cases: other frameworks' steps.
		{"code in one-digit boxes", `<p>Hallo alice</p><form>` + strings.Repeat(`<input type=text maxlength=1 name=d>`, 6) + `</form>`, "6 one-character inputs"},
		{"ADFS password change with the user name", `<form><input type=email name=UserName value="alice@example.com"><input type=password name=OldPassword><input type=password name=NewPassword><input type=password name=ConfirmNewPassword></form>`, "new password"},
		{"WebAuthn", `<h1>Verify it's you</h1><p>Use your security key to continue signing in as alice.</p><button>Try again</button>`, "security key"},
		{"passkey", `<h1>Welcome back, alice</h1><p>Sign in with your passkey</p>`, "passkey"},
		{"magic link", `<p>Thanks alice. We've sent you a sign-in link: check your email.</p>`, "by e-mail"},
		{"e-mail confirmation", `<p>Please check your inbox to confirm it is you, alice.</p>`, "by e-mail"},
		{"dashboard offering passkeys", `<h1>Welcome alice</h1><p>Passkeys: add a passkey to sign in faster.</p><a href=/settings>Security keys</a>`, ""},
	}
	u, _ := url.Parse("http://app.test/step")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &page{url: u, status: http.StatusOK, header: http.Header{"Content-Type": {"text/html"}}, body: []byte("<!doctype html>" + tc.body)}
			got := unfinishedStep(p)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("unfinishedStep = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestUnfinishedJSONStep: a JSON sign-in that answers 2xx but asks for a
// second factor, as Okta, Cognito and common APIs answer, is unfinished;
// a user's profile that says two-factor is on is not.
func TestUnfinishedJSONStep(t *testing.T) {
	u, _ := url.Parse("http://app.test/api/login")
	for body, want := range map[string]bool{
		`{"status":"MFA_REQUIRED","stateToken":"00abc"}`:                  true,
		`{"mfa_required": true, "user": "alice"}`:                         true,
		`{"ChallengeName":"SOFTWARE_TOKEN_MFA","Session":"AYAB"}`:         true,
		`{"requires_two_factor":true}`:                                    true,
		`{"user":"alice","mfa_enabled":true,"two_factor_required":false}`: false,
		`{"user":"alice","token":"eyJ"}`:                                  false,
	} {
		p := &page{url: u, status: http.StatusOK, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: []byte(body)}
		if got := unfinishedStep(p); (got != "") != want {
			t.Errorf("%s: unfinishedStep = %q, want a step: %v", body, got, want)
		}
	}
}

// TestForgeable: only a value anyone can write is attacker-known without
// being seen: not a signed value that happens to repeat.
func TestForgeable(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
	}{
		{"user name in the clear", "alice-the-admin", true},
		{"base64 of the user name", "YWxpY2U6YWRtaW4=", true},
		{"a short flag", "1", true},
		{"Flask signed value", "eyJ1IjoiYWxpY2UifQ.ZXhVXg.4jWk2wXkHkzQ3sVw3mJp1rV0cBPAq6xQ5oXY2k0mW5c", false},
		{"user name with an HMAC", "alice.2pL0bJZxKJ9gAqC7kz1xR2uV9w8mY4sN", false},
		{"a per-account random token", "q3J9dK2mX8vR7tY1wZ5nB4cF6gH0jL2pQ", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := forgeable(tc.value, "alice") != ""; got != tc.want {
				t.Errorf("forgeable(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}
