package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// records in every layout: without rotation, a forwarder's successor and
// lineage, and with a grace window.
func sampleRecords() []*Record {
	now := time.Unix(1_800_000_000, 123)
	base := Record{Key: "4b1d", Version: 3, UserID: "ann", Created: now, LastSeen: now, AuthTime: now,
		IdleTimeout: time.Minute, Deadline: now.Add(time.Hour), Expires: now.Add(time.Minute),
		Persistent: true, IP: "192.0.2.1", UserAgent: "test", Data: []byte{1, 2, 3}}
	lineage := base
	lineage.Lineage = "f00d"
	fwd := lineage
	fwd.Successor, fwd.GraceUntil = "beef", now.Add(30*time.Second)
	return []*Record{&base, &lineage, &fwd}
}

func TestRecordRoundTrip(t *testing.T) {
	for i, rec := range sampleRecords() {
		b, err := rec.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Record
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got.Key != rec.Key || got.Successor != rec.Successor || got.Lineage != rec.Lineage ||
			!got.GraceUntil.Equal(rec.GraceUntil) || !got.Expires.Equal(rec.Expires) ||
			!bytes.Equal(got.Data, rec.Data) || got.Persistent != rec.Persistent {
			t.Errorf("record %d: %+v, want %+v", i, got, rec)
		}
	}
	var r Record
	for _, bad := range [][]byte{nil, {0x52}, {0x56}, {0x55, 0}} {
		if err := r.UnmarshalBinary(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("UnmarshalBinary(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func FuzzRecordUnmarshal(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "seed", "record", "*"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, rec := range sampleRecords() {
		b, err := rec.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Record
		if err := r.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		enc, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var r2 Record
		if err := r2.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if r2.Key != r.Key || r2.Version != r.Version || !bytes.Equal(r2.Data, r.Data) ||
			!r2.Expires.Equal(r.Expires) || r2.UserID != r.UserID || r2.Successor != r.Successor ||
			r2.Lineage != r.Lineage || !r2.GraceUntil.Equal(r.GraceUntil) {
			t.Fatal("record does not round-trip")
		}
	})
}
