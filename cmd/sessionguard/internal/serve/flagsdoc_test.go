package serve

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"
)

// TestServeFlagsDocumented: every flag `serve -h` lists has a row in the
// README's serve flag table, and every row names a flag serve has.
func TestServeFlagsDocumented(t *testing.T) {
	var out, errb loopbacktest.SyncBuffer
	Serve(context.Background(), []string{"-h"}, &out, &errb)
	help := out.String() + errb.String()
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z-]*)`).FindAllStringSubmatch(help, -1) {
		flags[m[1]] = true
	}
	if len(flags) < 10 {
		t.Fatalf("found %d flags in serve -h:\n%s", len(flags), help)
	}
	readme, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "| `--addr ADDR` |")
	if start < 0 {
		t.Fatal("README: no serve flag table")
	}
	table := string(readme[start:])
	table = table[:strings.Index(table, "\n\n")]
	documented := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		first := strings.SplitN(line, "|", 3)[1] // the flag cell
		for _, m := range regexp.MustCompile(`--([a-z][a-z-]*)`).FindAllStringSubmatch(first, -1) {
			documented[m[1]] = true
		}
	}
	for f := range flags {
		if !documented[f] {
			t.Errorf("serve --%s is not in the README's serve flag table", f)
		}
	}
	for f := range documented {
		if !flags[f] {
			t.Errorf("the README's serve flag table lists --%s, which serve does not have", f)
		}
	}
}
