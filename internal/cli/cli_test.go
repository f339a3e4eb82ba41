package cli

import (
	"bytes"
	"context"
	"os"
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
		{"demo bad format", []string{"demo", "--format", "xml"}, 2, `--format "xml"`},
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
