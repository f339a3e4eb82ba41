package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestI7_I6_BrowserSignInAndOut signs in and out through the pages and
// checks what a real browser did with the session cookie: it stored it with
// every attribute of I7 (so it accepted the __Host- prefix, which it only
// does for a Secure, host-only, Path=/ cookie), scripts cannot read it, and
// signing out removes it and ends the session on the server (I6).
func TestI7_I6_BrowserSignInAndOut(t *testing.T) {
	ctx := testContext(t)
	base := startApp(t, false, memoryStore)
	b := newBrowser(ctx, t, "laptop", base)

	b.open("/login")
	signedOutHeader := b.headerHeight()
	b.signIn("/login", password)
	if got := b.headerHeight(); got != signedOutHeader {
		b.fatalf("the header is %v px high signed in and %v px signed out: it jumps on sign-in", got, signedOutHeader)
	}
	if got, want := b.heading(), "Welcome "+userName; got != want {
		b.fatalf("after signing in: heading %q, want %q", got, want)
	}
	if p := b.path(); p != "/dashboard" {
		b.fatalf("after signing in: at %s, want /dashboard", p)
	}

	cookies := b.cookies()
	if len(cookies) != 1 {
		names := make([]string, len(cookies))
		for i, c := range cookies {
			names[i] = c.Name
		}
		b.fatalf("want exactly one cookie (%s), the browser holds %q", secureCookie, names)
	}
	c := cookies[0]
	host := strings.TrimPrefix(base, "http://")
	host = host[:strings.LastIndexByte(host, ':')]
	checks := []struct {
		name string
		ok   bool
		got  any
	}{
		{"name is " + secureCookie, c.Name == secureCookie, c.Name},
		{"Secure", c.Secure, c.Secure},
		{"HttpOnly", c.HTTPOnly, c.HTTPOnly},
		{"SameSite=Lax", c.SameSite == network.CookieSameSiteLax, c.SameSite},
		{"Path=/", c.Path == "/", c.Path},
		// A host-only cookie carries the exact host; a Domain attribute
		// would show as ".host" or a parent domain.
		{"host-only (no Domain)", c.Domain == host, c.Domain},
		// Without "remember me" the cookie dies with the browser: no
		// Expires, no Max-Age. The protocol reports -1 (or 0) for it.
		{"session cookie", c.Session && c.Expires <= 0, map[string]any{"session": c.Session, "expires": c.Expires}},
		{"a 256-bit token (43 base64url characters)", len(c.Value) == 43, len(c.Value)},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf("session cookie: want %s, got %v", ck.name, ck.got)
		}
	}

	// HttpOnly as the page sees it: no script, injected or not, can read
	// the token.
	docCookie, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		b.fatalf("evaluating document.cookie: %v", err)
	}
	if strings.Contains(docCookie, secureCookie) || strings.Contains(docCookie, c.Value) {
		t.Errorf("document.cookie exposes the session cookie: %q", docCookie)
	}

	// The dashboard shows a fingerprint of the session, never the token.
	if strings.Contains(b.text(), c.Value) {
		t.Error("the page shows the session token")
	}

	b.submit(`header form[action="/logout"] button`)
	if p := b.path(); !strings.HasPrefix(p, "/login") {
		b.fatalf("after signing out: at %s, want /login", p)
	}
	if !strings.Contains(b.text(), "You have signed out.") {
		b.fatalf("the sign-in page after signing out does not say so")
	}
	if got := b.cookie(secureCookie); got != nil {
		t.Errorf("after signing out the browser still holds %s (value changed: %v)", secureCookie, got.Value != c.Value)
	}
	b.mustBeSignedOut()

	// I6: sign-out ended the session on the server, not only in this
	// browser: the old cookie, put back, is anonymous.
	b.plantCookie(secureCookie, c.Value)
	b.mustBeSignedOut()
}

// headerHeight returns the height of the page header in CSS pixels.
func (b *browser) headerHeight() float64 {
	b.t.Helper()
	h, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`document.querySelector("header").getBoundingClientRect().height`))
	if err != nil {
		b.fatalf("measuring the header: %v", err)
	}
	return h
}
