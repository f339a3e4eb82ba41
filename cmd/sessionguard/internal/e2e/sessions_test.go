package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// sessionRow is one row of the /sessions table, as the page shows it.
type sessionRow struct {
	Device    string `json:"device"`
	Title     string `json:"title"` // the full User-Agent, shown on hover
	Current   bool   `json:"current"`
	CanRevoke bool   `json:"canRevoke"`
}

// sessionRows reads the /sessions table of the page shown.
func (b *browser) sessionRows() []sessionRow {
	b.t.Helper()
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]sessionRow](`
		[...document.querySelectorAll("main table tr")].filter(tr => tr.querySelector("td")).map(tr => ({
			device: tr.cells[0].innerText.trim(),
			title: tr.cells[0].querySelector(".device")?.title ?? "",
			current: !!tr.querySelector(".tag") && tr.cells[0].innerText.includes("this device"),
			canRevoke: !!tr.querySelector('form[action="/sessions/revoke"]'),
		}))`))
	if err != nil {
		b.fatalf("reading the sessions table: %v", err)
	}
	return rows
}

// TestBrowserSessionsRevokeAndPasswordChange signs two browsers in as the
// same user, and checks the per-user session index end to end: /sessions
// lists both by device name, revoking the other one from the page signs that
// browser out and its sign-in page says why, and changing the password signs
// out every other session (ASVS 3.3.3), saying so on their sign-in page.
func TestBrowserSessionsRevokeAndPasswordChange(t *testing.T) {
	ctx := testContext(t)
	base := startApp(t, false, memoryStore)
	laptop := newBrowser(ctx, t, "laptop", base)
	phone := newBrowser(ctx, t, "phone", base)

	laptop.signIn("/login", password)
	laptop.mustBeSignedIn()
	laptop.screenshot("dashboard", 480)

	laptop.open("/sessions")
	if strings.Contains(laptop.text(), "Sign out all other sessions") {
		laptop.fatalf("offers to sign out other sessions, with none")
	}
	phone.signIn("/login", password)
	phone.mustBeSignedIn()

	laptop.open("/sessions")
	rows := laptop.sessionRows()
	if len(rows) != 2 {
		laptop.fatalf("want 2 sessions listed, got %d: %+v", len(rows), rows)
	}
	var current, other int
	for _, r := range rows {
		switch {
		case r.Current && !r.CanRevoke && strings.HasPrefix(r.Device, "Chrome on Linux") && r.Title == userAgent("laptop"):
			current++
		case !r.Current && r.CanRevoke && strings.HasPrefix(r.Device, "Chrome on Android") && r.Title == userAgent("phone"):
			other++
		}
	}
	if current != 1 || other != 1 {
		laptop.fatalf("want the laptop's session (Chrome on Linux) marked \"this device\" and the phone's (Chrome on Android) with a sign-out button, each with its User-Agent on hover, got %+v", rows)
	}
	laptop.screenshot("sessions", 470)

	// Revoke the phone's session from the laptop.
	laptop.submit(`main form[action="/sessions/revoke"] button`)
	if !strings.Contains(laptop.text(), "Signed out that session.") {
		laptop.fatalf("revoking: no confirmation")
	}
	if rows := laptop.sessionRows(); len(rows) != 1 || !rows[0].Current {
		laptop.fatalf("after revoking: want only this device listed, got %+v", rows)
	}
	phone.mustBeSignedOut()
	if text := phone.text(); !strings.Contains(text, "You were signed out from another of your sessions") {
		phone.fatalf("the sign-in page after a revocation does not say why")
	}
	phone.screenshot("signin-after-revocation", 400)
	laptop.mustBeSignedIn()

	// Sign the phone back in; then change the password on the laptop.
	phone.signIn("/login", password)
	phone.mustBeSignedIn()

	const newPassword = "a brand new passphrase"
	laptop.open("/account/password")
	if p := laptop.path(); p != "/account/password" {
		laptop.fatalf("a fresh sign-in must reach the password page directly, at %s", p)
	}
	laptop.do("typing the passwords",
		chromedp.SendKeys(chromedp.ID("current"), password),
		chromedp.SendKeys(chromedp.ID("new"), newPassword),
	)
	laptop.submit(`main form[action="/account/password"] button[type=submit]`)
	if text := laptop.text(); !strings.Contains(text, "Password changed. Signed out 1 other session;") {
		laptop.fatalf("changing the password: want it to report one other session signed out")
	}
	phone.mustBeSignedOut()
	if text := phone.text(); !strings.Contains(text, "You were signed out because your password was changed on another device.") {
		phone.fatalf("the sign-in page after a password change does not say why")
	}
	laptop.mustBeSignedIn() // renewed, still signed in

	// The old password no longer works; the new one does.
	phone.signIn("/login", password)
	if !strings.Contains(phone.text(), "Wrong user name or password.") {
		phone.fatalf("the old password still signs in")
	}
	phone.signIn("/login", newPassword)
	phone.mustBeSignedIn()
}
