package session

import (
	"testing"
	"time"
)

// FuzzEndNote: whatever a cookie holds, decoding it never panics, and a
// note is believed only if it is the one this Manager signed, byte for
// byte: a changed reason, expiry or fingerprint does not verify.
func FuzzEndNote(f *testing.F) {
	k, err := endNoteKeys(nil)
	if err != nil {
		f.Fatal(err)
	}
	m := &Manager{endKeys: k}
	now := time.Unix(1_800_000_000, 0)
	valid := m.encodeEndNote(EndCredentialsChanged, "abcdef012345", now.Add(EndedNoteTTL))
	f.Add(valid)
	f.Add("")
	f.Add(valid[:len(valid)-1] + "A")
	f.Fuzz(func(t *testing.T, v string) {
		r := m.decodeEndNote(v, now)
		if r != EndNone && v != valid {
			t.Fatalf("a note never signed is believed: %q -> %v", v, r)
		}
		if v == valid && r != EndCredentialsChanged {
			t.Fatalf("the signed note reads %v", r)
		}
		_ = unmaskCSRF(v)
	})
}
