package redisstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// inspector returns a client for looking at what the store wrote. It has
// no noScan hook: the test may list keys, the store may not.
func inspector(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// expireTime returns the absolute expiry of key in Unix ms (-1: none,
// -2: no such key).
func expireTime(t *testing.T, c *redis.Client, key string) int64 {
	t.Helper()
	v, err := c.Do(t.Context(), "PEXPIRETIME", key).Int64()
	if err != nil {
		t.Fatalf("PEXPIRETIME %s: %v", key, err)
	}
	return v
}

// TestKeyLayout checks the key names and hash fields documented in doc.go,
// and that no key name carries a user ID.
func TestKeyLayout(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	look := inspector(t, srv)
	st := redisstore.New(client, redisstore.Options{Prefix: "app1:"})
	ctx := t.Context()

	alice, anon, dead := newRecord(t, "alice@example.com"), newRecord(t, ""), newRecord(t, "")
	for _, rec := range []*store.Record{alice, anon, dead} {
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, dead.Key, store.ReasonNone); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("alice@example.com"))
	index := "app1:u:{" + hex.EncodeToString(sum[:]) + "}"
	lineages := "app1:l:{" + hex.EncodeToString(sum[:]) + "}"
	byUse := "app1:r:{" + hex.EncodeToString(sum[:]) + "}"
	want := []string{"app1:s:{" + alice.Key + "}", "app1:s:{" + anon.Key + "}", "app1:s:{" + dead.Key + "}", index, lineages, byUse}
	slices.Sort(want)
	got, err := look.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
	for _, k := range got {
		if strings.Contains(k, "alice") {
			t.Errorf("key %q names the user", k)
		}
	}

	if st.IndexKey("alice@example.com") != index || st.LineagesKey("alice@example.com") != lineages ||
		st.RecordKey(alice.Key) != "app1:s:{"+alice.Key+"}" {
		t.Errorf("RecordKey/IndexKey/LineagesKey disagree with the stored keys")
	}

	fields := func(key string) []string {
		m, err := look.HGetAll(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		var f []string
		for k := range m {
			f = append(f, k)
		}
		slices.Sort(f)
		return f
	}
	if f := fields("app1:s:{" + alice.Key + "}"); !slices.Equal(f, []string{"d", "e", "i", "v", "w", "x"}) {
		t.Errorf("record fields = %q, want d e i v w x", f)
	}
	if f := fields("app1:s:{" + dead.Key + "}"); !slices.Equal(f, []string{"a", "e", "r", "t"}) {
		t.Errorf("tombstone fields = %q, want a e r t", f)
	}
	// The lineage hash names each listed record's lineage (the record's own
	// key for a first record) and the Expires it was created with, and
	// lists each lineage's records under "g:LINEAGE".
	lin, err := look.HGetAll(ctx, lineages).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := alice.Key + "|" + strconv.FormatInt(alice.Expires.UnixMilli(), 10); len(lin) != 2 || lin[alice.Key] != want || lin["g:"+alice.Key] != ","+alice.Key+"," {
		t.Errorf("lineages = %q, want %s → %q and g:%s → \",KEY,\"", lin, alice.Key[:8], want, alice.Key[:8])
	}
	members, err := look.ZRangeWithScores(ctx, index, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0].Member != alice.Key || int64(members[0].Score) != alice.Deadline.UnixMilli() {
		t.Errorf("index = %v, want %s scored by its deadline %d", members, alice.Key[:8], alice.Deadline.UnixMilli())
	}
	// The lineages by last use (server microseconds).
	if used, err := look.ZScore(ctx, byUse, alice.Key).Result(); err != nil || math.Abs(used/1e6-float64(time.Now().Unix())) > 60 {
		t.Errorf("ZSCORE %s = %v, %v; want the server's clock in microseconds", byUse, used, err)
	}
	// RevokeUser's mark, beside them, kept an hour.
	rev, err := st.RevokeUser(ctx, "alice@example.com", "", 9)
	if err != nil {
		t.Fatal(err)
	}
	mark := "app1:m:{" + hex.EncodeToString(sum[:]) + "}"
	f, err := look.HGetAll(ctx, mark).Result()
	if err != nil || f["t"] != strconv.FormatInt(rev.Mark.UnixMicro(), 10) || f["r"] != "9" {
		t.Errorf("HGETALL %s = %v, %v; want t the mark in microseconds, r 9", mark, f, err)
	}
	if ttl, err := look.PTTL(ctx, mark).Result(); err != nil || ttl < store.MarkTTL-time.Minute || ttl > store.MarkTTL {
		t.Errorf("PTTL %s = %v, %v; want store.MarkTTL", mark, ttl, err)
	}
}

// TestTTLsFollowDeadlines checks that Redis itself forgets what the store
// writes: records at their Expires, tombstones no earlier than the dead
// record's Expires (and TombstoneTTL), indexes at their latest deadline.
func TestTTLsFollowDeadlines(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	look := inspector(t, srv)
	st := redisstore.New(client, redisstore.Options{TombstoneTTL: time.Minute})
	ctx := t.Context()

	rec := newRecord(t, "alice")
	if err := st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rk, ik := st.RecordKey(rec.Key), st.IndexKey("alice")
	if got, want := expireTime(t, look, rk), rec.Expires.UnixMilli(); got != want {
		t.Errorf("record expires at %d, want Expires %d", got, want)
	}
	if got, want := expireTime(t, look, ik), rec.Deadline.UnixMilli(); got != want {
		t.Errorf("index expires at %d, want the deadline %d", got, want)
	}

	// An idle refresh moves the record's TTL, not the index's.
	rec.LastSeen = time.Now()
	rec.Expires = rec.LastSeen.Add(2 * time.Hour)
	if err := st.Update(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, want := expireTime(t, look, rk), rec.Expires.UnixMilli(); got != want {
		t.Errorf("after Update, record expires at %d, want %d", got, want)
	}
	if got, want := expireTime(t, look, ik), rec.Deadline.UnixMilli(); got != want {
		t.Errorf("after Update, index expires at %d, want %d", got, want)
	}

	// A later deadline (a longer session for the same user) extends the
	// index.
	long := newRecord(t, "alice")
	long.Deadline = time.Now().Add(30 * 24 * time.Hour)
	if err := st.Create(ctx, long); err != nil {
		t.Fatal(err)
	}
	if got, want := expireTime(t, look, ik), long.Deadline.UnixMilli(); got != want {
		t.Errorf("index expires at %d, want the later deadline %d", got, want)
	}

	// A tombstone lasts until the dead record's Expires...
	if err := st.Delete(ctx, rec.Key, store.ReasonNone); err != nil {
		t.Fatal(err)
	}
	if got, want := expireTime(t, look, rk), rec.Expires.UnixMilli(); got != want {
		t.Errorf("tombstone expires at %d, want the record's Expires %d", got, want)
	}
	// ...and at least TombstoneTTL.
	soon := newRecord(t, "")
	soon.Expires = time.Now().Add(2 * time.Second)
	if err := st.Create(ctx, soon); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := st.Rotate(ctx, soon.Key, 1, newRecord(t, ""), time.Time{}); err != nil {
		t.Fatal(err)
	}
	got := expireTime(t, look, st.RecordKey(soon.Key))
	if lo, hi := before.Add(time.Minute).UnixMilli(), time.Now().Add(time.Minute).UnixMilli(); got < lo || got > hi {
		t.Errorf("tombstone of a record about to expire expires at %d, want now+TombstoneTTL (%d..%d)", got, lo, hi)
	}

	// Redis drops an expired record itself; no sweeper is needed.
	short := newRecord(t, "")
	short.Expires = time.Now().Add(150 * time.Millisecond)
	if err := st.Create(ctx, short); err != nil {
		t.Fatal(err)
	}
	if !eventually(2*time.Second, func() bool {
		n, err := look.Exists(ctx, st.RecordKey(short.Key)).Result()
		return err == nil && n == 0
	}) {
		t.Error("Redis kept a record past its Expires")
	}
}

// TestRejectsForeignKeys checks that keys that are not lower-case hex never
// reach Redis: braces in particular would move a key to another slot.
func TestRejectsForeignKeys(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st := redisstore.New(client, redisstore.Options{})
	ctx := t.Context()
	for _, key := range []string{"", "ABCDEF", "ab}{cd", "ab cd", strings.Repeat("a", 129), "../x"} {
		if _, err := st.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
		}
		rec := newRecord(t, "alice")
		rec.Key = key
		if err := st.Create(ctx, rec); err == nil {
			t.Errorf("Create(%q) succeeded", key)
		}
		if err := st.Update(ctx, rec); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Update(%q) = %v, want ErrNotFound", key, err)
		}
		if err := st.Delete(ctx, key, store.ReasonNone); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", key, err)
		}
		live := newRecord(t, "")
		if err := st.Create(ctx, live); err != nil {
			t.Fatal(err)
		}
		if err := st.Rotate(ctx, live.Key, 1, rec, time.Time{}); err == nil {
			t.Errorf("Rotate to %q succeeded", key)
		}
		if _, err := st.Get(ctx, live.Key); err != nil {
			t.Errorf("Rotate to %q killed the old record: %v", key, err)
		}
	}
	n, err := client.DBSize(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(6); n != want { // the six live records, and no index
		t.Errorf("%d keys in Redis, want %d", n, want)
	}
}

