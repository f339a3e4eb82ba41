package session

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
)

// Tokens are 32 bytes from crypto/rand (256 bits; ASVS 3.2.2 asks for at
// least 64 bits of entropy), encoded as unpadded base64url: 43 characters.
const (
	tokenBytes = 32
	tokenLen   = 43 // base64.RawURLEncoding.EncodedLen(tokenBytes)
)

// newToken returns a fresh session token. crypto/rand.Read never fails on
// supported platforms (it crashes the program irrecoverably instead), so
// there is no error to return.
func newToken() string {
	var b [tokenBytes]byte
	_, _ = rand.Read(b[:])
	return encodeToken(b[:])
}

func encodeToken(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func decodeToken(s string, dst []byte) (int, error) {
	if base64.RawURLEncoding.DecodedLen(len(s)) > len(dst) {
		return 0, errors.New("session: token too long")
	}
	return base64.RawURLEncoding.Strict().Decode(dst, []byte(s))
}

// validToken reports whether s has the exact shape of a token this package
// issues: 43 characters of the base64url alphabet that decode to 32 bytes.
// Anything else is rejected before the store is asked.
func validToken(s string) bool {
	if len(s) != tokenLen {
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
	// cookie strings.
	return b64Value[s[tokenLen-1]]&3 == 0
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

// storeKey is what the store sees of a token: the hex SHA-256 (invariant
// I4). A dump of the store gives keys, and a key is not a cookie.
func storeKey(token string) string {
	var in [tokenLen]byte // on the stack: hashing costs no allocation
	var sum [sha256.Size]byte
	if len(token) == tokenLen {
		copy(in[:], token)
		sum = sha256.Sum256(in[:])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}
