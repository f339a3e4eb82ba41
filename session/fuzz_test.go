package session

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// seedFiles adds every file of testdata/seed/<dir> to f's corpus.
func seedFiles(f *testing.F, dir string) {
	paths, err := filepath.Glob(filepath.Join("testdata", "seed", dir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	if len(paths) == 0 {
		f.Fatalf("no seeds in testdata/seed/%s", dir)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzCookieTokens(f *testing.F) {
	seedFiles(f, "cookie")
	f.Fuzz(func(t *testing.T, header []byte) {
		h := http.Header{"Cookie": strings.Split(string(header), "\n")}
		var buf [maxCandidates + 1]string
		tokens, total, malformed := cookieTokens(h, DefaultCookieName, buf[:0])
		if len(tokens) > maxCandidates+1 || malformed > total || len(tokens) > total-malformed {
			t.Fatalf("inconsistent counts: %d tokens, %d total, %d malformed", len(tokens), total, malformed)
		}
		for i, tok := range tokens {
			if !validToken(tok) {
				t.Fatalf("returned an invalid token %q", tok)
			}
			for _, other := range tokens[:i] {
				if other == tok {
					t.Fatal("duplicate token returned")
				}
			}
		}
	})
}

func FuzzValidToken(f *testing.F) {
	f.Add(newToken())
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("_", 43))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var raw [tokenBytes]byte
		n, err := decodeToken(s, raw[:])
		canonical := err == nil && n == tokenBytes && encodeToken(raw[:]) == s
		if validToken(s) != canonical {
			t.Fatalf("validToken(%q) = %v, but canonical decoding says %v", s, validToken(s), canonical)
		}
		if !validToken(s) {
			return
		}
		// A valid token has exactly one spelling.
		if len(s) != tokenLen {
			t.Fatalf("valid token of length %d", len(s))
		}
		var b [tokenBytes]byte
		if n, err := decodeToken(s, b[:]); err != nil || n != tokenBytes || encodeToken(b[:]) != s {
			t.Fatalf("valid token %q does not round-trip", s)
		}
	})
}

func FuzzDecodeValues(f *testing.F) {
	seedFiles(f, "values")
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := decodeValues(data)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same thing.
		enc := encodeValues(vals)
		again, err := decodeValues(enc)
		if err != nil || len(again) != len(vals) {
			t.Fatalf("re-decode: %v", err)
		}
		if !bytes.Equal(enc, encodeValues(again)) {
			t.Fatal("encoding is not stable")
		}
		for _, e := range vals {
			_ = e.val.any() // every decoded value converts back without panicking
		}
	})
}

// TestWriteSeeds regenerates the seed corpus when SESSIONGUARD_WRITE_SEEDS
// is set; otherwise it checks that the seeds still decode as they did.
func TestWriteSeeds(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var vs values
	for k, v := range map[string]any{"user": "ann", "n": 3, "at": now, "list": []string{"a"}, "b": []byte{1}, "f": 1.5, "ok": true} {
		val, err := valueOf(v)
		if err != nil {
			t.Fatal(err)
		}
		vs.set(k, val)
	}
	vals := encodeValues(vs)
	rec := store.Record{Key: storeKey("x"), Version: 3, UserID: "ann", Created: now, LastSeen: now, AuthTime: now,
		IdleTimeout: time.Minute, Deadline: now.Add(time.Hour), Expires: now.Add(time.Minute), IP: "192.0.2.1",
		UserAgent: "test", Data: vals}
	recBytes, err := rec.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	rotated := rec
	rotated.Successor, rotated.Lineage = storeKey("next"), storeKey("first")
	rotatedBytes, err := rotated.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tok := encodeToken(bytes.Repeat([]byte{0xab}, tokenBytes))
	seeds := map[string][]byte{
		"values/basic":      vals,
		"values/meta":       joinData(recordMeta{flags: metaUnseen | metaReissued}, vals),
		"record/basic":      recBytes,
		"record/rotated":    rotatedBytes,
		"cookie/single":     []byte(DefaultCookieName + "=" + tok),
		"cookie/duplicates": []byte(DefaultCookieName + "=" + tok + "; other=1; " + DefaultCookieName + "=\"" + tok + "\"\n" + DefaultCookieName + "=bad"),
		"cookie/malformed":  []byte(DefaultCookieName + "=;;; =x; " + DefaultCookieName),
	}
	for name, want := range seeds {
		path := filepath.Join("testdata", "seed", name)
		if os.Getenv("SESSIONGUARD_WRITE_SEEDS") != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (regenerate with SESSIONGUARD_WRITE_SEEDS=1)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s changed: the encoding is no longer what stored sessions hold", name)
		}
	}
}
