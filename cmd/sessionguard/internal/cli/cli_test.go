package cli

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestRunCommands(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		out  string // expected in stdout or stderr
	}{
		{"no command", nil, 2, "usage: sessionguard COMMAND"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"help", []string{"help"}, 0, "audit"},
		{"demo bad format", []string{"demo", "--format", "xml"}, 2, "want one of text, json"},
		{"demo help", []string{"demo", "-h"}, 0, "usage: sessionguard demo"},
		{"serve help", []string{"serve", "-h"}, 0, "-vulnerable"},
		{"demo", []string{"demo"}, 0, "As expected: the vulnerable app was hijacked, the secure app was not."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), c.args, &out, &errb, os.Getenv)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.code, errb.String())
			}
			if !strings.Contains(out.String()+errb.String(), c.out) {
				t.Fatalf("output lacks %q:\n%s\n%s", c.out, out.String(), errb.String())
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), args, &out, &errb, os.Getenv); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		if !strings.HasPrefix(out.String(), "sessionguard ") || !strings.Contains(out.String(), runtime.Version()) {
			t.Fatalf("%v: %q", args, out.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"version", "x"}, &out, &errb, os.Getenv); code != 2 {
		t.Fatalf("version x: exit %d", code)
	}

	cases := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "sessionguard (unknown version: no build information) " + runtime.Version()},
		{"checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
		}}, "sessionguard (devel) revision 0123456789ab+dirty (2026-01-02T03:04:05Z) go1.26.0"},
		{"released module", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.2.3"}}, "sessionguard v1.2.3 go1.26.1"},
		{"empty version", &debug.BuildInfo{GoVersion: "go1.26.1"}, "sessionguard (devel) go1.26.1"},
	}
	for _, c := range cases {
		if got := Version(c.info); got != c.want {
			t.Errorf("%s: Version = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCommandsHelpAndArguments(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(args []string, out, errb *bytes.Buffer) int
	}{
		{"serve", func(args []string, out, errb *bytes.Buffer) int {
			return Main(context.Background(), append([]string{"serve"}, args...), out, errb, os.Getenv)
		}},
		{"demo", func(args []string, out, errb *bytes.Buffer) int {
			return Main(context.Background(), append([]string{"demo"}, args...), out, errb, os.Getenv)
		}},
	} {
		t.Run(c.name+" -h", func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := c.run([]string{"-h"}, &out, &errb); code != 0 {
				t.Fatalf("exit %d", code)
			}
			if !strings.HasPrefix(out.String(), "usage: sessionguard "+c.name) || errb.Len() != 0 {
				t.Fatalf("help: stdout %q, stderr %q", out.String(), errb.String())
			}
		})
		t.Run(c.name+" extra argument", func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := c.run([]string{"--store", "memory", "extra"}[boolIndex(c.name == "demo"):], &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			if out.Len() != 0 || !strings.HasPrefix(errb.String(), `sessionguard: error: unexpected argument "extra"`) {
				t.Fatalf("stdout %q, stderr %q", out.String(), errb.String())
			}
		})
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"demo", "--format", "xml"}, &out, &errb, os.Getenv); code != 2 ||
		!strings.Contains(errb.String(), "want one of text, json") || out.Len() != 0 {
		t.Fatalf("demo --format xml: exit %d, stderr %q", code, errb.String())
	}
}

// boolIndex is 2 for true: the demo has no --store flag, so its case starts
// at the extra argument.
func boolIndex(demo bool) int {
	if demo {
		return 2
	}
	return 0
}
