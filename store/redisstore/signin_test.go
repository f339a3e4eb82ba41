package redisstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// TestDeletedSessionDoesNotCountAgainstTheBound: a signed-in record ended
// by Delete leaves its user's lineages by last use, so that the next
// sign-in's bound does not count it and end a live session in its place.
func TestDeletedSessionDoesNotCountAgainstTheBound(t *testing.T) {
	srv := redistest.Start(t)
	client := newClient(t, srv)
	st := redisstore.New(client, redisstore.Options{})
	ctx := t.Context()
	a, b := newRecord(t, "alice"), newRecord(t, "alice")
	for _, rec := range []*store.Record{a, b} {
		if _, err := st.SignIn(ctx, &store.SignIn{Record: rec}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, b.Key, store.Reason(4)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(store.SignInMargin + 100*time.Millisecond)
	out, err := st.SignIn(ctx, &store.SignIn{Record: newRecord(t, "alice"), Limit: 2, LimitReason: store.Reason(7)})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(out.Ended, a.Key) || out.Sessions != 2 {
		t.Errorf("sign-in at a bound of 2 with one live session and one deleted: ended %v, %d sessions; want none ended, 2", out.Ended, out.Sessions)
	}
	if _, err := st.Get(ctx, a.Key); err != nil {
		t.Errorf("the live session: %v", err)
	}
}
