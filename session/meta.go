package session

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/sessionguard/sessionguard/internal/wire"
	"github.com/sessionguard/sessionguard/store"
)

// A record's Data may carry metadata that only the session layer reads:
// what it must know about a record that store.Record has no field for. It
// travels as the first entry of the values, under metaKey (which sorts
// before any other key), as a byte string of (uvarint tag, uvarint value)
// pairs in ascending tag order; unknown tags are skipped. decodeValues
// takes it out, so applications never see it, and Put refuses the key.
//
// Why an entry and not a header: a version of this package that predates
// it reads such a record as an ordinary one with one more value, and keeps
// that value when it writes the record, so instances of both versions can
// serve the same store during a rolling deploy. A record whose metadata is
// all zero has no entry, so records written before it existed, and every
// record that never went through a periodic rotation, keep the bytes they
// always had.
const metaKey = reservedPrefix + "meta"

// reservedPrefix begins the keys the session layer keeps among the values.
const reservedPrefix = "\x00sessionguard."

// Metadata tags.
const (
	metaTagFlags = 1
)

// Flags of a record's metadata.
const (
	// metaUnseen marks a record made by a periodic rotation whose token no
	// request has presented yet. The first request that presents it clears
	// it (one conditional write per rotation), which makes "the successor
	// reached a client" a fact the store keeps (invariant I12).
	metaUnseen = 1 << iota
	// metaReissued marks a record made by handing a fresh successor to the
	// holder of an older token whose successors were never seen: its
	// predecessor's token was not shown to be held by anyone.
	metaReissued
)

// recordMeta is the session layer's metadata of one record.
type recordMeta struct {
	flags uint64
}

func (md recordMeta) unseen() bool   { return md.flags&metaUnseen != 0 }
func (md recordMeta) reissued() bool { return md.flags&metaReissued != 0 }

// splitData returns the metadata of data, and data's values without it in
// the encoding encodeValues writes (nil for none). It checks the metadata
// entry, not the values after it.
func splitData(data []byte) (recordMeta, []byte, error) {
	var md recordMeta
	if len(data) == 0 || data[0] != valuesFormat {
		return md, data, nil // decodeValues reports a bad format
	}
	d := wire.NewDecoder(data[1:], store.ErrCorrupt)
	n := d.Uvarint()
	if d.Err() != nil || n == 0 {
		return md, data, nil
	}
	if key := d.Bytes(); d.Err() != nil || !bytes.Equal(key, []byte(metaKey)) {
		return md, data, nil
	}
	if kind(d.Byte()) != kBytes {
		d.Fail("metadata entry of the wrong kind")
	}
	section := d.Bytes()
	if err := d.Err(); err != nil {
		return md, nil, err
	}
	md, err := parseMeta(section)
	if err != nil {
		return md, nil, err
	}
	if n == 1 {
		return md, nil, nil
	}
	rest := data[len(data)-d.Len():]
	vals := make([]byte, 0, 1+binary.MaxVarintLen64+len(rest))
	vals = append(vals, valuesFormat)
	vals = binary.AppendUvarint(vals, n-1)
	return md, append(vals, rest...), nil
}

func parseMeta(section []byte) (recordMeta, error) {
	var md recordMeta
	d := wire.NewDecoder(section, store.ErrCorrupt)
	last := uint64(0)
	for d.Len() > 0 && d.Err() == nil {
		tag, val := d.Uvarint(), d.Uvarint()
		if d.Err() == nil && tag <= last {
			d.Fail("metadata tags out of order")
		}
		last = tag
		if tag == metaTagFlags {
			md.flags = val
		}
	}
	return md, d.Err()
}

// metaOf returns the metadata of data; an entry that does not decode
// reads as none (decodeValues reports the corruption).
func metaOf(data []byte) recordMeta {
	md, _, _ := splitData(data)
	return md
}

// joinData adds md to vals, values as encodeValues writes them.
func joinData(md recordMeta, vals []byte) []byte {
	if md.flags == 0 {
		return vals
	}
	n, entries := uint64(0), []byte(nil)
	if len(vals) > 0 {
		// vals comes from encodeValues: 'V', a uvarint count, the entries.
		c, k := binary.Uvarint(vals[1:])
		n, entries = c, vals[1+k:]
	}
	var section []byte
	section = binary.AppendUvarint(section, metaTagFlags)
	section = binary.AppendUvarint(section, md.flags)
	b := make([]byte, 0, 3+2*binary.MaxVarintLen64+len(metaKey)+len(section)+len(entries))
	b = append(b, valuesFormat)
	b = binary.AppendUvarint(b, n+1)
	b = wire.AppendString(b, metaKey)
	b = append(b, byte(kBytes))
	b = wire.AppendString(b, string(section))
	return append(b, entries...)
}

// withMeta returns data with its metadata replaced by md, the values
// unchanged.
func withMeta(data []byte, md recordMeta) ([]byte, error) {
	_, vals, err := splitData(data)
	if err != nil {
		return nil, err
	}
	return joinData(md, vals), nil
}

// encodeMeta encodes vals with md and enforces MaxDataSize.
func (s *Session) encodeMeta(md recordMeta, vals values) ([]byte, error) {
	data, err := s.encode(vals)
	if err != nil {
		return nil, err
	}
	return joinData(md, data), nil
}

// errReservedKey is returned by Put for a key of the session layer's own.
var errReservedKey = fmt.Errorf("session: keys beginning with %q are reserved", reservedPrefix)
