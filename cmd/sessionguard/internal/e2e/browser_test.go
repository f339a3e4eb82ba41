package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/app"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/boltstore"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// The account every test signs in with.
const (
	userName = "alice"
	password = "correct horse battery staple"
)

// testTimeout bounds each test, browsers included: a hung browser fails the
// test instead of stalling the run until go test's own timeout.
const testTimeout = 60 * time.Second

// secureCookie is the session cookie of the secure mode (the session
// package's default, I7).
const secureCookie = "__Host-sid"

// screenshotDir is where SESSIONGUARD_SCREENSHOTS=1 writes the README's
// screenshots, relative to this package.
const screenshotDir = "../../../../docs/screenshots"

// testContext returns a context that ends after testTimeout or with the test.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// storeKind selects the session store of an app under test.
type storeKind int

const (
	memoryStore storeKind = iota
	boltStore             // the embedded store that `sessionguard serve` uses by default
)

// startApp serves the reference app on a loopback port and returns its base
// URL. Chromium treats http://127.0.0.1 as a secure context, so it stores and
// sends the Secure __Host- cookie over plain HTTP there, as it would over
// HTTPS: no TLS is needed for these tests to see the production cookie.
func startApp(t *testing.T, vulnerable bool, kind storeKind) string {
	t.Helper()
	var st store.Store
	switch kind {
	case boltStore:
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "sessions.db"), boltstore.Options{})
		if err != nil {
			t.Fatalf("opening the bolt store: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("closing the bolt store: %v", err)
			}
		})
		st = s
	default:
		s := memstore.New(memstore.Options{})
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("closing the memory store: %v", err)
			}
		})
		st = s
	}
	accounts, err := app.NewAccounts([]app.Account{{Name: userName, Password: password}})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := app.New(app.Config{
		Store:      st,
		Accounts:   accounts,
		Vulnerable: vulnerable,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv.URL
}

// chromiumPath returns the Chromium to drive. Without one the test skips,
// except in CI (CI set), where a missing browser must fail the build, never
// pass it silently.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium not found in PATH; CI must run the browser tests (scripts/test-deps.sh installs it)")
	}
	t.Skip("chromium not found in PATH; install it (apt-get install chromium) to run the browser tests")
	return ""
}

// browser is one Chromium process with its own profile: its own cookie jar,
// as a different person's computer would have.
type browser struct {
	t    *testing.T
	name string
	base string // the app's base URL, http://127.0.0.1:PORT
	ctx  context.Context
}

// newBrowser starts a headless Chromium with a fresh profile directory. name
// goes into its user agent, so the sessions page tells the browsers apart.
func newBrowser(ctx context.Context, t *testing.T, name, base string) *browser {
	t.Helper()
	path := chromiumPath(t)
	// Made before the cleanup below is registered, so it is removed after the
	// browser has exited.
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox, // root in containers; the pages are our own, on loopback
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Belt and braces for "loopback only": no host but 127.0.0.1, where
		// the app listens, resolves.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1000, 620),
		// A browser's usual header, which the sessions page turns into a
		// device name ("Chrome on Linux").
		chromedp.UserAgent(userAgent(name)),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for the process to exit
	})
	// Start it now, so that a broken Chromium fails here, saying so.
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s's browser (%s): %v", name, path, err)
	}
	return &browser{t: t, name: name, base: base, ctx: browserCtx}
}

// userAgent returns the User-Agent a browser called name sends: the phone
// says it is Chrome on Android, every other one Chrome on Linux, which is
// what they are but for the headless part.
func userAgent(name string) string {
	if name == "phone" {
		return "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	}
	return "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
}

// fatalf fails the test with what the browser shows, which is what one wants
// to know when a page is not the expected one.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	msg := b.name + ": " + fmt.Sprintf(format, args...)
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		loc = "(location unknown: " + err.Error() + ")"
	}
	body, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		body = "(page text unknown: " + err.Error() + ")"
	}
	b.t.Fatalf("%s\n  at %s\n  page text: %q", msg, loc, truncate(body, 600))
}

