package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrCorrupt is returned (wrapped) when a record or its values cannot be
// decoded. The [Manager] treats it as a store failure and fails closed
// (invariant I9): a record it cannot read is never replaced by an empty one.
var ErrCorrupt = errors.New("session: corrupt record")

// recordFormat is the first byte of an encoded [Record]. It changes when the
// layout does, so an old process never misreads a newer record. Layout 2
// appends Successor and Lineage; a record without either (every record when
// periodic rotation is off) is still written in layout 1.
const (
	recordFormat          = 0x53 // 'S', layout 1
	recordFormatSuccessor = 0x54 // 'T', layout 2: layout 1 and Successor
)

// MaxRecordSize bounds what [Record.UnmarshalBinary] accepts and what
// [Record.MarshalBinary] produces: 16 MiB.
const MaxRecordSize = 16 << 20

// MarshalBinary encodes rec in a compact, versioned binary form, for stores
// that keep records as opaque bytes. Times keep their instant (not their
// location or monotonic reading).
func (rec *Record) MarshalBinary() ([]byte, error) {
	n := 1 + 8*binary.MaxVarintLen64 + len(rec.Key) + len(rec.UserID) + len(rec.IP) +
		len(rec.UserAgent) + len(rec.Data) + 1
	b := make([]byte, 0, n)
	b = append(b, recordFormat)
	b = appendString(b, rec.Key)
	b = binary.AppendUvarint(b, rec.Version)
	b = appendString(b, rec.UserID)
	b = appendTime(b, rec.Created)
	b = appendTime(b, rec.LastSeen)
	b = appendTime(b, rec.AuthTime)
	b = binary.AppendVarint(b, int64(rec.IdleTimeout))
	b = appendTime(b, rec.Deadline)
	b = appendTime(b, rec.Expires)
	if rec.Persistent {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendString(b, rec.IP)
	b = appendString(b, rec.UserAgent)
	b = appendString(b, string(rec.Data))
	if rec.Successor != "" || rec.Lineage != "" {
		b[0] = recordFormatSuccessor
		b = appendString(b, rec.Successor)
		b = appendString(b, rec.Lineage)
	}
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("session: encoded record is %d bytes, over MaxRecordSize", len(b))
	}
	return b, nil
}

// UnmarshalBinary decodes what [Record.MarshalBinary] produced. Any other
// input gives an error wrapping [ErrCorrupt]; it never panics.
func (rec *Record) UnmarshalBinary(b []byte) error {
	if len(b) > MaxRecordSize {
		return fmt.Errorf("%w: %d bytes, over MaxRecordSize", ErrCorrupt, len(b))
	}
	if len(b) == 0 || (b[0] != recordFormat && b[0] != recordFormatSuccessor) {
		return fmt.Errorf("%w: unknown format", ErrCorrupt)
	}
	d := decoder{b: b[1:]}
	var r Record
	r.Key = d.string()
	r.Version = d.uvarint()
	r.UserID = d.string()
	r.Created = d.time()
	r.LastSeen = d.time()
	r.AuthTime = d.time()
	r.IdleTimeout = time.Duration(d.varint())
	r.Deadline = d.time()
	r.Expires = d.time()
	switch d.byte() {
	case 0:
	case 1:
		r.Persistent = true
	default:
		d.fail("bad flag")
	}
	r.IP = d.string()
	r.UserAgent = d.string()
	if data := d.bytes(); len(data) > 0 {
		r.Data = append([]byte(nil), data...)
	}
	if b[0] == recordFormatSuccessor {
		r.Successor, r.Lineage = d.string(), d.string()
		if r.Successor == "" && r.Lineage == "" {
			d.fail("layout 2 without successor or lineage")
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return d.err
	}
	*rec = r
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTime encodes t as a presence byte and Unix nanoseconds, so that the
// zero time survives a round trip.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	return binary.AppendVarint(b, t.UnixNano())
}

// decoder reads the encodings above. The first error sticks; later reads
// return zero values, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns a length-prefixed slice aliasing the input.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length past end")
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) fixed64() uint64 {
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) float64() float64 { return math.Float64frombits(d.fixed64()) }

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, d.varint())
	default:
		d.fail("bad time flag")
		return time.Time{}
	}
}
