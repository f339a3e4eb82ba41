package redisstore_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// TestLineageListsOfEarlierVersion runs the scripts on an index written
// by the earlier layout, which kept each lineage's record list in a hash
// of its own ({prefix}g:{…}, field LINEAGE) rather than in the lineages
// hash (field "g:LINEAGE"): a rotation moves the list beside the others,
// a sign-in's bound still ends every record of a lineage it picks, and a
// deletion still takes the record out of its list.
func TestLineageListsOfEarlierVersion(t *testing.T) {
	st, look := inspected(t)
	ctx := t.Context()
	const user = "bob"
	recs := make([]*store.Record, 3)
	for i := range recs {
		recs[i] = newRecord(t, user)
		if _, err := st.SignIn(ctx, &store.SignIn{Record: recs[i], Limit: 10}); err != nil {
			t.Fatal(err)
		}
	}
	ik, lk := st.IndexKey(user), st.LineagesKey(user)
	gk := ik[:len(ik)-68] + "g" + ik[len(ik)-67:]
	byUse := lineagesByUse(ik)
	// The earlier layout: the lists in g, with the index's expiry.
	for _, r := range recs {
		v, err := look.HGet(ctx, lk, "g:"+r.Key).Result()
		if err != nil || v != ","+r.Key+"," {
			t.Fatalf("HGET %s g:%s = %q, %v", lk, r.Key[:8], v, err)
		}
		if err := look.HSet(ctx, gk, r.Key, v).Err(); err != nil {
			t.Fatal(err)
		}
		if err := look.HDel(ctx, lk, "g:"+r.Key).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := look.PExpireAt(ctx, gk, time.UnixMilli(expireTime(t, look, ik))).Err(); err != nil {
		t.Fatal(err)
	}

	// A rotation of the first lineage: its list, now two records, moves.
	a, a2 := recs[0], newRecord(t, user)
	a2.Lineage = a.Key
	if err := st.Rotate(ctx, a.Key, 1, a2, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v, err := look.HGet(ctx, lk, "g:"+a.Key).Result(); err != nil || v != ","+a.Key+","+a2.Key+"," {
		t.Errorf("after the rotation, HGET %s g:%s = %q, %v; want both records", lk, a.Key[:8], v, err)
	}
	if n, err := look.HExists(ctx, gk, a.Key).Result(); err != nil || n {
		t.Errorf("after the rotation, the former hash still lists the lineage (%v, %v)", n, err)
	}

	// A deletion of the second lineage's record takes it out of g, and
	// the lineage out of the last-use index.
	b := recs[1]
	if err := st.Delete(ctx, b.Key, store.ReasonNone); err != nil {
		t.Fatal(err)
	}
	if n, err := look.HExists(ctx, gk, b.Key).Result(); err != nil || n {
		t.Errorf("after the deletion, %s still lists %s (%v, %v)", gk, b.Key[:8], n, err)
	}
	if _, err := look.ZScore(ctx, byUse, b.Key).Result(); err == nil {
		t.Errorf("after the deletion, lineage %s is still in %s", b.Key[:8], byUse)
	}

	// A sign-in at a bound of 2: the third lineage, listed in g, last used
	// an hour ago, is the least recently used: the bound ends its record.
	c := recs[2]
	if err := look.ZIncrBy(ctx, byUse, -float64(time.Hour/time.Microsecond), c.Key).Err(); err != nil {
		t.Fatal(err)
	}
	out, err := st.SignIn(ctx, &store.SignIn{Record: newRecord(t, user), Limit: 2, LimitReason: store.Reason(7)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Ended, []string{c.Key}) || out.Sessions != 2 {
		t.Errorf("sign-in at the bound: ended %q, %d sessions; want %s ended, 2 left", out.Ended, out.Sessions, c.Key[:8])
	}
	var gone *store.GoneError
	if _, err := st.Get(ctx, c.Key); !errors.As(err, &gone) || gone.Reason != store.Reason(7) {
		t.Errorf("the bound's victim reads %v, want gone for reason 7", err)
	}
	if n, err := look.Exists(ctx, gk).Result(); err != nil || n != 0 {
		t.Errorf("the former hash %s outlives its last lineage (%d, %v)", gk, n, err)
	}
	// The rotated lineage is whole: both its records are live.
	for _, r := range []*store.Record{a2} {
		if _, err := st.Get(ctx, r.Key); err != nil {
			t.Errorf("record %s: %v", r.Key[:8], err)
		}
	}
}

// TestUpdateOfAForwarderDropsItsForwarding: a record a rotation with a
// grace time turned into a forwarder (s and g set) is a whole record again
// after an Update at its current version: s and g are gone, and a read
// returns what the Update wrote rather than forwarding.
func TestUpdateOfAForwarderDropsItsForwarding(t *testing.T) {
	st, look := inspected(t)
	ctx := t.Context()
	old := newRecord(t, "erin")
	if err := st.Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	next := newRecord(t, "erin")
	next.Lineage = old.Key
	if err := st.Rotate(ctx, old.Key, 1, next, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	rk := st.RecordKey(old.Key)
	if f, err := look.HMGet(ctx, rk, "s", "g").Result(); err != nil || f[0] == nil || f[1] == nil {
		t.Fatalf("the rotated record is no forwarder: %v, %v", f, err)
	}
	v, err := look.HGet(ctx, rk, "v").Int64()
	if err != nil {
		t.Fatal(err)
	}
	upd := *old
	upd.Version = uint64(v)
	upd.Data = []byte("written again")
	if err := st.Update(ctx, &upd); err != nil {
		t.Fatalf("Update at version %d: %v", v, err)
	}
	if n, err := look.HExists(ctx, rk, "s").Result(); err != nil || n {
		t.Errorf("after the Update the record still forwards (s set: %v, %v)", n, err)
	}
	if n, err := look.HExists(ctx, rk, "g").Result(); err != nil || n {
		t.Errorf("after the Update the record keeps its grace time (g set: %v, %v)", n, err)
	}
	got, err := st.Get(ctx, old.Key)
	if err != nil || string(got.Data) != "written again" || got.Successor != "" {
		t.Errorf("Get after the Update: %+v, %v; want the data written, no successor", got, err)
	}
}
