package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/sessionguard/sessionguard/internal/wire"
)

// recordFormat is the first byte of an encoded [Record]. It changes when the
// layout does, so an old process never misreads a newer record. Each layout
// extends the one before; a record is written in the oldest layout that
// holds it, so records of a deployment without periodic rotation or
// revocations stay readable by older code.
const (
	recordFormat          = 0x53 // 'S', layout 1
	recordFormatSuccessor = 0x54 // 'T', layout 2: layout 1, Successor and Lineage
	recordFormatGrace     = 0x55 // 'U', layout 3: layout 2 and GraceUntil
)

// MaxRecordSize bounds what [Record.UnmarshalBinary] accepts and what
// [Record.MarshalBinary] produces: 16 MiB.
const MaxRecordSize = 16 << 20

// MarshalBinary encodes rec in a compact, versioned binary form, for stores
// that keep records as opaque bytes. Times keep their instant (not their
// location or monotonic reading).
func (rec *Record) MarshalBinary() ([]byte, error) {
	n := 2 + 10*binary.MaxVarintLen64 + len(rec.Key) + len(rec.UserID) + len(rec.IP) +
		len(rec.UserAgent) + len(rec.Data) + len(rec.Successor) + len(rec.Lineage)
	b := make([]byte, 0, n)
	b = append(b, recordFormat)
	b = wire.AppendString(b, rec.Key)
	b = binary.AppendUvarint(b, rec.Version)
	b = wire.AppendString(b, rec.UserID)
	b = wire.AppendTime(b, rec.Created)
	b = wire.AppendTime(b, rec.LastSeen)
	b = wire.AppendTime(b, rec.AuthTime)
	b = binary.AppendVarint(b, int64(rec.IdleTimeout))
	b = wire.AppendTime(b, rec.Deadline)
	b = wire.AppendTime(b, rec.Expires)
	if rec.Persistent {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = wire.AppendString(b, rec.IP)
	b = wire.AppendString(b, rec.UserAgent)
	b = wire.AppendString(b, string(rec.Data))
	grace := !rec.GraceUntil.IsZero()
	if grace || rec.Successor != "" || rec.Lineage != "" {
		b[0] = recordFormatSuccessor
		b = wire.AppendString(b, rec.Successor)
		b = wire.AppendString(b, rec.Lineage)
	}
	if grace {
		b[0] = recordFormatGrace
		b = wire.AppendTime(b, rec.GraceUntil)
	}
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("store: encoded record is %d bytes, over MaxRecordSize", len(b))
	}
	return b, nil
}

// UnmarshalBinary decodes what [Record.MarshalBinary] produced. Any other
// input gives an error wrapping [ErrCorrupt]; it never panics.
func (rec *Record) UnmarshalBinary(b []byte) error {
	if len(b) > MaxRecordSize {
		return fmt.Errorf("%w: %d bytes, over MaxRecordSize", ErrCorrupt, len(b))
	}
	if len(b) == 0 || b[0] < recordFormat || b[0] > recordFormatGrace {
		return fmt.Errorf("%w: unknown format", ErrCorrupt)
	}
	d := wire.NewDecoder(b[1:], ErrCorrupt)
	var r Record
	r.Key = d.String()
	r.Version = d.Uvarint()
	r.UserID = d.String()
	r.Created = d.Time()
	r.LastSeen = d.Time()
	r.AuthTime = d.Time()
	r.IdleTimeout = time.Duration(d.Varint())
	r.Deadline = d.Time()
	r.Expires = d.Time()
	switch d.Byte() {
	case 0:
	case 1:
		r.Persistent = true
	default:
		d.Fail("bad flag")
	}
	r.IP = d.String()
	r.UserAgent = d.String()
	if data := d.Bytes(); len(data) > 0 {
		r.Data = append([]byte(nil), data...)
	}
	if b[0] >= recordFormatSuccessor {
		r.Successor, r.Lineage = d.String(), d.String()
		if b[0] == recordFormatSuccessor && r.Successor == "" && r.Lineage == "" {
			d.Fail("layout 2 without successor or lineage")
		}
	}
	if b[0] == recordFormatGrace {
		r.GraceUntil = d.Time()
		if r.GraceUntil.IsZero() {
			d.Fail("layout 3 without grace")
		}
	}
	if d.Err() == nil && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	if err := d.Err(); err != nil {
		return err
	}
	*rec = r
	return nil
}
