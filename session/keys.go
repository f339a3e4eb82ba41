package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// KeySize is the size in bytes of each secret key of a [Keys] set.
const KeySize = 32

// MaxKeys bounds the keys of one [Keys] set: each is tried when a tag is
// checked, so a forged token costs at most this many HMACs.
const MaxKeys = 8

// ErrKeys is wrapped by every error [NewKeys], [ParseKeys], [ReadKeysFile]
// and [KeysFromEnv] return. No error ever holds key material.
var ErrKeys = errors.New("session: invalid keys")

// Keys is a set of secret keys shared by every instance of an application:
// one current key, which signs, and older keys, which still verify, so
// that keys can be rotated without signing anyone out. Set it as
// [Config.Keys] and every token the [Manager] issues carries a tag (a
// truncated HMAC-SHA256) that lets any instance tell a token it issued
// from an invented one without asking the store; see the package
// documentation's Keys section.
//
// The same set serves the application: [Keys.Derive] gives an independent
// set for each purpose (signed URLs, end-of-session notices, CSRF tokens),
// so that one key file covers the library and the application and a tag
// made for one purpose never verifies for another.
//
// A Keys is immutable and safe for concurrent use. The zero value holds no
// key; [New] refuses it. Make one with [NewKeys], [ParseKeys],
// [ReadKeysFile] or [KeysFromEnv].
type Keys struct {
	secrets [][KeySize]byte // secrets[0] is the current key
	token   []tokenKey      // the token sub-key of each, in the same order
}

// tokenPurpose is the purpose of the sub-keys that tag session tokens.
// Purposes beginning with "sessionguard/" are reserved for the library.
const tokenPurpose = "sessionguard/session-token/v1"

// NewKeys returns a key set whose current key is current and whose older
// keys, still accepted by [Keys.Verify] and for tokens, are old. Each key
// must be [KeySize] random bytes (from crypto/rand, or `openssl rand
// -base64 32`); a key given twice, or more than [MaxKeys] keys, is an
// error. The bytes are copied.
func NewKeys(current []byte, old ...[]byte) (*Keys, error) {
	all := append([][]byte{current}, old...)
	if len(all) > MaxKeys {
		return nil, fmt.Errorf("%w: %d keys, at most %d", ErrKeys, len(all), MaxKeys)
	}
	k := &Keys{secrets: make([][KeySize]byte, len(all))}
	for i, b := range all {
		if len(b) != KeySize {
			return nil, fmt.Errorf("%w: key %d is %d bytes, want %d", ErrKeys, i+1, len(b), KeySize)
		}
		copy(k.secrets[i][:], b)
		for j := range i {
			if k.secrets[j] == k.secrets[i] {
				return nil, fmt.Errorf("%w: key %d repeats key %d", ErrKeys, i+1, j+1)
			}
		}
	}
	k.deriveTokenKeys()
	return k, nil
}

func (k *Keys) deriveTokenKeys() {
	k.token = make([]tokenKey, len(k.secrets))
	for i := range k.secrets {
		k.token[i] = newTokenKey(derive(&k.secrets[i], tokenPurpose))
	}
}

// ParseKeys parses a key set written as text, the format of a key file or
// of an environment variable: keys in base64 (standard or URL alphabet,
// padded or not), separated by newlines, spaces or commas; the first is
// the current key, the others older keys still accepted. A line whose
// first non-blank character is '#' is a comment. For example:
//
//	# current, since 2026-12-01
//	q5n0v3VJ8z0kJ3b2Yz1mQm9vZkV4YW1wbGVLZXkxMjM=
//	# previous: remove once every session issued under it has ended
//	bWFkZS11cC1leGFtcGxlLWtleS1ub3QtYS1yZWFsLW9uZQ==
//
// A new key comes from `openssl rand -base64 32` or
// `head -c 32 /dev/urandom | base64`.
func ParseKeys(text string) (*Keys, error) {
	var keys [][]byte
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, f := range strings.FieldsFunc(line, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\r'
		}) {
			b, err := decodeKey(f)
			if err != nil {
				return nil, fmt.Errorf("%w: key %d is not base64", ErrKeys, len(keys)+1)
			}
			keys = append(keys, b)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key found", ErrKeys)
	}
	return NewKeys(keys[0], keys[1:]...)
}

