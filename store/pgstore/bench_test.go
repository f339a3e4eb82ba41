package pgstore_test

import (
	"fmt"
	"testing"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/pgstore"
)

// BenchmarkSignIn measures Store.SignIn within the bound on a user's
// sessions ("within": a new user each time) and at it ("at-bound": one
// user again and again, Limit 100, after 100 sign-ins of that user). The
// store's clock is the database's, so a sign-in ends only the sessions
// last used more than store.SignInMargin before it: at the rate of a
// benchmark the user holds 100 sessions plus those of the last
// SignInMargin, and each sign-in ends about one.
func BenchmarkSignIn(b *testing.B) {
	for _, c := range []struct {
		name string
		user func(i int) string
	}{
		{"within", func(i int) string { return fmt.Sprintf("user%d", i) }},
		{"at-bound", func(int) string { return "alice" }},
	} {
		b.Run(c.name, func(b *testing.B) {
			pool := newPool(b, nil)
			st := newStore(b, pool, pgstore.Options{SweepInterval: -1})
			signIn := func(i int) {
				in := &store.SignIn{Record: newRecord(b, c.user(i)), Limit: 100, LimitReason: store.ReasonExpired + 1}
				if _, err := st.SignIn(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
			for i := range 100 {
				signIn(-1 - i)
			}
			i := 0
			for b.Loop() {
				signIn(i)
				i++
			}
		})
	}
}
