package session

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/internal/wire"
	"github.com/sessionguard/sessionguard/store"
)

// Session values are encoded with a small tagged format, not encoding/gob:
// decoding a loaded record is a single pass with one allocation per value,
// and the format carries no type descriptors a hostile record could use to
// make the decoder work hard.
//
// Supported without registration: string, []byte, bool, int, int8, int16,
// int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64,
// time.Time, time.Duration and []string. Other types are stored as JSON once
// registered with [RegisterJSON].

// ErrUnsupportedType is returned by [Session.Put] for a value whose type is
// neither built in nor registered with [RegisterJSON].
var ErrUnsupportedType = errors.New("session: unsupported value type")

// ErrUndecodable is wrapped by the error [Value] returns for a value that
// was stored in a session but no longer decodes: its JSON type was not
// registered by this program, or its JSON no longer fits the registered
// type (a field changed type in a deploy). The session itself still loads;
// only that key is unreadable until it is overwritten or deleted, and an
// [EventBadValue] is raised when the session is loaded.
var ErrUndecodable = errors.New("session: stored value cannot be decoded")

const valuesFormat = 0x56 // 'V', layout 1

type kind byte

const (
	kString kind = iota + 1
	kBytes
	kBool
	kInt
	kInt8
	kInt16
	kInt32
	kInt64
	kUint
	kUint8
	kUint16
	kUint32
	kUint64
	kFloat32
	kFloat64
	kTime
	kDuration
	kStrings
	kJSON
)

var jsonTypes struct {
	sync.RWMutex
	byName map[string]reflect.Type
	byType map[reflect.Type]string
}

// RegisterJSON makes values of type T storable in a session, encoded with
// encoding/json under name. The name, not the Go type name, is what is
// stored, so renaming the type does not break existing sessions; the name
// must be unique and stay the same for the life of the stored sessions.
// [Value] returns a T (not a *T). Call it from an init function. It panics if
// name or T is already registered, or T is a built-in type.
//
// RegisterJSON is safe for concurrent use.
func RegisterJSON[T any](name string) {
	t := reflect.TypeFor[T]()
	if name == "" {
		panic("session: RegisterJSON with an empty name")
	}
	if v, err := valueOf(reflect.Zero(t).Interface()); err == nil && v.k != kJSON {
		panic(fmt.Sprintf("session: RegisterJSON(%q): %v is built in", name, t))
	}
	jsonTypes.Lock()
	defer jsonTypes.Unlock()
	if jsonTypes.byName == nil {
		jsonTypes.byName = map[string]reflect.Type{}
		jsonTypes.byType = map[reflect.Type]string{}
	}
	if prev, ok := jsonTypes.byName[name]; ok {
		panic(fmt.Sprintf("session: RegisterJSON: name %q already used by %v", name, prev))
	}
	if prev, ok := jsonTypes.byType[t]; ok {
		panic(fmt.Sprintf("session: RegisterJSON: %v already registered as %q", t, prev))
	}
	jsonTypes.byName[name] = t
	jsonTypes.byType[t] = name
}

// value is one session value, held without boxing for the common kinds so
// that reading a string or a number costs no allocation.
type value struct {
	k   kind
	n   uint64 // bool, integers, float bits, duration
	s   string // string; type name for kJSON
	x   any    // []byte, time.Time, []string, the value of a kJSON type
	raw []byte // the JSON encoding of a kJSON value
	// err is set on a kJSON value that no longer decodes (its type was
	// unregistered, or changed shape in a deploy). The value is kept as it
	// was stored, so a later save writes it back unchanged, and only its
	// key reports the error: the rest of the session stays usable.
	err error
}

