package gorillamigrate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/sessionguard/sessionguard/migrate"
	"github.com/sessionguard/sessionguard/migrate/gorillamigrate"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

func Example() {
	// Before: a gorilla/sessions application with the default CookieStore
	// that signed alice in.
	legacy := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/login", nil)
	s, _ := legacy.Get(r, "app-session")
	s.Values["user"] = "alice"
	if err := s.Save(r, w); err != nil {
		fmt.Println(err)
		return
	}
	aliceCookie := w.Result().Cookies()[0]

	// After: sessionguard, with the migration in front of the handlers.
	manager := sessiontest.NewManager(session.Config{})
	defer manager.Close()
	migrator, err := gorillamigrate.New(gorillamigrate.Config{
		Config: migrate.Config{
			CookieName: "app-session",
			Cutoff:     time.Now().Add(30 * 24 * time.Hour),
			OnEvent: func(e migrate.Event) {
				fmt.Println("migration:", strings.TrimSpace(e.Outcome.String()+" "+e.UserID))
			},
		},
		Store: legacy,
		User: func(s *sessions.Session) (string, error) {
			id, _ := s.Values["user"].(string)
			return id, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	app := manager.Handler(migrator.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("user=%q\n", session.From(r).UserID())
	})))

	// A CookieStore keeps nothing on the server: a copy of the cookie
	// stays valid for gorilla, so the migration remembers it was used.
	for range 2 {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(aliceCookie)
		app.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Output:
	// migration: migrated alice
	// user="alice"
	// migration: replayed alice
	// user=""
}