// TestCorruptRecord checks that a record that cannot be decoded, or that
// was copied to another key, is reported as store.ErrCorrupt, never as
// missing (which would let the Manager treat the request as anonymous).
func TestCorruptRecord(t *testing.T) {
	st, look := inspected(t)
	ctx := t.Context()
	a, b := newRecord(t, "alice"), newRecord(t, "bob")
	for _, rec := range []*store.Record{a, b} {
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	// bob's record copied under alice's key: whoever can write to Redis
	// must not be able to move a session to another token unnoticed.
	d, err := look.HGet(ctx, st.RecordKey(b.Key), "d").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := look.HSet(ctx, st.RecordKey(a.Key), "d", d).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, a.Key); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Get of a record copied from another key: %v, want ErrCorrupt", err)
	}
	if err := look.HSet(ctx, st.RecordKey(a.Key), "d", "garbage").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, a.Key); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Get of a garbled record: %v, want ErrCorrupt", err)
	}
	if _, err := st.ListUser(ctx, "alice"); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("ListUser over a garbled record: %v, want ErrCorrupt", err)
	}
}

// TestNewPanics checks that New refuses a bad configuration at start-up.
func TestNewPanics(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	t.Cleanup(func() { _ = client.Close() })
	for _, c := range []struct {
		name   string
		client redis.UniversalClient
		opts   redisstore.Options
	}{
		{"NilClient", nil, redisstore.Options{}},
		{"UnclosedBrace", client, redisstore.Options{Prefix: "sg{x:"}},
		{"EmptyTag", client, redisstore.Options{Prefix: "sg{}:"}},
		{"TwoTags", client, redisstore.Options{Prefix: "{a}{b}:"}},
		{"ReversedBraces", client, redisstore.Options{Prefix: "sg}x{"}},
		{"NegativeTombstoneTTL", client, redisstore.Options{TombstoneTTL: -time.Second}},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("New did not panic")
				}
				if msg, _ := r.(string); !strings.HasPrefix(msg, "redisstore: ") {
					t.Errorf("panic %v does not name the package", r)
				}
			}()
			redisstore.New(c.client, c.opts)
		})
	}
}

