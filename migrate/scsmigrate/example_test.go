package scsmigrate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/sessionguard/sessionguard/migrate"
	"github.com/sessionguard/sessionguard/migrate/scsmigrate"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

func Example() {
	// Before: an scs application that signed alice in.
	legacy := scs.New()
	legacy.Store = memstore.NewWithCleanupInterval(0)
	w := httptest.NewRecorder()
	legacy.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		legacy.Put(r.Context(), "userID", "alice")
	})).ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	aliceCookie := w.Result().Cookies()[0]

	// After: sessionguard, with the migration in front of the handlers.
	sessions := sessiontest.NewManager(session.Config{})
	defer sessions.Close()
	migrator, err := scsmigrate.New(scsmigrate.Config{
		Config: migrate.Config{
			CookieName: legacy.Cookie.Name,
			Cutoff:     time.Now().Add(30 * 24 * time.Hour),
			OnEvent:    func(e migrate.Event) { fmt.Println("migration:", strings.TrimSpace(e.Outcome.String()+" "+e.UserID)) },
		},
		Store: legacy.Store,
		User: func(values map[string]any) (string, error) {
			id, _ := values["userID"].(string)
			return id, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	app := sessions.Handler(migrator.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		fmt.Printf("user=%q recent sign-in=%v\n", s.UserID(), s.AuthenticatedWithin(time.Hour))
	})))

	for range 2 { // the legacy cookie works once
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(aliceCookie)
		app.ServeHTTP(httptest.NewRecorder(), r)
	}
	// Output:
	// migration: migrated alice
	// user="alice" recent sign-in=false
	// migration: not-found
	// user="" recent sign-in=false
}
