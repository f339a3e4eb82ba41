package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// Manager.Handler is middleware of the standard shape,
// func(http.Handler) http.Handler, so routers built on net/http take it
// as it is. With go-chi/chi:
//
//	r := chi.NewRouter()
//	r.Use(sessions.Handler)
//	r.Get("/", home)
//
// gin and echo write their headers their own way: use the adapters in the
// modules adapters/ginsession and adapters/echosession.
func ExampleManager_Handler_router() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	sessions, err := session.New(st, session.Config{OnEvent: func(session.Event) {}})
	if err != nil {
		fmt.Println(err)
		return
	}
	// use is how chi, and any router of net/http middleware, applies it.
	use := func(mw ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
		return func(h http.Handler) http.Handler {
			for i := len(mw) - 1; i >= 0; i-- {
				h = mw[i](h)
			}
			return h
		}
	}
	home := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "has a session: %v", session.From(r) != nil)
	})
	w := httptest.NewRecorder()
	use(sessions.Handler)(home).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Body)
	// Output:
	// has a session: true
}
