package boltstore_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/boltstore"
)

// Sessions kept in a bolt file survive a restart: a session stored by one
// run of the program is honoured by the next.
func Example() {
	dir, err := os.MkdirTemp("", "boltstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sessions.db")

	// serve runs one request through a Manager on the store at path, as
	// one run of the program would, and returns the cookie it set.
	serve := func(cookie string, handler http.HandlerFunc) string {
		st, err := boltstore.Open(path, boltstore.Options{})
		if err != nil {
			log.Fatal(err)
		}
		defer func() {
			if err := st.Close(); err != nil {
				log.Fatal(err)
			}
		}()
		manager, err := session.New(st, session.Config{OnEvent: func(session.Event) {}})
		if err != nil {
			log.Fatal(err)
		}
		req := httptest.NewRequest("GET", "https://example.com/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		manager.Handler(handler).ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			return c.Name + "=" + c.Value
		}
		return ""
	}

	cookie := serve("", func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Put("theme", "dark"); err != nil {
			log.Fatal(err)
		}
	})
	serve(cookie, func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("theme after a restart:", session.From(r).GetString("theme"))
	})
	// Output:
	// theme after a restart: dark
}
