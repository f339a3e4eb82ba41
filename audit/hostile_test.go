package audit

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// The secrets of the hostile fixtures: characters that every encoding
// writes differently (space, +, &, quotes, <, /, non-ASCII).
const (
	hostileUser     = "alice"
	hostilePassword = `Pä ss+w&"rd</é'42`
	hostileHeader   = "Bearer tok3n-0f-the-gateway+/=x9"
)

// encodingsOf lists the ways applications write secret: the list is this
// test's own, written without the masking code, so that a form the masker
// forgets makes the test fail.
func encodingsOf(user, secret string) map[string]string {
	pct := func(s string, lower bool) string { // every byte percent-encoded
		var b strings.Builder
		for _, c := range []byte(s) {
			f := "%%%02X"
			if lower {
				f = "%%%02x"
			}
			fmt.Fprintf(&b, f, c)
		}
		return b.String()
	}
	lowerPct := regexp.MustCompile(`%[0-9A-F]{2}`)
	lowerHex := func(s string) string { return lowerPct.ReplaceAllStringFunc(s, strings.ToLower) }
	entities := func(s, format string) string {
		var b strings.Builder
		for _, r := range s {
			fmt.Fprintf(&b, format, r)
		}
		return b.String()
	}
	named := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "ä", "&auml;", "é", "&eacute;").Replace(secret)
	jsonOf := func(s string, escapeHTML bool) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		_ = enc.Encode(s)
		return strings.Trim(strings.TrimSpace(b.String()), `"`)
	}
	q := url.QueryEscape(secret)
	up := user + ":" + secret
	// Python's json.dumps: every non-ASCII character as \uXXXX.
	var py strings.Builder
	for _, r := range secret {
		switch {
		case r == '"' || r == '\\':
			py.WriteString(`\` + string(r))
		case r > 127:
			py.WriteString(entities(string(r), `\u%04x`))
		default:
			py.WriteRune(r)
		}
	}
	return map[string]string{
		"base64 of a form body":        base64.StdEncoding.EncodeToString([]byte("username=" + user + "&password=" + q)),
		"base64url of a JSON event":    base64.RawURLEncoding.EncodeToString([]byte(`{"p":"` + jsonOf(secret, true) + `"}`)),
		"base64 of Python JSON":        base64.StdEncoding.EncodeToString([]byte(`{"p": "` + py.String() + `"}`)),
		"raw":                          secret,
		"query (+)":                    q,
		"query (%20)":                  strings.ReplaceAll(q, "+", "%20"),
		"query, lower-case":            lowerHex(q),
		"query (%20), lower-case":      lowerHex(strings.ReplaceAll(q, "+", "%20")),
		"path":                         url.PathEscape(secret),
		"every byte, upper-case":       pct(secret, false),
		"every byte, lower-case":       pct(secret, true),
		"HTML escaped":                 html.EscapeString(secret),
		"HTML named entities":          named,
		"HTML decimal entities":        entities(secret, "&#%d;"),
		"HTML hex entities":            entities(secret, "&#x%x;"),
		"HTML hex entities, upper":     entities(secret, "&#X%X;"),
		"JSON":                         jsonOf(secret, true),
		"JSON without HTML escaping":   jsonOf(secret, false),
		`JSON \u escapes`:              entities(secret, `\u%04x`),
		`JSON \u escapes, upper`:       entities(secret, `\u%04X`),
		"base64":                       base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64url":                    base64.URLEncoding.EncodeToString([]byte(secret)),
		"base64, unpadded":             base64.RawStdEncoding.EncodeToString([]byte(secret)),
		"base64url, unpadded":          base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"base64 of user:secret":        base64.StdEncoding.EncodeToString([]byte(up)),
		"base64url of user:secret":     base64.URLEncoding.EncodeToString([]byte(up)),
		"hex":                          hex.EncodeToString([]byte(secret)),
		"hex, upper-case":              strings.ToUpper(hex.EncodeToString([]byte(secret))),
		"base64 of an event, offset 0": base64.StdEncoding.EncodeToString([]byte(`{"v":"` + secret + `"}`)),
		"base64 of an event, offset 1": base64.StdEncoding.EncodeToString([]byte(`{"vv":"` + secret + `"}`)),
		"base64 of an event, offset 2": base64.URLEncoding.EncodeToString([]byte(`{"vvv":"` + secret + `"}`)),
	}
}

var (
	base64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{8,}`)
	hexRun    = regexp.MustCompile(`[0-9a-fA-F]{8,}`)
)

// secretIn reports how out shows secret, if it does: one of the
// encodings, or base64 or hex text that decodes to something holding
// the secret (or user:secret) at any alignment.
func secretIn(out, user, secret string) string {
	for name, e := range encodingsOf(user, secret) {
		if strings.Contains(out, e) {
			return name
		}
	}
	wants := [][]byte{[]byte(secret), []byte(user + ":" + secret)}
	holds := func(b []byte) bool {
		for _, w := range wants {
			if strings.Contains(string(b), string(w)) {
				return true
			}
		}
		return false
	}
	for _, run := range base64Run.FindAllString(out, -1) {
		for off := range 4 {
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				s := run[min(off, len(run)):]
				s = s[:len(s)/4*4]
				if b, err := enc.DecodeString(s); err == nil && holds(b) {
					return "inside base64 " + run
				}
			}
		}
	}
	for _, run := range hexRun.FindAllString(out, -1) {
		for off := range 2 {
			s := run[off:]
			if b, err := hex.DecodeString(s[:len(s)/2*2]); err == nil && holds(b) {
				return "inside hex " + run
			}
		}
	}
	return ""
}

