package serve

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"
)

func newKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// runServe starts serve with args and returns its base URL once it serves,
// or "" and the exit code when it stopped first. It stops serve at the end
// of the test.
func runServe(t *testing.T, args ...string) (base string, code int, stderr *loopbacktest.SyncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb loopbacktest.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Serve(ctx, append([]string{"--addr", "127.0.0.1:0", "--account", "alice:alice-password"}, args...), &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			done <- code
			return "", code, &errb
		default:
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if i := strings.Index(line, "http://"); i >= 0 && strings.Contains(line, "serving the reference app") {
				return strings.TrimSuffix(line[i:], "/"), 0, &errb
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("serve did not start: %s", errb.String())
	return "", 0, nil
}

// TestServeKeys: serve takes its key set from --keys-file or from
// $SESSIONGUARD_KEYS, refuses a bad or ambiguous one without printing it,
// and warns when it has to make up a key of its own.
func TestServeKeys(t *testing.T) {
	dir := t.TempDir()
	current, old := newKey(t), newKey(t)
	good := filepath.Join(dir, "keys")
	if err := os.WriteFile(good, []byte("# current\n"+current+"\n# previous\n"+old+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	const secretish = "c2hvcnQ-but-secret"
	if err := os.WriteFile(bad, []byte(secretish+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, env string
		code            int
		stderr          string // what stderr must say
	}{
		{"file", good, "", 0, "2 keys from --keys-file"},
		{"env", "", current + "," + old, 0, "2 keys from $" + KeysEnv},
		{"none", "", "", 0, "Several instances behind one load balancer need ONE shared"},
		{"both", good, current, 2, "give the keys one way"},
		{"bad file", bad, "", 2, "--keys-file"},
		{"missing file", filepath.Join(dir, "nope"), "", 2, "--keys-file"},
		{"bad env", "", secretish, 2, "$" + KeysEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(KeysEnv, tc.env)
			args := []string{"--store", "memory"}
			if tc.file != "" {
				args = append(args, "--keys-file", tc.file)
			}
			base, code, errb := runServe(t, args...)
			if code != tc.code || !strings.Contains(errb.String(), tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr lacks %q:\n%s", code, tc.code, tc.stderr, errb.String())
			}
			for _, secret := range []string{current, old, secretish} {
				if strings.Contains(errb.String(), secret) {
					t.Fatalf("stderr shows key material:\n%s", errb.String())
				}
			}
			if base != "" {
				b := loopback.NewBrowser("t")
				if res := loopbacktest.SignIn(t, b, base, "alice", "alice-password"); !strings.HasSuffix(res.URL, "/dashboard") {
					t.Fatalf("sign-in ended at %s", res.URL)
				}
			}
		})
	}
}

// TestServeSharedKeysAcrossInstances: two serve instances on one store
// with the keys of one file honour each other's signed end reason; with
// keys of their own they do not.
func TestServeSharedKeysAcrossInstances(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(newKey(t)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shared, other := write("shared"), write("other")
	t.Setenv(KeysEnv, "")
	for _, tc := range []struct {
		name    string
		fileA   string
		fileB   string
		honours bool
	}{
		{"one key file", shared, shared, true},
		{"different keys", shared, other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
			a, _, errA := runServe(t, "--store", db, "--keys-file", tc.fileA)
			b, _, errB := runServe(t, "--store", db, "--keys-file", tc.fileB)
			if a == "" || b == "" {
				t.Fatalf("serve did not start:\n%s\n%s", errA, errB)
			}
			br := loopback.NewBrowser("t")
			loopbacktest.SignIn(t, br, a, "alice", "alice-password")
			// Sign out on A; the sign-in page it redirects to is asked of B.
			res, err := br.Do(context.Background(), "POST", a+"/logout", nil)
			if err != nil {
				t.Fatal(err)
			}
			target := b + res.URL[len(a):]
			page := loopbacktest.Get(t, br, target)
			if got := strings.Contains(page.Body, "You have signed out."); got != tc.honours {
				t.Fatalf("B shows A's end reason: %v, want %v (at %s)", got, tc.honours, page.URL)
			}
		})
	}
}
