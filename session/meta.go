package session

import (
	"encoding/binary"
	"fmt"

	"github.com/sessionguard/sessionguard/internal/wire"
	"github.com/sessionguard/sessionguard/store"
)

// A record's Data may start with a metadata section that only the session
// layer reads: what it must know about a record that store.Record has no
// field for. Layout:
//
//	'M' (metaFormat), uvarint length, then that many bytes of
//	(uvarint tag, uvarint value) pairs in ascending tag order,
//	then the values as encodeValues writes them ('V'..., or nothing).
//
// A record whose metadata is all zero is written without the section, so
// records written before it existed, and every record that never went
// through a periodic rotation, keep the bytes they always had. Unknown tags
// are skipped when read (and not written back).
const metaFormat = 0x4d // 'M'

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

// splitData returns the metadata of data and the encoded values after it.
func splitData(data []byte) (recordMeta, []byte, error) {
	var md recordMeta
	if len(data) == 0 || data[0] != metaFormat {
		return md, data, nil
	}
	d := wire.NewDecoder(data[1:], store.ErrCorrupt)
	section := d.Bytes()
	if err := d.Err(); err != nil {
		return md, nil, err
	}
	rest := data[len(data)-d.Len():]
	m := wire.NewDecoder(section, store.ErrCorrupt)
	last := uint64(0)
	for m.Len() > 0 && m.Err() == nil {
		tag, val := m.Uvarint(), m.Uvarint()
		if m.Err() == nil && tag <= last {
			m.Fail("metadata tags out of order")
		}
		last = tag
		if tag == metaTagFlags {
			md.flags = val
		}
	}
	if err := m.Err(); err != nil {
		return md, nil, err
	}
	if len(rest) > 0 && rest[0] == metaFormat {
		return md, nil, fmt.Errorf("%w: metadata section repeated", store.ErrCorrupt)
	}
	return md, rest, nil
}

// metaOf returns the metadata of data; a section that does not decode
// reads as none (the values decoder reports the corruption).
func metaOf(data []byte) recordMeta {
	md, _, _ := splitData(data)
	return md
}

// joinData prefixes the encoded values vals with md's section, if any.
func joinData(md recordMeta, vals []byte) []byte {
	if md.flags == 0 {
		return vals
	}
	var section []byte
	section = binary.AppendUvarint(section, metaTagFlags)
	section = binary.AppendUvarint(section, md.flags)
	b := make([]byte, 0, 2+len(section)+len(vals))
	b = append(b, metaFormat)
	b = wire.AppendString(b, string(section))
	return append(b, vals...)
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

// encodeMeta encodes vals after md and enforces MaxDataSize.
func (s *Session) encodeMeta(md recordMeta, vals values) ([]byte, error) {
	data, err := s.encode(vals)
	if err != nil {
		return nil, err
	}
	return joinData(md, data), nil
}