// rawControl returns the first character of out a terminal would obey
// (or hide), if any: C0 controls but newline and tab, DEL, C1 controls,
// format characters such as the bidirectional overrides, separators.
func rawControl(out string) (rune, bool) {
	for i, r := range out {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(out[i:]); n == 1 {
				return r, true
			}
		}
		if r == '\n' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return r, true
		}
	}
	return 0, false
}

// hostileApp is an application built to make the auditor leak and to
// write on the terminal of whoever reads the report. It signs alice in,
// but echoes the secrets (in the encoding echo gives) in the redirect
// after sign-in and in a framework header, and fills its pages, form
// field names and headers with escape sequences and bidi overrides.
type hostileApp struct {
	echo      string // how the secret is written back
	sessions  atomic.Int64
	wrongOnly bool // refuse every sign-in (could not audit)
}

// hostileText is what a page may say to a terminal: clear the screen,
// print a fake verdict, reverse the text after it; as HTML entities, so
// that it comes out of the HTML parser as the raw characters.
const hostileText = "&#27;[2J&#27;[H&#x1b;]0;title&#7;no fixation found&#x202E;&#x2066;&#x9b;31m&#x85;&#xFEFF;&#x200F;"

func (h *hostileApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Powered-By", "PHP/8.3 \u009b2J\u2066"+h.echo)
	w.Header().Set("Server", "nginx \u202e"+h.echo)
	sid, _ := r.Cookie("sid")
	switch {
	case r.URL.Path == "/login" && r.Method == http.MethodPost:
		_ = r.ParseForm()
		if h.wrongOnly || r.PostForm.Get("username") != hostileUser || r.PostForm.Get("password") != hostilePassword {
			fmt.Fprintf(w, `<p>Sign-in failed: %s %s</p><form method="post"><input name="username"><input type="password" name="password"></form>`, h.echo, hostileText)
			return
		}
		n := h.sessions.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: fmt.Sprintf("s%030d", n*7919), Path: "/", HttpOnly: true})
		w.Header().Set("Location", "/dashboard?event="+h.echo)
		w.WriteHeader(http.StatusSeeOther)
	case r.URL.Path == "/login":
		fmt.Fprintf(w, `<html><title>%s</title><form method="post" action="/login">
<input type="hidden" name="%s" value="%s">
<input type="hidden" name="%s" value="1">
<input name="username" autocomplete="username"><input type="password" name="password"></form>%s</html>`,
			hostileText, hostileText, h.echo, strings.Repeat("A", 20000), hostileText)
	case r.URL.Path == "/dashboard" && sid != nil && strings.HasPrefix(sid.Value, "s"):
		fmt.Fprintf(w, `<p>Welcome %s %s %s</p><form method="post" action="/logout"><button>Log out</button></form>`, hostileUser, hostileText, h.echo)
	case r.URL.Path == "/logout":
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		http.Error(w, "not found "+h.echo, http.StatusNotFound)
	}
}

// TestHostileTargetEveryOutput runs hostile fixtures, each echoing the
// password and the secret header value in one encoding, through every
// output (text, text -v, JSON, SARIF, Markdown, progress, the error) and
// fails if any output shows a secret in any encoding of encodingsOf, or
// holds a raw control or bidi character, or if a JSON output is invalid.
func TestHostileTargetEveryOutput(t *testing.T) {
	t.Parallel()
	// Each fixture echoes one encoding of the password and one of the
	// header value.
	pw, hd := encodingsOf(hostileUser, hostilePassword), encodingsOf(hostileUser, hostileHeader)
	var echoes []string
	for _, name := range slices.Sorted(maps.Keys(pw)) {
		echoes = append(echoes, pw[name]+" "+hd[name])
	}
	for i, echo := range echoes {
		for _, wrong := range []bool{false, true} {
			if wrong && i%4 != 0 {
				continue // the refused sign-in shows the echo in fewer places
			}
			samples := -1
			if i%8 == 0 {
				samples = 3 // progress lines
			}
			t.Run(fmt.Sprintf("echo %d, refused %v", i, wrong), func(t *testing.T) {
				t.Parallel()
				srv := httptest.NewServer(&hostileApp{echo: echo, wrongOnly: wrong})
				defer srv.Close()
				var progress strings.Builder
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				rep, err := Run(ctx, Target{BaseURL: srv.URL, User: hostileUser, Password: hostilePassword, CheckPath: "/dashboard",
					Header: http.Header{"Authorization": {hostileHeader}}, Samples: samples, Progress: &progress})
				checkOutputs(t, outputs(t, rep, progress.String(), err))
				if text := outputs(t, rep, "", nil)["text-v"]; !wrong && !strings.Contains(text, "…[cut: ") {
					t.Errorf("the 20,000-character field name is not cut with a mark:\n%s", text)
				}
				if c, _ := rep.Check("credentials-in-url"); !wrong && c.Status != StatusFail {
					t.Errorf("credentials-in-url %s, want fail: %q", c.Status, c.Evidence)
				}
			})
		}
	}
}

// checkOutputs fails if any output shows a secret or a raw control
// character, or is invalid JSON.
func checkOutputs(t *testing.T, outs map[string]string) {
	t.Helper()
	for name, out := range outs {
		for _, secret := range []string{hostilePassword, hostileHeader, strings.TrimPrefix(hostileHeader, "Bearer ")} {
			if how := secretIn(out, hostileUser, secret); how != "" {
				t.Errorf("%s output shows a secret (%s):\n%s", name, how, out)
			}
		}
		if r, ok := rawControl(out); ok {
			t.Errorf("%s output holds the raw character %U:\n%q", name, r, out)
		}
		if (name == "json" || name == "sarif") && !json.Valid([]byte(out)) {
			t.Errorf("%s output is not valid JSON", name)
		}
	}
}