// do runs actions that need no page load to finish.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fatalf("%s: %v", what, err)
	}
}

// open loads path (with its query) from the app and waits for the page.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do("opening "+path, chromedp.Navigate(b.base+path))
}

// submit clicks the submit button sel and waits for the page the form
// leads to (after the app's redirects).
func (b *browser) submit(sel string) {
	b.t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		b.fatalf("submitting with %s: %v", sel, err)
	}
}

// path returns the path (and query) of the page shown.
func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fatalf("reading the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.fatalf("location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// heading returns the text of the page's h1.
func (b *browser) heading() string {
	b.t.Helper()
	h, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main h1")))
	if err != nil {
		b.fatalf("reading the heading: %v", err)
	}
	return strings.TrimSpace(h)
}

// text returns the visible text of the page.
func (b *browser) text() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		b.fatalf("reading the page text: %v", err)
	}
	return s
}

// signIn opens loginPath, types the account into the form as served and
// submits it, the way a person would.
func (b *browser) signIn(loginPath, pw string) {
	b.t.Helper()
	b.open(loginPath)
	b.do("typing the credentials",
		chromedp.SendKeys(chromedp.ID("username"), userName),
		chromedp.SendKeys(chromedp.ID("password"), pw),
	)
	b.submit(`main form button[type=submit]`)
}

// mustBeSignedIn checks that /dashboard greets the user.
func (b *browser) mustBeSignedIn() {
	b.t.Helper()
	b.open("/dashboard")
	if got, want := b.heading(), "Welcome "+userName; got != want || b.path() != "/dashboard" {
		b.fatalf("want the dashboard saying %q, got heading %q", want, got)
	}
}

// mustBeSignedOut checks that /dashboard sends the browser to the sign-in
// page.
func (b *browser) mustBeSignedOut() {
	b.t.Helper()
	b.open("/dashboard")
	if p := b.path(); !strings.HasPrefix(p, "/login") {
		b.fatalf("want /dashboard to redirect to /login, got %s", p)
	}
	if strings.Contains(b.text(), "Welcome") {
		b.fatalf("signed-out browser sees a welcome")
	}
}

// cookies returns the cookies the browser holds for the app, read through
// the DevTools protocol: HttpOnly cookies included, with every attribute the
// browser stored.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.fatalf("reading cookies: %v", err)
	}
	return res.Cookies
}

// cookie returns the cookie called name, or nil.
func (b *browser) cookie(name string) *network.Cookie {
	b.t.Helper()
	for _, c := range b.cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// plantCookie stores a cookie for the app in this browser, as an attacker
// who controls the browser (or tosses a cookie from a sibling domain) can.
func (b *browser) plantCookie(name, value string) {
	b.t.Helper()
	secure := strings.HasPrefix(name, "__Host-") || strings.HasPrefix(name, "__Secure-")
	_, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{
		Name: name, Value: value, URL: b.base + "/", Path: "/", Secure: &secure,
	})
	if err != nil {
		b.fatalf("setting cookie %s: %v", name, err)
	}
	if c := b.cookie(name); c == nil || c.Value != value {
		b.fatalf("the browser did not keep the planted cookie %s", name)
	}
}

// screenshot saves the page as docs/screenshots/NAME.png when
// SESSIONGUARD_SCREENSHOTS is set, so that ordinary runs leave the tree
// clean. It renders the top height CSS pixels of the page at twice the pixel
// density, for a sharp README image.
func (b *browser) screenshot(name string, height int64) {
	b.t.Helper()
	if os.Getenv("SESSIONGUARD_SCREENSHOTS") == "" {
		return
	}
	b.do("setting the viewport", chromedp.EmulateViewport(1000, height, chromedp.EmulateScale(2)))
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.fatalf("taking the screenshot %s: %v", name, err)
	}
	b.do("resetting the viewport", chromedp.ResetViewport())
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	file := filepath.Join(screenshotDir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s", file)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