// decodeKey decodes one key in any of the four base64 spellings.
func decodeKey(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

// ReadKeysFile parses the key file at path with [ParseKeys]. Keep the file
// readable by the application's user alone (mode 0600): whoever reads it
// can tag tokens and sign as the application.
func ReadKeysFile(path string) (*Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeys, err)
	}
	k, err := ParseKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// KeysFromEnv parses the environment variable name with [ParseKeys]:
// comma- or space-separated base64 keys, the current one first. An unset
// or empty variable is an error, so that a deployment that forgot it fails
// at start-up instead of running without keys.
func KeysFromEnv(name string) (*Keys, error) {
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: environment variable %s is not set", ErrKeys, name)
	}
	k, err := ParseKeys(v)
	if err != nil {
		return nil, fmt.Errorf("%w (in $%s)", err, name)
	}
	return k, nil
}

// Len returns the number of keys in the set, the current one included.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.secrets)
}

// Derive returns the key set for one purpose, such as "myapp/signed-url":
// each key is HMAC-SHA256(key, "sessionguard derive\x00" || purpose) of
// the matching key of k, so the
// derived set rotates with k and a tag made under one purpose never
// verifies under another. Purposes beginning with "sessionguard/" are
// reserved for this module. Derive is deterministic: every instance with
// the same keys derives the same set. A set with no key (nil or the zero
// value) derives a set with no key, which signs nothing and verifies
// nothing.
func (k *Keys) Derive(purpose string) *Keys {
	d := &Keys{secrets: make([][KeySize]byte, k.Len())}
	for i := range d.secrets {
		d.secrets[i] = derive(&k.secrets[i], purpose)
	}
	d.deriveTokenKeys()
	return d
}

func derive(secret *[KeySize]byte, purpose string) (out [KeySize]byte) {
	mac := hmac.New(sha256.New, secret[:])
	mac.Write([]byte(derivePrefix))
	mac.Write([]byte(purpose))
	copy(out[:], mac.Sum(nil))
	return out
}

// Sign returns the signature of data under the current key: 32 bytes of
// HMAC-SHA256(key, "sessionguard sign\x00" || data), or nil for a set with
// no key (the zero value). The prefix keeps every signature apart from
// the keys [Keys.Derive] makes, so signing data an attacker chose never
// reveals a sub-key. Use a set from Derive with a purpose of your own,
// never the root set, so that signatures of different kinds cannot be
// swapped.
func (k *Keys) Sign(data []byte) []byte {
	if k.Len() == 0 {
		return nil
	}
	return sign(&k.secrets[0], data)
}

// Verify reports whether sig is the signature [Keys.Sign] makes of data
// under any key of the set, current or older, in constant time for each
// key.
func (k *Keys) Verify(data, sig []byte) bool {
	if k == nil || len(sig) != sha256.Size {
		return false
	}
	ok := 0
	for i := range k.secrets {
		ok |= subtle.ConstantTimeCompare(sign(&k.secrets[i], data), sig)
	}
	return ok == 1
}

func sign(secret *[KeySize]byte, data []byte) []byte {
	mac := hmac.New(sha256.New, secret[:])
	mac.Write([]byte(signPrefix))
	mac.Write(data)
	return mac.Sum(nil)
}

// The inputs of Sign and Derive begin differently, so that no signature
// is ever a derived key.
const (
	signPrefix   = "sessionguard sign\x00"
	derivePrefix = "sessionguard derive\x00"
)

// String names the set without revealing it, so that a Keys printed by
// mistake (a logged Config) leaks nothing.
func (k Keys) String() string { return fmt.Sprintf("session.Keys(%d keys)", len(k.secrets)) }

// GoString is String, for %#v.
func (k Keys) GoString() string { return k.String() }

// LogValue is String, for log/slog.
func (k Keys) LogValue() slog.Value { return slog.StringValue(k.String()) }
