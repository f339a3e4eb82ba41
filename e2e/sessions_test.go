package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// sessionRow is one row of the /sessions table, as the page shows it.
type sessionRow struct {
	Device    string `json:"device"`
	Current   bool   `json:"current"`
	CanRevoke bool   `json:"canRevoke"`
}

// sessionRows reads the /sessions table of the page shown.
func (b *browser) sessionRows() []sessionRow {
	b.t.Helper()
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]sessionRow](`
		[...document.querySelectorAll("main table tr")].filter(tr => tr.querySelector("td")).map(tr => ({
			device: tr.cells[0].innerText.trim(),
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
// lists both, revoking the other one from the page signs that browser out,
// and changing the password signs out every other session (ASVS 3.3.3).
func TestBrowserSessionsRevokeAndPasswordChange(t *testing.T) {
	ctx := testContext(t)
	base := startApp(t, false, memoryStore)
	laptop := newBrowser(ctx, t, "laptop", base)
	phone := newBrowser(ctx, t, "phone", base)

	laptop.signIn("/login", password)
	phone.signIn("/login", password)
	laptop.mustBeSignedIn()
	laptop.screenshot("dashboard", 480)
	phone.mustBeSignedIn()

	laptop.open("/sessions")
	rows := laptop.sessionRows()
	if len(rows) != 2 {
		laptop.fatalf("want 2 sessions listed, got %d: %+v", len(rows), rows)
	}
	var current, other int
	for _, r := range rows {
		switch {
		case r.Current && !r.CanRevoke && strings.Contains(r.Device, "laptop"):
			current++
		case !r.Current && r.CanRevoke && strings.Contains(r.Device, "phone"):
			other++
		}
	}
	if current != 1 || other != 1 {
		laptop.fatalf("want the laptop's session marked \"this device\" and the phone's with a sign-out button, got %+v", rows)
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
	if text := laptop.text(); !strings.Contains(text, "Password changed. 1 other session(s) were signed out") {
		laptop.fatalf("changing the password: want it to report one other session signed out")
	}
	phone.mustBeSignedOut()
	laptop.mustBeSignedIn() // renewed, still signed in

	// The old password no longer works; the new one does.
	phone.signIn("/login", password)
	if !strings.Contains(phone.text(), "Wrong user name or password.") {
		phone.fatalf("the old password still signs in")
	}
	phone.signIn("/login", newPassword)
	phone.mustBeSignedIn()
}
