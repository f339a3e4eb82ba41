package auditcmd

import (
	"bytes"
	"context"
	"go/build"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/audit"
	"github.com/sessionguard/sessionguard/audit/auditbrowser"
)

// TestHintsSayFlags: the audit library's advice names Target fields; a
// user of the command reads the flag instead, the same hint as when the
// library named flags itself, in every format and on stderr.
func TestHintsSayFlags(t *testing.T) {
	base := newFixture(t, false)
	env := func(k string) string { return map[string]string{"SESSIONGUARD_PASSWORD": testPassword}[k] }
	tests := []struct {
		name string
		args []string
		want []string // hints, as the command said them before the library named fields
	}{
		{"text", []string{"--format", "text", "-v"}, []string{"pass --idle-wait DURATION (longer than the application's idle timeout", "pass --absolute-wait DURATION"}},
		{"json", []string{"--format", "json"}, []string{"pass --idle-wait DURATION (longer than the application's idle timeout"}},
		{"sarif", []string{"--format", "sarif"}, []string{"pass --idle-wait DURATION (longer than the application's idle timeout", "Opt-in with --idle-wait:"}},
		{"markdown", []string{"--format", "markdown"}, []string{"pass --idle-wait DURATION (longer than the application's idle timeout"}},
		{"error on stderr", []string{"--format", "json", "--password", "nope"}, []string{"wrong --user or --password? Or pass --check PATH, a page only a signed-in user sees"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"--user", "alice", "--samples", "0"}, tc.args...)
			Main(context.Background(), append(args, base), &out, &errOut, env)
			all := out.String() + errOut.String()
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, "Target.") {
				t.Errorf("output names a Target field:\n%s", all)
			}
		})
	}
}

// TestEveryHintHasAFlag: every field the audit library and the browser
// driver name in a message is a field of audit.Target or
// auditbrowser.Driver, and the command has a flag for it.
func TestEveryHintHasAFlag(t *testing.T) {
	types := map[string]struct {
		typ   reflect.Type
		flags map[string]struct{ flag, arg string }
	}{
		"Target": {reflect.TypeFor[audit.Target](), fieldFlags},
		"Driver": {reflect.TypeFor[auditbrowser.Driver](), driverFlags},
	}
	seen := map[audit.Hint]bool{}
	for _, path := range []string{"github.com/sessionguard/sessionguard/audit", "github.com/sessionguard/sessionguard/audit/auditbrowser"} {
		for _, h := range sourceHints(t, path) {
			seen[audit.Hint{Type: h.Type, Field: h.Field}] = true
		}
	}
	if len(seen) < 12 {
		t.Fatalf("only %d hints found: is the scan broken?", len(seen))
	}
	for h := range seen {
		ty, ok := types[h.Type]
		if !ok {
			t.Errorf("the hint %s names an unknown type", h)
			continue
		}
		if _, ok := reflect.PointerTo(ty.typ).MethodByName(h.Field); ok {
			continue // a method named in a doc comment ([Driver.Close]), not a setting
		}
		if _, ok := ty.typ.FieldByName(h.Field); !ok {
			t.Errorf("a message names %s, which does not exist", h)
		}
		if _, ok := ty.flags[h.Field]; !ok {
			t.Errorf("a message names %s, for which the command has no flag", h)
		}
	}
	for name, ty := range types {
		for field, f := range ty.flags {
			if _, ok := ty.typ.FieldByName(field); !ok {
				t.Errorf("the flags of %s map %s (%s), not one of its fields", name, field, f.flag)
			}
		}
	}
}

// sourceHints returns the hints in the non-test Go files of the package
// at path (doc.go and hints.go, which describe hints, left out).
func sourceHints(t *testing.T, path string) []audit.Hint {
	t.Helper()
	pkg, err := build.Import(path, ".", build.FindOnly)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(pkg.Dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Hint
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "doc.go") || strings.HasSuffix(f, "hints.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, audit.Hints(string(b))...)
	}
	if len(out) == 0 {
		t.Fatalf("no hints found in %s: is the scan broken?", pkg.Dir)
	}
	return out
}

func TestFlagHint(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"no way to log out is known: set Target.LogoutPath", "no way to log out is known: pass --logout PATH"},
		{"add https://sso.example to Target.AllowOrigins if that", "pass --allow-origin https://sso.example if that"},
		{"the time limit (Target.MaxTime 3s)", "the time limit (--max-time 3s)"},
		{"set Target.AllowPasswordInURL to send it", "pass --allow-password-in-url to send it"},
		{"Target.Transport is yours", "Target.Transport is yours"},
		{"a Target.cookie, not a field", "a Target.cookie, not a field"},
		{"or set Driver.Chrome", "or pass --chrome PATH"},
		{"Driver.Chrome /opt/x: not found", "--chrome /opt/x: not found"},
		{"add https://cdn.example to Driver.AllowLoadFrom (scripts", "pass --allow-load-from https://cdn.example (scripts"},
		{"Driver.AllowLoadFrom lets it load", "--allow-load-from lets it load"},
		{"add ORIGIN to Driver.AllowLoadFrom (scripts", "pass --allow-load-from ORIGIN (scripts"},
		{"Driver.Wait is yours", "Driver.Wait is yours"},
		{"a Driver.wait, not a field", "a Driver.wait, not a field"},
	} {
		if got := flagText(tc.in); got != tc.want {
			t.Errorf("flagText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