// TestSignInKeysExpireWithTheirSessions checks the keys a sign-in makes
// for a user with none (the sign-in script's first-session path) and
// extends for a user with some: the index, the lineages hash and the
// lineages by last use each expire at the latest of the user's deadlines,
// and list each session.
func TestSignInKeysExpireWithTheirSessions(t *testing.T) {
	st, look := inspected(t)
	ctx := t.Context()
	ik, lk := st.IndexKey("carol"), st.LineagesKey("carol")
	byUse := lineagesByUse(ik)
	check := func(when string, deadline time.Time, recs ...*store.Record) {
		t.Helper()
		for _, k := range []string{ik, lk, byUse} {
			if got := expireTime(t, look, k); got != deadline.UnixMilli() {
				t.Errorf("%s: %s expires at %d, want the latest deadline %d", when, k[:6], got, deadline.UnixMilli())
			}
		}
		if n, err := look.ZCard(ctx, ik).Result(); err != nil || n != int64(len(recs)) {
			t.Errorf("%s: index holds %d (%v), want %d", when, n, err, len(recs))
		}
		for _, r := range recs {
			if v, err := look.HGet(ctx, lk, "g:"+r.Key).Result(); err != nil || v != ","+r.Key+"," {
				t.Errorf("%s: lineage %s lists %q (%v)", when, r.Key[:8], v, err)
			}
			if _, err := look.ZScore(ctx, byUse, r.Key).Result(); err != nil {
				t.Errorf("%s: lineage %s has no last use: %v", when, r.Key[:8], err)
			}
		}
	}
	first := newRecord(t, "carol")
	if out, err := st.SignIn(ctx, &store.SignIn{Record: first, Limit: 5}); err != nil || out.Sessions != 1 {
		t.Fatalf("first sign-in: %+v, %v", out, err)
	}
	check("first sign-in", first.Deadline, first)
	second := newRecord(t, "carol")
	second.Deadline = time.Now().Add(30 * 24 * time.Hour)
	if out, err := st.SignIn(ctx, &store.SignIn{Record: second, Limit: 5}); err != nil || out.Sessions != 2 {
		t.Fatalf("second sign-in: %+v, %v", out, err)
	}
	check("second sign-in", second.Deadline, first, second)

	// A sign-in whose own revocation's prior mark is after its start is
	// refused on the first-session path too (no mark key left to read).
	dave := newRecord(t, "dave")
	prior := time.Now().Add(time.Minute)
	_, err := st.SignIn(ctx, &store.SignIn{Record: dave, Own: &store.Revocation{Mark: prior.Add(time.Second), Prior: prior}})
	if !errors.Is(err, store.ErrRevokedSince) {
		t.Errorf("sign-in after its own revocation's prior mark: %v, want ErrRevokedSince", err)
	}
	if n, err := look.Exists(ctx, st.RecordKey(dave.Key), st.IndexKey("dave")).Result(); err != nil || n != 0 {
		t.Errorf("the refused sign-in wrote %d keys (%v)", n, err)
	}
}
