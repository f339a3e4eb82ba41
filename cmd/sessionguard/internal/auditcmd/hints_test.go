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

// TestEveryHintHasAFlag: every Target field the audit library names in a
// message is a field of audit.Target, and the command has a flag for it.
func TestEveryHintHasAFlag(t *testing.T) {
	pkg, err := build.Import("github.com/sessionguard/sessionguard/audit", ".", build.FindOnly)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(pkg.Dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "doc.go") || strings.HasSuffix(f, "hints.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range audit.Hints(string(b)) {
			seen[h.Field] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("only %d hints found in %s: is the scan broken?", len(seen), pkg.Dir)
	}
	typ := reflect.TypeFor[audit.Target]()
	for field := range seen {
		if _, ok := typ.FieldByName(field); !ok {
			t.Errorf("the audit library names Target.%s, which does not exist", field)
		}
		if _, ok := fieldFlags[field]; !ok {
			t.Errorf("the audit library names Target.%s, for which the command has no flag", field)
		}
	}
	for field, f := range fieldFlags {
		if _, ok := typ.FieldByName(field); !ok {
			t.Errorf("fieldFlags maps %s (%s), not a Target field", field, f.flag)
		}
	}
}

func TestFlagHint(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"no way to log out is known: set Target.LogoutPath", "no way to log out is known: pass --logout PATH"},
		{"add https://sso.example to Target.AllowOrigins if that", "pass --allow-origin https://sso.example if that"},
		{"the time limit (Target.MaxTime 3s)", "the time limit (--max-time 3s)"},
		{"set Target.AllowPasswordInURL to send it", "pass --allow-password-in-url to send it"},
		{"Target.Transport is yours", "Target.Transport is yours"},
		{"a Target.cookie, not a field", "a Target.cookie, not a field"},
	} {
		if got := flagText(tc.in); got != tc.want {
			t.Errorf("flagText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
