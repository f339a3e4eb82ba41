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
