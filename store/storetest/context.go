package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// callTimeout bounds a call made with a cancelled context. A store that
// honours ctx returns at once; one that ignores it for in-memory work also
// returns at once. Only a store that blocks takes this long.
const callTimeout = 5 * time.Second

// errNoRecord reports a Get that returned neither a record nor an error.
var errNoRecord = errors.New("storetest: Get returned neither a record nor an error")

// context checks that a cancelled request context never hangs a store
// call. It is lenient on the answer: a store may ignore ctx for work that
// does not block, so nil and any error are both accepted, except that a
// successful Get must return a record.
func (s suite) context(t *testing.T) {
	// Each call gets a live record of alice's and a fresh record it may
	// create; both are made on the test's goroutine, since only it may stop
	// the test.
	calls := []struct {
		name string
		call func(ctx context.Context, st store.Store, live, fresh *store.Record) error
	}{
		{"Get", func(ctx context.Context, st store.Store, live, _ *store.Record) error {
			rec, err := st.Get(ctx, live.Key)
			if err == nil && rec == nil {
				return errNoRecord
			}
			return err
		}},
		{"Create", func(ctx context.Context, st store.Store, _, fresh *store.Record) error {
			return st.Create(ctx, fresh)
		}},
		{"Update", func(ctx context.Context, st store.Store, live, _ *store.Record) error {
			return st.Update(ctx, live)
		}},
		{"Rotate", func(ctx context.Context, st store.Store, live, fresh *store.Record) error {
			return st.Rotate(ctx, live.Key, live.Version, fresh, time.Time{})
		}},
		{"Delete", func(ctx context.Context, st store.Store, live, _ *store.Record) error {
			return st.Delete(ctx, live.Key, store.ReasonNone)
		}},
		{"ListUser", func(ctx context.Context, st store.Store, _, _ *store.Record) error {
			_, err := st.ListUser(ctx, "alice")
			return err
		}},
	}
	for _, c := range calls {
		t.Run("Cancelled"+c.name+"Returns", func(t *testing.T) {
			st := s.store(t)
			live, fresh := newRecord(t, "alice"), newRecord(t, "alice")
			mustCreate(t, st, live)
			ctx := ctxDone(t)
			var err error
			if !withTimeout(t, callTimeout, c.name+" with a cancelled context", func() {
				err = c.call(ctx, st, live, fresh)
			}) {
				return
			}
			if errors.Is(err, errNoRecord) {
				t.Error(err)
			}
			t.Logf("%s with a cancelled context: err = %v", c.name, err)
			// A cancelled call must not wedge the store for later requests.
			if _, err := st.ListUser(t.Context(), "alice"); err != nil {
				t.Errorf("ListUser after the cancelled call: %v", err)
			}
		})
	}
}
