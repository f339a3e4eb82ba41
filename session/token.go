package session

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
)

// A token is 32 bytes from crypto/rand (256 bits; ASVS 3.2.2 asks for at
// least 64 bits of entropy), encoded as unpadded base64url: 43 characters.
// With [Config.Keys] set, a 16-byte tag follows the random bytes,
// HMAC-SHA256 of them under the current key's token sub-key, truncated:
// 48 bytes, 64 characters. The tag adds no secret: the 32 random bytes are
// the whole of the token's strength, with or without it (invariant I4).
// Each form has one length and one spelling.
const (
	tokenBytes  = 32
	tokenLen    = 43 // base64.RawURLEncoding.EncodedLen(tokenBytes)
	tagBytes    = 16
	signedBytes = tokenBytes + tagBytes
	signedLen   = 64 // base64.RawURLEncoding.EncodedLen(signedBytes), no padding bits
)

// newToken returns a fresh session token, tagged under the current key
// when keys are configured.
func (m *Manager) newToken() string { return issueToken(m.cfg.Keys) }

// issueToken returns a fresh token, tagged under k's current key if k has
// one. crypto/rand.Read never fails on supported platforms (it crashes the
// program irrecoverably instead), so there is no error to return.
func issueToken(k *Keys) string {
	var b [signedBytes]byte
	_, _ = rand.Read(b[:tokenBytes])
	if k.Len() == 0 {
		return encodeToken(b[:tokenBytes])
	}
	k.token[0].tag((*[tokenBytes]byte)(b[:tokenBytes]), (*[tagBytes]byte)(b[tokenBytes:]))
	return encodeToken(b[:])
}

func encodeToken(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// validToken reports whether s has the exact shape of a token this package
// issues: 43 characters of the base64url alphabet that decode to 32 bytes,
// or 64 that decode to 48. Anything else is rejected before the store is
// asked.
func validToken(s string) bool {
	if len(s) != tokenLen && len(s) != signedLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b64Value[s[i]] < 0 {
			return false
		}
	}
	// 43 characters carry 258 bits for 256: the last character's two low
	// bits are padding and must be zero. A lenient decoder would accept four
	// spellings of one token, which would let one token hide behind several
	// cookie strings. 64 characters carry exactly 384 bits.
	return len(s) == signedLen || b64Value[s[tokenLen-1]]&3 == 0
}

// b64Value maps a base64url character to its 6-bit value, and anything
// else to -1.
var b64Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// A tokenCheck is what a token's tag says before the store is asked.
type tokenCheck uint8

const (
	// tokenUnchecked: the token has no tag (issued before keys were
	// configured), or no keys are configured to check one. Only the store
	// can tell whether it was issued.
	tokenUnchecked tokenCheck = iota
	// tokenIssued: the tag verifies under a configured key: this server
	// (or another instance sharing its keys) issued the token.
	tokenIssued
	// tokenForged: the token has a tag that no configured key verifies:
	// invented, or issued under a key since removed.
	tokenForged
)

// checkToken checks tok, a token of valid shape, against k. It does not
// allocate.
func checkToken(k *Keys, tok string) tokenCheck {
	if len(tok) != signedLen || k.Len() == 0 {
		return tokenUnchecked
	}
	var b [signedBytes]byte
	if !decodeSigned(tok, &b) {
		return tokenForged
	}
	random, tag := (*[tokenBytes]byte)(b[:tokenBytes]), b[tokenBytes:]
	var want [tagBytes]byte
	for i := range k.token {
		k.token[i].tag(random, &want)
		if subtle.ConstantTimeCompare(want[:], tag) == 1 {
			return tokenIssued
		}
	}
	return tokenForged
}

// decodeSigned decodes a 64-character token into dst without allocating,
// and reports whether every character was base64url.
func decodeSigned(s string, dst *[signedBytes]byte) bool {
	if len(s) != signedLen {
		return false
	}
	for i, o := 0, 0; i < signedLen; i, o = i+4, o+3 {
		var v uint32
		for j := range 4 {
			c := b64Value[s[i+j]]
			if c < 0 {
				return false
			}
			v = v<<6 | uint32(c)
		}
		dst[o], dst[o+1], dst[o+2] = byte(v>>16), byte(v>>8), byte(v)
	}
	return true
}

// A tokenKey is one token sub-key as HMAC-SHA256 uses it: the key XORed
// with the inner and outer pads, so that tagging costs two SHA-256 sums
// on the stack and no allocation.
type tokenKey struct {
	ipad, opad [sha256.BlockSize]byte
}

func newTokenKey(key [KeySize]byte) tokenKey {
	var t tokenKey
	for i := range t.ipad {
		t.ipad[i], t.opad[i] = 0x36, 0x5c
	}
	for i, b := range key {
		t.ipad[i] ^= b
		t.opad[i] ^= b
	}
	return t
}

// tag writes HMAC-SHA256(key, random), truncated, to dst (RFC 2104; a
// tag of 128 bits is the truncation NIST SP 800-107 §5.3.4 allows).
func (t *tokenKey) tag(random *[tokenBytes]byte, dst *[tagBytes]byte) {
	var in [sha256.BlockSize + tokenBytes]byte
	copy(in[:], t.ipad[:])
	copy(in[sha256.BlockSize:], random[:])
	inner := sha256.Sum256(in[:])
	var out [sha256.BlockSize + sha256.Size]byte
	copy(out[:], t.opad[:])
	copy(out[sha256.BlockSize:], inner[:])
	sum := sha256.Sum256(out[:])
	copy(dst[:], sum[:tagBytes])
}

// storeKey is what the store sees of a token: the hex SHA-256 of the whole
// token as the cookie carries it, tag included (invariant I4). A dump of
// the store gives keys, and a key is not a cookie. Tokens issued before
// keys were configured keep their store keys.
func storeKey(token string) string {
	var in [signedLen]byte // on the stack: hashing costs no allocation
	var sum [sha256.Size]byte
	if len(token) <= signedLen {
		n := copy(in[:], token)
		sum = sha256.Sum256(in[:n])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

var errBadTag = errors.New("session cookie with a tag no configured key verifies")

// onlyIssued keeps, in place, the tokens whose tag verifies.
func (m *Manager) onlyIssued(tokens []string) []string {
	out := tokens[:0]
	for _, tok := range tokens {
		if checkToken(m.cfg.Keys, tok) == tokenIssued {
			out = append(out, tok)
		}
	}
	return out
}
