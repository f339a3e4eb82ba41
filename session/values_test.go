package session_test

import (
	"errors"
	"math"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
)

type profile struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

func init() { session.RegisterJSON[profile]("test.profile") }

// valueLike reads key from s as the type of want, through session.Value.
func valueLike(s *session.Session, key string, want any) (any, error) {
	switch want.(type) {
	case string:
		return session.Value[string](s, key)
	case []byte:
		return session.Value[[]byte](s, key)
	case bool:
		return session.Value[bool](s, key)
	case int:
		return session.Value[int](s, key)
	case int8:
		return session.Value[int8](s, key)
	case int16:
		return session.Value[int16](s, key)
	case int32:
		return session.Value[int32](s, key)
	case int64:
		return session.Value[int64](s, key)
	case uint:
		return session.Value[uint](s, key)
	case uint8:
		return session.Value[uint8](s, key)
	case uint16:
		return session.Value[uint16](s, key)
	case uint32:
		return session.Value[uint32](s, key)
	case uint64:
		return session.Value[uint64](s, key)
	case float32:
		return session.Value[float32](s, key)
	case float64:
		return session.Value[float64](s, key)
	case time.Time:
		return session.Value[time.Time](s, key)
	case time.Duration:
		return session.Value[time.Duration](s, key)
	case []string:
		return session.Value[[]string](s, key)
	case profile:
		return session.Value[profile](s, key)
	}
	return nil, errors.New("no such type in the test")
}

func TestValuesRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 30, 0, 123456789, time.FixedZone("X", 3600))
	values := map[string]any{
		"string": "héllo\x00world", "empty": "", "bytes": []byte{0, 1, 255}, "true": true, "false": false,
		"int": math.MinInt, "int8": int8(-128), "int16": int16(math.MaxInt16), "int32": int32(math.MinInt32),
		"int64": int64(math.MaxInt64), "uint": uint(math.MaxUint), "uint8": uint8(255), "uint16": uint16(65535),
		"uint32": uint32(math.MaxUint32), "uint64": uint64(math.MaxUint64), "float32": float32(1.5),
		"float64": math.Pi, "nan-free negative zero": math.Copysign(0, -1), "time": at,
		"duration": 90 * time.Second, "strings": []string{"a", "", "c"}, "json": profile{"ann", []string{"admin"}},
	}
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range values {
			if err := session.From(r).Put(k, v); err != nil {
				t.Fatalf("Put(%q): %v", k, err)
			}
		}
	}, e.req("GET", "/")))
	e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		for k, want := range values {
			got, err := valueLike(s, k, want)
			if err != nil {
				t.Errorf("%s: %v", k, err)
				continue
			}
			if reflect.TypeOf(got) != reflect.TypeOf(want) {
				t.Errorf("%s: type %T, want %T", k, got, want)
				continue
			}
			if wt, ok := want.(time.Time); ok {
				if gt := got.(time.Time); !gt.Equal(wt) || gt.Format(time.RFC3339Nano) != wt.Format(time.RFC3339Nano) {
					t.Errorf("time: %v, want %v", gt, wt)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %#v, want %#v", k, got, want)
			}
		}
		if z, _ := session.Value[float64](s, "nan-free negative zero"); !math.Signbit(z) {
			t.Error("negative zero lost its sign")
		}
		if len(s.Keys()) != len(values) {
			t.Errorf("%d keys, want %d", len(s.Keys()), len(values))
		}
		if p, err := session.Value[profile](s, "json"); err != nil || p.Name != "ann" {
			t.Errorf("Value[profile] = %v, %v", p, err)
		}
		if _, err := session.Value[int](s, "json"); err == nil || errors.Is(err, session.ErrNoValue) {
			t.Errorf("Value[int] of a profile: err = %v, want a type error", err)
		}
		if _, err := session.Value[int](s, "missing"); !errors.Is(err, session.ErrNoValue) {
			t.Errorf("Value of a missing key: err = %v, want ErrNoValue", err)
		}
	}, e.req("GET", "/", tok))
}

func TestValuesTypedAccessorsAndPop(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Put("flash", "saved")
		s.Put("n", 42)
		s.Put("b", []byte("x"))
	}, e.req("GET", "/")))
	e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if n, err := session.Value[int](s, "n"); n != 42 || err != nil || s.GetString("n") != "" {
			t.Error("typed getters")
		}
		b, _ := session.Value[[]byte](s, "b")
		b[0] = 'y' // a copy: the session is unchanged
		if b, _ := session.Value[[]byte](s, "b"); string(b) != "x" {
			t.Error("Value returned the session's own slice")
		}
		if s.PopString("n") != "" || !s.Has("n") {
			t.Error("PopString of an int removed it")
		}
		if s.PopString("flash") != "saved" || s.Has("flash") {
			t.Error("PopString")
		}
	}, e.req("GET", "/", tok))
	e.do(func(w http.ResponseWriter, r *http.Request) {
		if session.From(r).Has("flash") {
			t.Error("popped value came back")
		}
		if err := session.From(r).Clear(); err != nil {
			t.Error(err)
		}
	}, e.req("GET", "/", tok))
	e.do(func(w http.ResponseWriter, r *http.Request) {
		if len(session.From(r).Keys()) != 0 {
			t.Error("Clear left values")
		}
	}, e.req("GET", "/", tok))
}

func TestValuesUnsupportedType(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	e.do(func(w http.ResponseWriter, r *http.Request) {
		type unregistered struct{ X int }
		for _, v := range []any{unregistered{1}, map[string]int{}, struct{}{}, nil, &profile{}} {
			if err := session.From(r).Put("k", v); !errors.Is(err, session.ErrUnsupportedType) {
				t.Errorf("Put(%T): %v", v, err)
			}
		}
	}, e.req("GET", "/"))
}
