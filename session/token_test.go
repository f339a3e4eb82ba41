package session

import (
	"bytes"
	"crypto/hmac"
	"testing"
)

// TestTokenTagIsHMAC: the stack-only tag is HMAC-SHA256 under the token
// sub-key, truncated, for every key of a set; issuing tags under the
// current key only.
func TestTokenTagIsHMAC(t *testing.T) {
	for i := range 50 {
		random := bytes.Repeat([]byte{byte(i)}, tokenBytes)
		for j := range fuzzKeys.token {
			var got [tagBytes]byte
			fuzzKeys.token[j].tag((*[tokenBytes]byte)(random), &got)
			if !hmac.Equal(got[:], refTag(fuzzKeys, j, random)) {
				t.Fatalf("key %d: tag differs from crypto/hmac", j)
			}
		}
	}
	tok := issueToken(fuzzKeys)
	var b [signedBytes]byte
	if len(tok) != signedLen || !decodeSigned(tok, &b) || !hmac.Equal(b[tokenBytes:], refTag(fuzzKeys, 0, b[:tokenBytes])) {
		t.Fatalf("issued token %q is not tagged under the current key", tok)
	}
}

// TestCheckTokenCostsNoAllocation: checking a tag on the request path
// allocates nothing, whatever the verdict.
func TestCheckTokenCostsNoAllocation(t *testing.T) {
	cases := map[string]string{
		"issued":   issueToken(fuzzKeys),
		"forged":   encodeToken(make([]byte, signedBytes)),
		"untagged": issueToken(nil),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { checkToken(fuzzKeys, tok) }); n != 0 {
				t.Fatalf("%v allocations", n)
			}
		})
	}
}

// TestSignNeverRevealsASubKey: signing, under the root set, the very input
// a derivation uses gives something other than the derived key, so an
// application that signs data an attacker chose leaks no token sub-key.
func TestSignNeverRevealsASubKey(t *testing.T) {
	sub := derive(&fuzzKeys.secrets[0], tokenPurpose)
	if bytes.Equal(fuzzKeys.Sign([]byte("sessionguard derive\x00"+tokenPurpose)), sub[:]) {
		t.Fatal("Sign of a derivation's input is the derived key")
	}
	for _, data := range []string{"", tokenPurpose, derivePrefix + tokenPurpose} {
		if bytes.Equal(fuzzKeys.Sign([]byte(data)), sub[:]) {
			t.Fatalf("Sign(%q) is the token sub-key", data)
		}
	}
}

// BenchmarkCheckToken measures the tag check of a request's token: the
// cost Config.Keys adds to every request, and all a forged token costs.
func BenchmarkCheckToken(b *testing.B) {
	tok := issueToken(fuzzKeys)
	b.ReportAllocs()
	for b.Loop() {
		checkToken(fuzzKeys, tok)
	}
}
