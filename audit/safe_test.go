package audit

import (
	"errors"
	"strings"
	"testing"
)

// TestSafeText: what a terminal would obey is written visibly, the rest
// is left alone, and escaping twice changes nothing.
func TestSafeText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "GET /login → 200 (Welcome alice)", "GET /login → 200 (Welcome alice)"},
		{"ESC sequence", "\x1b[2J\x1b[Hno fixation found", `\x1b[2J\x1b[Hno fixation found`},
		{"OSC title with BEL", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`},
		{"C1 CSI", "\u009b31m", `\x9b31m`},
		{"newline and tab", "a\nb\tc", `a\x0ab\x09c`},
		{"bidi override", "evil\u202egnp.exe", `evil\u202egnp.exe`},
		{"bidi isolate", "\u2066x\u2069", `\u2066x\u2069`},
		{"zero-width and BOM", "a\u200bb\ufeff", `a\u200bb\ufeff`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"backslash kept", `C:\x1b`, `C:\x1b`},
	} {
		got := safeText(tc.in)
		if got != tc.want {
			t.Errorf("%s: safeText(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
		if again := safeText(got); again != got {
			t.Errorf("%s: escaping twice gives %q", tc.name, again)
		}
	}
	long := strings.Repeat("é", maxShown)
	got := safeText(long)
	if len(got) > maxShown+40 || !strings.Contains(got, "…[cut: 2000 more bytes]") {
		t.Errorf("a long string is not cut with a mark: %d bytes, ends %q", len(got), got[len(got)-40:])
	}
}

// TestBaseURLWithCredentialsRefused: credentials in BASE_URL would end up
// in the report's target and in logs.
func TestBaseURLWithCredentialsRefused(t *testing.T) {
	err := Target{BaseURL: "http://gw:s3cret-gateway-pass@127.0.0.1/", User: "u", Password: "p"}.Validate()
	if !errors.Is(err, ErrBadTarget) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Validate: %v", err)
	}
}

// TestCredentialsInURLsStayOut: a BASE_URL with credentials, whether it
// is refused for them, does not parse or is not http(s), leaves them out
// of the error and of every format of the report Run returns.
func TestCredentialsInURLsStayOut(t *testing.T) {
	for _, raw := range []string{
		"https://gw:GatewaySecret9@127.0.0.1/",
		"https://gw:GatewaySecret9@127.0.0.1:80a/",
		"ftp://gw:GatewaySecret9@127.0.0.1/",
		"gw:GatewaySecret9@127.0.0.1:8080",
		"https://gw:Gateway%2FSecret9@host/p@th",
	} {
		rep, err := Run(t.Context(), Target{BaseURL: raw, User: "u", Password: "correct horse battery"})
		if !errors.Is(err, ErrBadTarget) || rep == nil || rep.Verdict != VerdictCouldNotAudit {
			t.Fatalf("%s: %v, %+v", raw, err, rep)
		}
		var all strings.Builder
		all.WriteString(err.Error())
		for _, write := range []func(*strings.Builder) error{
			func(b *strings.Builder) error { return WriteJSON(b, rep) },
			func(b *strings.Builder) error { return WriteMarkdown(b, rep) },
			func(b *strings.Builder) error { return WriteSARIF(b, rep) },
			func(b *strings.Builder) error { return WriteText(b, rep, TextOptions{}) },
		} {
			if err := write(&all); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Contains(all.String(), "Secret9") {
			t.Errorf("%s: the credentials are in the error or the report:\n%s", raw, all.String())
		}
		if !strings.Contains(all.String(), "127.0.0.1") && !strings.Contains(all.String(), "host") {
			t.Errorf("%s: the report does not name the target at all", raw)
		}
	}
	for raw, want := range map[string]string{
		"https://u:p@h/x?y=a@b":  "https://h/x?y=a@b",
		"u:p@h:8080":             "h:8080",
		"http://h/path@x":        "http://h/path@x",
		"socks5://a@b:c@h:1080/": "socks5://h:1080/",
	} {
		if got := WithoutUserinfo(raw); got != want {
			t.Errorf("WithoutUserinfo(%q) = %q, want %q", raw, got, want)
		}
	}
}
