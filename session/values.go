package session

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"
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
// Get returns a T (not a *T). Call it from an init function. It panics if
// name or T is already registered, or T is a built-in type.
//
// RegisterJSON is safe for concurrent use.
func RegisterJSON[T any](name string) {
	t := reflect.TypeFor[T]()
	if name == "" {
		panic("session: RegisterJSON with an empty name")
	}
	if _, err := encodeBuiltin(nil, reflect.Zero(t).Interface()); err == nil {
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

// checkValue reports whether v can be stored.
func checkValue(v any) error {
	_, err := appendValue(nil, v)
	return err
}

// encodeValues encodes vals with keys in sorted order, so equal maps give
// equal bytes.
func encodeValues(vals map[string]any) ([]byte, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 64)
	b = append(b, valuesFormat)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		var err error
		if b, err = appendValue(b, vals[k]); err != nil {
			return nil, fmt.Errorf("session: value %q: %w", k, err)
		}
	}
	return b, nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	if out, err := encodeBuiltin(b, v); err == nil {
		return out, nil
	}
	t := reflect.TypeOf(v)
	jsonTypes.RLock()
	name, ok := jsonTypes.byType[t]
	jsonTypes.RUnlock()
	if !ok {
		return b, fmt.Errorf("%w: %v (register it with RegisterJSON)", ErrUnsupportedType, t)
	}
	js, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("session: encoding %v as JSON: %w", t, err)
	}
	b = append(b, byte(kJSON))
	b = appendString(b, name)
	return appendString(b, string(js)), nil
}

var errNotBuiltin = errors.New("not built in")

func encodeBuiltin(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendString(append(b, byte(kString)), x), nil
	case []byte:
		return appendString(append(b, byte(kBytes)), string(x)), nil
	case bool:
		if x {
			return append(b, byte(kBool), 1), nil
		}
		return append(b, byte(kBool), 0), nil
	case int:
		return binary.AppendVarint(append(b, byte(kInt)), int64(x)), nil
	case int8:
		return binary.AppendVarint(append(b, byte(kInt8)), int64(x)), nil
	case int16:
		return binary.AppendVarint(append(b, byte(kInt16)), int64(x)), nil
	case int32:
		return binary.AppendVarint(append(b, byte(kInt32)), int64(x)), nil
	case int64:
		return binary.AppendVarint(append(b, byte(kInt64)), x), nil
	case uint:
		return binary.AppendUvarint(append(b, byte(kUint)), uint64(x)), nil
	case uint8:
		return binary.AppendUvarint(append(b, byte(kUint8)), uint64(x)), nil
	case uint16:
		return binary.AppendUvarint(append(b, byte(kUint16)), uint64(x)), nil
	case uint32:
		return binary.AppendUvarint(append(b, byte(kUint32)), uint64(x)), nil
	case uint64:
		return binary.AppendUvarint(append(b, byte(kUint64)), x), nil
	case float32:
		return binary.LittleEndian.AppendUint64(append(b, byte(kFloat32)), math.Float64bits(float64(x))), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, byte(kFloat64)), math.Float64bits(x)), nil
	case time.Time:
		tb, err := x.MarshalBinary()
		if err != nil {
			return b, err
		}
		return appendString(append(b, byte(kTime)), string(tb)), nil
	case time.Duration:
		return binary.AppendVarint(append(b, byte(kDuration)), int64(x)), nil
	case []string:
		b = append(b, byte(kStrings))
		b = binary.AppendUvarint(b, uint64(len(x)))
		for _, s := range x {
			b = appendString(b, s)
		}
		return b, nil
	}
	return b, errNotBuiltin
}

// decodeValues decodes what encodeValues produced. It never panics; any
// malformed input gives an error wrapping ErrCorrupt.
func decodeValues(data []byte) (map[string]any, error) {
	if len(data) == 0 {
		return map[string]any{}, nil
	}
	if data[0] != valuesFormat {
		return nil, fmt.Errorf("%w: unknown values format", ErrCorrupt)
	}
	d := decoder{b: data[1:]}
	n := d.uvarint()
	// Every entry takes at least 3 bytes, which bounds the map size by the
	// input size whatever the count claims.
	if d.err == nil && n > uint64(len(d.b)/3) {
		d.fail("value count past end")
	}
	if d.err != nil {
		return nil, d.err
	}
	vals := make(map[string]any, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		v := d.value()
		if d.err != nil {
			break
		}
		if _, dup := vals[k]; dup {
			d.fail("duplicate key")
			break
		}
		vals[k] = v
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return vals, nil
}

func (d *decoder) value() any {
	switch kind(d.byte()) {
	case kString:
		return d.string()
	case kBytes:
		return slices.Clone(d.bytes())
	case kBool:
		switch d.byte() {
		case 0:
			return false
		case 1:
			return true
		}
		d.fail("bad bool")
	case kInt:
		v := d.varint()
		if int64(int(v)) != v {
			d.fail("int overflow")
		}
		return int(v)
	case kInt8:
		v := d.varint()
		if v < math.MinInt8 || v > math.MaxInt8 {
			d.fail("int8 overflow")
		}
		return int8(v)
	case kInt16:
		v := d.varint()
		if v < math.MinInt16 || v > math.MaxInt16 {
			d.fail("int16 overflow")
		}
		return int16(v)
	case kInt32:
		v := d.varint()
		if v < math.MinInt32 || v > math.MaxInt32 {
			d.fail("int32 overflow")
		}
		return int32(v)
	case kInt64:
		return d.varint()
	case kUint:
		v := d.uvarint()
		if uint64(uint(v)) != v {
			d.fail("uint overflow")
		}
		return uint(v)
	case kUint8:
		v := d.uvarint()
		if v > math.MaxUint8 {
			d.fail("uint8 overflow")
		}
		return uint8(v)
	case kUint16:
		v := d.uvarint()
		if v > math.MaxUint16 {
			d.fail("uint16 overflow")
		}
		return uint16(v)
	case kUint32:
		v := d.uvarint()
		if v > math.MaxUint32 {
			d.fail("uint32 overflow")
		}
		return uint32(v)
	case kUint64:
		return d.uvarint()
	case kFloat32:
		return float32(d.float64())
	case kFloat64:
		return d.float64()
	case kTime:
		var t time.Time
		if err := t.UnmarshalBinary(d.bytes()); err != nil {
			d.fail("bad time")
		}
		return t
	case kDuration:
		return time.Duration(d.varint())
	case kStrings:
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			d.fail("list length past end")
			return nil
		}
		s := make([]string, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			s = append(s, d.string())
		}
		return s
	case kJSON:
		name := d.string()
		js := d.bytes()
		if d.err != nil {
			return nil
		}
		jsonTypes.RLock()
		t, ok := jsonTypes.byName[name]
		jsonTypes.RUnlock()
		if !ok {
			d.fail(fmt.Sprintf("type %q is not registered", name))
			return nil
		}
		p := reflect.New(t)
		if err := json.Unmarshal(js, p.Interface()); err != nil {
			d.fail(fmt.Sprintf("decoding %q: %v", name, err))
			return nil
		}
		return p.Elem().Interface()
	default:
		d.fail("unknown value kind")
	}
	return nil
}