// valueOf converts what the application stores into a value. Slices are
// copied, so later changes by the caller do not reach the session.
func valueOf(v any) (value, error) {
	switch x := v.(type) {
	case string:
		return value{k: kString, s: x}, nil
	case []byte:
		return value{k: kBytes, x: slices.Clone(x)}, nil
	case bool:
		if x {
			return value{k: kBool, n: 1}, nil
		}
		return value{k: kBool}, nil
	case int:
		return value{k: kInt, n: uint64(x)}, nil
	case int8:
		return value{k: kInt8, n: uint64(x)}, nil
	case int16:
		return value{k: kInt16, n: uint64(x)}, nil
	case int32:
		return value{k: kInt32, n: uint64(x)}, nil
	case int64:
		return value{k: kInt64, n: uint64(x)}, nil
	case uint:
		return value{k: kUint, n: uint64(x)}, nil
	case uint8:
		return value{k: kUint8, n: uint64(x)}, nil
	case uint16:
		return value{k: kUint16, n: uint64(x)}, nil
	case uint32:
		return value{k: kUint32, n: uint64(x)}, nil
	case uint64:
		return value{k: kUint64, n: x}, nil
	case float32:
		return value{k: kFloat32, n: uint64(math.Float32bits(x))}, nil
	case float64:
		return value{k: kFloat64, n: math.Float64bits(x)}, nil
	case time.Time:
		if _, err := x.MarshalBinary(); err != nil {
			return value{}, fmt.Errorf("session: %w", err)
		}
		return value{k: kTime, x: x}, nil
	case time.Duration:
		return value{k: kDuration, n: uint64(x)}, nil
	case []string:
		return value{k: kStrings, x: slices.Clone(x)}, nil
	}
	t := reflect.TypeOf(v)
	jsonTypes.RLock()
	name, ok := jsonTypes.byType[t]
	jsonTypes.RUnlock()
	if !ok {
		return value{}, fmt.Errorf("%w: %v (register it with RegisterJSON)", ErrUnsupportedType, t)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return value{}, fmt.Errorf("session: encoding %v as JSON: %w", t, err)
	}
	return value{k: kJSON, s: name, x: v, raw: js}, nil
}

// any returns the value as the application stored it.
func (v value) any() any {
	switch v.k {
	case kString:
		return v.s
	case kBytes:
		return slices.Clone(v.x.([]byte))
	case kBool:
		return v.n != 0
	case kInt:
		return int(v.n)
	case kInt8:
		return int8(v.n)
	case kInt16:
		return int16(v.n)
	case kInt32:
		return int32(v.n)
	case kInt64:
		return int64(v.n)
	case kUint:
		return uint(v.n)
	case kUint8:
		return uint8(v.n)
	case kUint16:
		return uint16(v.n)
	case kUint32:
		return uint32(v.n)
	case kUint64:
		return v.n
	case kFloat32:
		return math.Float32frombits(uint32(v.n))
	case kFloat64:
		return math.Float64frombits(v.n)
	case kDuration:
		return time.Duration(v.n)
	case kStrings:
		return slices.Clone(v.x.([]string))
	case kTime, kJSON:
		return v.x
	}
	return nil
}

type entry struct {
	key string
	val value
}

// values is a session's values, sorted by key: one allocation to decode,
// binary search to read, and already in the order they are encoded in.
type values []entry

func (vs values) find(key string) (int, bool) {
	return slices.BinarySearchFunc(vs, key, func(e entry, k string) int { return strings.Compare(e.key, k) })
}

func (vs values) get(key string) (value, bool) {
	if i, ok := vs.find(key); ok {
		return vs[i].val, true
	}
	return value{}, false
}

func (vs *values) set(key string, v value) {
	i, ok := vs.find(key)
	if ok {
		(*vs)[i].val = v
		return
	}
	*vs = slices.Insert(*vs, i, entry{key, v})
}

func (vs *values) del(key string) {
	if i, ok := vs.find(key); ok {
		*vs = slices.Delete(*vs, i, i+1)
	}
}

// encodeValues encodes vs; keys are in sorted order, so equal sets give equal
// bytes.
func encodeValues(vs values) []byte {
	if len(vs) == 0 {
		return nil
	}
	n := 2 + binary.MaxVarintLen64
	for _, e := range vs {
		n += len(e.key) + len(e.val.s) + len(e.val.raw) + 2*binary.MaxVarintLen64
	}
	b := make([]byte, 0, n)
	b = append(b, valuesFormat)
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, e := range vs {
		b = wire.AppendString(b, e.key)
		b = appendValue(b, e.val)
	}
	return b
}

func appendValue(b []byte, v value) []byte {
	b = append(b, byte(v.k))
	switch v.k {
	case kString:
		return wire.AppendString(b, v.s)
	case kBytes:
		return wire.AppendString(b, string(v.x.([]byte)))
	case kBool:
		return append(b, byte(v.n))
	case kInt, kInt8, kInt16, kInt32, kInt64, kDuration:
		return binary.AppendVarint(b, int64(v.n))
	case kUint, kUint8, kUint16, kUint32, kUint64:
		return binary.AppendUvarint(b, v.n)
	case kFloat32:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(math.Float32frombits(uint32(v.n)))))
	case kFloat64:
		return binary.LittleEndian.AppendUint64(b, v.n)
	case kTime:
		tb, _ := v.x.(time.Time).MarshalBinary() // checked by valueOf and decode
		return wire.AppendString(b, string(tb))
	case kStrings:
		list := v.x.([]string)
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = wire.AppendString(b, s)
		}
		return b
	case kJSON:
		b = wire.AppendString(b, v.s)
		return wire.AppendString(b, string(v.raw))
	}
	return b
}

