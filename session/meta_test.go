package session

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sessionguard/sessionguard/store"
)

// The metadata section: records without it read as they always did, one
// with it round-trips, and a malformed one is corrupt, never a panic.
func TestRecordMetaEncoding(t *testing.T) {
	var vs values
	v, err := valueOf("v")
	if err != nil {
		t.Fatal(err)
	}
	vs.set("k", v)
	vals := encodeValues(vs)
	if got := joinData(recordMeta{}, vals); !bytes.Equal(got, vals) {
		t.Fatal("zero metadata changed the encoding")
	}
	cases := []struct {
		name  string
		data  []byte
		flags uint64
		vals  []byte
		bad   bool
	}{
		{"no section", vals, 0, vals, false},
		{"empty record", nil, 0, nil, false},
		{"flags", joinData(recordMeta{flags: metaUnseen}, vals), metaUnseen, vals, false},
		{"flags, no values", joinData(recordMeta{flags: metaUnseen | metaReissued}, nil), metaUnseen | metaReissued, nil, false},
		{"unknown tag skipped", append([]byte{metaFormat, 4, 1, 1, 9, 7}, vals...), metaUnseen, vals, false},
		{"empty section", append([]byte{metaFormat, 0}, vals...), 0, vals, false},
		{"tags out of order", append([]byte{metaFormat, 4, 9, 7, 1, 1}, vals...), 0, nil, true},
		{"repeated tag", append([]byte{metaFormat, 4, 1, 1, 1, 2}, vals...), 0, nil, true},
		{"truncated section", []byte{metaFormat, 5, 1, 1}, 0, nil, true},
		{"odd section", append([]byte{metaFormat, 1, 1}, vals...), 0, nil, true},
		{"section twice", append([]byte{metaFormat, 2, 1, 1, metaFormat, 2, 1, 1}, vals...), 0, nil, true},
		{"bare format byte", []byte{metaFormat}, 0, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md, rest, err := splitData(c.data)
			if c.bad {
				if !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("splitData = %v, want ErrCorrupt", err)
				}
				if _, err := decodeValues(c.data); !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("decodeValues = %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil || md.flags != c.flags || !bytes.Equal(rest, c.vals) {
				t.Fatalf("splitData = %v, %x, %v; want %v, %x", md.flags, rest, err, c.flags, c.vals)
			}
			got, err := decodeValues(c.data)
			if want := min(len(c.vals), 1); err != nil || len(got) != want {
				t.Fatalf("decodeValues: %d values, %v; want %d", len(got), err, want)
			}
			again, err := withMeta(c.data, recordMeta{flags: metaReissued})
			if err != nil || metaOf(again).flags != metaReissued {
				t.Fatalf("withMeta: %v", err)
			}
		})
	}
}
