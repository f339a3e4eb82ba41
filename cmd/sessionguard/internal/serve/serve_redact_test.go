package serve

import (
	"strings"
	"testing"
)

func TestStoreSpecPasswordNotPrinted(t *testing.T) {
	for _, spec := range []string{"redis://app:s3cret@127.0.0.1:6379/0", "postgres://app:s3cret@127.0.0.1:5432/db",
		"redis-cluster://app:s3cret@127.0.0.1:7000,127.0.0.1:7001", "redis-cluster://:s3cret@127.0.0.1:7000,127.0.0.1:7001/?dial_timeout=1s"} {
		if got := redactSpec(spec); strings.Contains(got, "s3cret") || !strings.Contains(got, "127.0.0.1") {
			t.Errorf("redactSpec(%q) = %q", spec, got)
		}
	}
	if got := redactSpec("bolt:/var/lib/x.db"); got != "bolt:/var/lib/x.db" {
		t.Errorf("bolt spec changed: %q", got)
	}
}