// decodeValues decodes what encodeValues produced, leaving out the record's
// metadata entry if there is one (see splitData). It never panics; any
// malformed input, including keys out of order or repeated, gives an error
// wrapping store.ErrCorrupt.
func decodeValues(data []byte) (values, error) {
	_, data, err := splitData(data)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, nil
	}
	if data[0] != valuesFormat {
		return nil, fmt.Errorf("%w: unknown values format", store.ErrCorrupt)
	}
	d := wire.NewDecoder(data[1:], store.ErrCorrupt)
	n := d.Uvarint()
	// Every entry takes at least 3 bytes, which bounds the allocation by the
	// input size whatever the count claims.
	if d.Err() == nil && n > uint64(d.Len()/3) {
		d.Fail("value count past end")
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	vs := make(values, 0, n)
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		k := d.String()
		v := decodeValue(d)
		if d.Err() != nil {
			break
		}
		if i > 0 && vs[i-1].key >= k {
			d.Fail("keys out of order")
			break
		}
		vs = append(vs, entry{k, v})
	}
	if d.Err() == nil && d.Len() != 0 {
		d.Fail("trailing bytes")
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return vs, nil
}

// decodeValue reads one value. A malformed encoding fails d; a JSON value
// that is well formed but does not decode into its registered type is
// returned with err set (see value.err).
func decodeValue(d *wire.Decoder) value {
	k := kind(d.Byte())
	v := value{k: k}
	switch k {
	case kString:
		v.s = d.String()
	case kBytes:
		v.x = slices.Clone(d.Bytes())
	case kBool:
		v.n = uint64(d.Byte())
		if v.n > 1 {
			d.Fail("bad bool")
		}
	case kInt, kInt8, kInt16, kInt32, kInt64, kDuration:
		x := d.Varint()
		lo, hi := intRange(k)
		if x < lo || x > hi {
			d.Fail("integer out of range")
		}
		v.n = uint64(x)
	case kUint, kUint8, kUint16, kUint32, kUint64:
		v.n = d.Uvarint()
		if v.n > uintMax(k) {
			d.Fail("integer out of range")
		}
	case kFloat32:
		f := d.Float64()
		if float64(float32(f)) != f && f == f {
			d.Fail("float32 out of range")
		}
		v.n = uint64(math.Float32bits(float32(f)))
	case kFloat64:
		v.n = d.Fixed64()
	case kTime:
		var t time.Time
		if err := t.UnmarshalBinary(d.Bytes()); err != nil {
			d.Fail("bad time")
		} else if _, err := t.MarshalBinary(); err != nil {
			d.Fail("bad time")
		}
		v.x = t
	case kStrings:
		n := d.Uvarint()
		if n > uint64(d.Len()) {
			d.Fail("list length past end")
			return v
		}
		list := make([]string, 0, n)
		for i := uint64(0); i < n && d.Err() == nil; i++ {
			list = append(list, d.String())
		}
		v.x = list
	case kJSON:
		v.s = d.String()
		js := d.Bytes()
		if d.Err() != nil {
			return v
		}
		jsonTypes.RLock()
		t, ok := jsonTypes.byName[v.s]
		jsonTypes.RUnlock()
		v.raw = slices.Clone(js)
		if !ok {
			v.err = fmt.Errorf("%w: JSON type %q is not registered", ErrUndecodable, v.s)
			return v
		}
		p := reflect.New(t)
		if err := json.Unmarshal(js, p.Interface()); err != nil {
			v.err = fmt.Errorf("%w: decoding %q: %v", ErrUndecodable, v.s, err)
			return v
		}
		v.x = p.Elem().Interface()
	default:
		d.Fail("unknown value kind")
	}
	return v
}

func intRange(k kind) (int64, int64) {
	switch k {
	case kInt8:
		return math.MinInt8, math.MaxInt8
	case kInt16:
		return math.MinInt16, math.MaxInt16
	case kInt32:
		return math.MinInt32, math.MaxInt32
	case kInt:
		return math.MinInt, math.MaxInt
	}
	return math.MinInt64, math.MaxInt64
}

func uintMax(k kind) uint64 {
	switch k {
	case kUint8:
		return math.MaxUint8
	case kUint16:
		return math.MaxUint16
	case kUint32:
		return math.MaxUint32
	case kUint:
		return math.MaxUint
	}
	return math.MaxUint64
}
