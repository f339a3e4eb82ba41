package session

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
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

// fuzzKeys is the key set of the token fuzz tests and seeds: fixed, so
// that the seeds stay meaningful.
var fuzzKeys = func() *Keys {
	k, err := NewKeys(bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize))
	if err != nil {
		panic(err)
	}
	return k
}()

// refTag is the token tag computed with crypto/hmac, against which the
// stack-only implementation is checked.
func refTag(k *Keys, i int, random []byte) []byte {
	sub := derive(&k.secrets[i], tokenPurpose)
	mac := hmac.New(sha256.New, sub[:])
	mac.Write(random)
	return mac.Sum(nil)[:tagBytes]
}

func FuzzToken(f *testing.F) {
	seedStrings(f, "token")
	f.Add(issueToken(nil))
	f.Add(issueToken(fuzzKeys))
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("_", 64))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var raw [signedBytes + 3]byte
		n, err := decodeToken(s, raw[:])
		canonical := err == nil && (n == tokenBytes || n == signedBytes) && encodeToken(raw[:n]) == s
		if validToken(s) != canonical {
			t.Fatalf("validToken(%q) = %v, but canonical decoding says %v", s, validToken(s), canonical)
		}
		if got := storeKey(s); got != hex.EncodeToString(sha256Of(s)) {
			t.Fatalf("storeKey(%q) is not the hex SHA-256 of the token", s)
		}
		if !validToken(s) {
			return
		}
		// A valid token has exactly one spelling.
		if len(s) != tokenLen && len(s) != signedLen {
			t.Fatalf("valid token of length %d", len(s))
		}
		if c := checkToken(nil, s); c != tokenUnchecked {
			t.Fatalf("without keys, %q checks as %d", s, c)
		}
		want := tokenUnchecked
		if n == signedBytes {
			want = tokenForged
			for i := range fuzzKeys.secrets {
				if hmac.Equal(refTag(fuzzKeys, i, raw[:tokenBytes]), raw[tokenBytes:n]) {
					want = tokenIssued
				}
			}
		}
		if got := checkToken(fuzzKeys, s); got != want {
			t.Fatalf("checkToken(%q) = %d, want %d", s, got, want)
		}
	})
}

func FuzzParseKeys(f *testing.F) {
	seedStrings(f, "keys")
	f.Add("")
	f.Add("# only a comment")
	f.Fuzz(func(t *testing.T, text string) {
		k, err := ParseKeys(text)
		if err != nil {
			if !errors.Is(err, ErrKeys) {
				t.Fatalf("error %v does not wrap ErrKeys", err)
			}
			for _, field := range strings.Fields(text) {
				if len(field) >= 8 && strings.Contains(err.Error(), field) {
					t.Fatalf("the error %q repeats the input", err)
				}
			}
			return
		}
		if k.Len() < 1 || k.Len() > MaxKeys || len(k.token) != k.Len() {
			t.Fatalf("parsed %d keys (%d token keys)", k.Len(), len(k.token))
		}
		if !k.Verify([]byte("x"), k.Sign([]byte("x"))) {
			t.Fatal("a parsed set does not verify its own signature")
		}
		if tok := issueToken(k); checkToken(k, tok) != tokenIssued {
			t.Fatal("a parsed set does not verify its own token")
		}
	})
}

func sha256Of(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// seedStrings adds every file of testdata/seed/<dir> to f's corpus as a
// string.
func seedStrings(f *testing.F, dir string) {
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
		f.Add(string(b))
	}
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
	random := bytes.Repeat([]byte{0xcd}, tokenBytes)
	signed := encodeToken(append(append([]byte(nil), random...), refTag(fuzzKeys, 0, random)...))
	signedOld := encodeToken(append(append([]byte(nil), random...), refTag(fuzzKeys, 1, random)...))
	forged := encodeToken(append(append([]byte(nil), random...), make([]byte, tagBytes)...))
	seeds := map[string][]byte{
		"values/basic":      vals,
		"values/meta":       joinData(recordMeta{flags: metaUnseen | metaReissued}, vals),
		"record/basic":      recBytes,
		"record/rotated":    rotatedBytes,
		"cookie/single":     []byte(DefaultCookieName + "=" + tok),
		"cookie/duplicates": []byte(DefaultCookieName + "=" + tok + "; other=1; " + DefaultCookieName + "=\"" + tok + "\"\n" + DefaultCookieName + "=bad"),
		"cookie/malformed":  []byte(DefaultCookieName + "=;;; =x; " + DefaultCookieName),
		"cookie/signed":     []byte(DefaultCookieName + "=" + signed + "; " + DefaultCookieName + "=" + tok),
		"token/unsigned":    []byte(tok),
		"token/signed":      []byte(signed),
		"token/signed-old":  []byte(signedOld),
		"token/forged":      []byte(forged),
		"keys/two":          []byte("# current\n" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize)) + "\n# old\n" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{2}, KeySize)) + "\n"),
		"keys/env":          []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, KeySize)) + "," + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{4}, KeySize))),
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

func decodeToken(s string, dst []byte) (int, error) {
	if base64.RawURLEncoding.DecodedLen(len(s)) > len(dst) {
		return 0, errors.New("session: token too long")
	}
	return base64.RawURLEncoding.Strict().Decode(dst, []byte(s))
}
