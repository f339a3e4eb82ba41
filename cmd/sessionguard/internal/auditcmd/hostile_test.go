package auditcmd

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestCLIHostileTarget runs the command in every format (and -v) against
// an application that writes the password back in several encodings and
// fills its page with terminal escapes and bidi overrides (as HTML
// entities): neither stdout nor stderr may show the password in any of
// those encodings, hold a raw control character, or name a library field
// instead of a flag.
func TestCLIHostileTarget(t *testing.T) {
	t.Parallel()
	pw := secretPassword
	lower := regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(url.QueryEscape(pw), strings.ToLower)
	echoes := []string{
		strings.ReplaceAll(url.QueryEscape(pw), "+", "%20"), lower,
		base64.StdEncoding.EncodeToString([]byte(pw)), base64.URLEncoding.EncodeToString([]byte(testUser + ":" + pw)), hex.EncodeToString([]byte(pw)),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Powered-By", "PHP \u009b2J\u202e "+strings.Join(echoes, " "))
		switch {
		case r.URL.Path == "/login" && r.Method == http.MethodPost:
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s0123456789abcdef0123456789", Path: "/"})
			w.Header().Set("Location", "/home?e="+strings.Join(echoes, "&e="))
			w.WriteHeader(http.StatusSeeOther)
		case r.URL.Path == "/login":
			fmt.Fprint(w, `<title>&#27;[2J&#x202E;</title><form method="post"><input type="hidden" name="&#27;]0;x&#7;&#x2066;" value="1"><input name="username"><input type="password" name="password"></form>`)
		case r.URL.Path == "/home":
			if c, err := r.Cookie("sid"); err == nil && c.Value != "" {
				fmt.Fprint(w, "Welcome alice &#27;[2J")
				return
			}
			http.Error(w, "no", http.StatusUnauthorized)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	all := append([]string{pw, url.QueryEscape(pw)}, echoes...)
	for _, format := range []string{"text", "json", "sarif", "markdown"} {
		for _, verbose := range []bool{false, true} {
			args := []string{"--user", testUser, "--samples", "3", "--check", "/home", "--format", format, "-H", "Authorization: Bearer " + pw}
			if verbose {
				args = append(args, "-v")
			}
			r := runCLI(t, append(args, srv.URL), map[string]string{"SESSIONGUARD_PASSWORD": pw})
			out := r.stdout + r.stderr
			for _, e := range all {
				if strings.Contains(out, e) {
					t.Errorf("%s: the output shows the password as %q:\n%s", format, e, out)
				}
			}
			for _, c := range out {
				if c != '\n' && c != '\t' && (unicode.IsControl(c) || unicode.In(c, unicode.Cf)) {
					t.Errorf("%s: the output holds the raw character %U", format, c)
					break
				}
			}
			if strings.Contains(out, "Target.") || strings.Contains(out, "Driver.") {
				t.Errorf("%s: a message names a library field instead of a flag:\n%s", format, out)
			}
		}
	}
	r := runCLI(t, []string{"--user", testUser, "--samples", "0", "--check", "/home", srv.URL}, map[string]string{"SESSIONGUARD_PASSWORD": "Lax"})
	if !strings.Contains(r.stderr, "warning: the password has 3 characters") || !strings.Contains(r.stdout, "WARNING: --password has fewer than 12") {
		t.Errorf("a short password is not warned about:\n%s\n%s", r.stderr, r.stdout)
	}
}
