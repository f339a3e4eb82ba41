package session

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/sessionguard/sessionguard/internal/wire"
	"github.com/sessionguard/sessionguard/store"
)

// metaEntry builds a values encoding by hand: a metadata entry whose kind
// and section are given, then the entries of vals.
func metaEntry(k kind, section []byte, vals []byte) []byte {
	n, entries := uint64(0), []byte(nil)
	if len(vals) > 0 {
		c, w := binary.Uvarint(vals[1:])
		n, entries = c, vals[1+w:]
	}
	b := []byte{valuesFormat}
	b = binary.AppendUvarint(b, n+1)
	b = wire.AppendString(b, metaKey)
	b = append(b, byte(k))
	b = wire.AppendString(b, string(section))
	return append(b, entries...)
}

// The metadata entry: records without it read as they always did, one
// with it round-trips and never shows among the values, and a malformed
// one is corrupt, never a panic.
func TestRecordMetaEncoding(t *testing.T) {
	var vs values
	for _, k := range []string{"a", "k"} {
		v, err := valueOf("v")
		if err != nil {
			t.Fatal(err)
		}
		vs.set(k, v)
	}
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
		{"no metadata", vals, 0, vals, false},
		{"empty record", nil, 0, nil, false},
		{"flags", joinData(recordMeta{flags: metaUnseen}, vals), metaUnseen, vals, false},
		{"flags, no values", joinData(recordMeta{flags: metaUnseen | metaReissued}, nil), metaUnseen | metaReissued, nil, false},
		{"unknown tag skipped", metaEntry(kBytes, []byte{1, 1, 9, 7}, vals), metaUnseen, vals, false},
		{"empty section", metaEntry(kBytes, nil, vals), 0, vals, false},
		{"tags out of order", metaEntry(kBytes, []byte{9, 7, 1, 1}, vals), 0, nil, true},
		{"repeated tag", metaEntry(kBytes, []byte{1, 1, 1, 2}, vals), 0, nil, true},
		{"odd section", metaEntry(kBytes, []byte{1}, vals), 0, nil, true},
		{"wrong kind", metaEntry(kString, []byte{1, 1}, vals), 0, nil, true},
		{"truncated section", metaEntry(kBytes, []byte{1, 1}, nil)[:len(metaKey)+5], 0, nil, true},
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
			if err != nil || !bytes.Equal(encodeValues(got), c.vals) {
				t.Fatalf("decodeValues: %v, %v", got, err)
			}
			again, err := withMeta(c.data, recordMeta{flags: metaReissued})
			if err != nil || metaOf(again).flags != metaReissued {
				t.Fatalf("withMeta: %v", err)
			}
			if _, rest, _ := splitData(again); !bytes.Equal(rest, c.vals) {
				t.Fatal("withMeta changed the values")
			}
		})
	}
}

// A version of this package that predates the metadata reads a record that
// has it as one with an extra value, and writes it back: the entry is a
// valid value of the format it knows.
func TestRecordMetaReadableAsAValue(t *testing.T) {
	data := joinData(recordMeta{flags: metaUnseen}, nil)
	d := wire.NewDecoder(data[1:], store.ErrCorrupt)
	if n := d.Uvarint(); n != 1 || d.String() != metaKey {
		t.Fatal("metadata is not the first entry")
	}
	if v := decodeValue(d); d.Err() != nil || v.k != kBytes || d.Len() != 0 {
		t.Fatalf("metadata entry is not a byte string value: %v", d.Err())
	}
}
