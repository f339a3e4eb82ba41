// Package wire holds the primitives of the compact binary encodings the
// library writes: session records (package store) and session values
// (package session). Both use length-prefixed strings, varints and
// presence-flagged times, and both must reject malformed input without
// panicking, so the reading side lives here once.
package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// AppendString appends s with its length as a uvarint prefix.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendTime encodes t as a presence byte and Unix nanoseconds, so that the
// zero time survives a round trip.
func AppendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	return binary.AppendVarint(b, t.UnixNano())
}

// A Decoder reads the encodings above. The first error sticks; later reads
// return zero values, so callers check Err once at the end.
type Decoder struct {
	b       []byte
	err     error
	corrupt error
}

// NewDecoder returns a Decoder over b whose errors wrap corrupt.
func NewDecoder(b []byte, corrupt error) *Decoder {
	return &Decoder{b: b, corrupt: corrupt}
}

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Len returns the number of bytes not yet read.
func (d *Decoder) Len() int { return len(d.b) }

// Fail records an error saying what was wrong, unless one is recorded
// already, and stops every later read.
func (d *Decoder) Fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", d.corrupt, what)
	}
	d.b = nil
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if len(d.b) < 1 {
		d.Fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (d *Decoder) Uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.Fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Varint reads a signed varint.
func (d *Decoder) Varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.Fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Bytes reads a length-prefixed slice. The slice aliases the input.
func (d *Decoder) Bytes() []byte {
	n := d.Uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.Fail("length past end")
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

// String reads a length-prefixed string.
func (d *Decoder) String() string { return string(d.Bytes()) }

// Fixed64 reads a little-endian uint64.
func (d *Decoder) Fixed64() uint64 {
	if len(d.b) < 8 {
		d.Fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// Float64 reads a float64 stored as Fixed64 bits.
func (d *Decoder) Float64() float64 { return math.Float64frombits(d.Fixed64()) }

// Time reads what AppendTime wrote.
func (d *Decoder) Time() time.Time {
	switch d.Byte() {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(0, d.Varint())
	default:
		d.Fail("bad time flag")
		return time.Time{}
	}
}
