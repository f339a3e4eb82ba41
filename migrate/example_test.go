package migrate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/sessionguard/sessionguard/migrate"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

// homegrown is an application's own session table, the legacy library of
// this example: token -> user.
type homegrown struct {
	mu    sync.Mutex
	users map[string]string
}

func (h *homegrown) Find(r *http.Request, c *http.Cookie) (migrate.Legacy, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	user, ok := h.users[c.Value]
	return migrate.Legacy{UserID: user, Expires: time.Now().Add(24 * time.Hour)}, ok, nil
}

func (h *homegrown) Destroy(r *http.Request, c *http.Cookie) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.users, c.Value)
	return nil
}

// A Source for a session library of the application's own making.
func ExampleSource() {
	legacy := &homegrown{users: map[string]string{"legacy-token-of-alice": "alice"}}
	manager := sessiontest.NewManager(session.Config{})
	defer manager.Close()
	migrator, err := migrate.New(migrate.Config{
		Source:     legacy,
		CookieName: "SESSID",
		Cutoff:     time.Now().Add(30 * 24 * time.Hour),
		OnEvent:    func(e migrate.Event) { fmt.Println("migration:", e.Outcome) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	app := manager.Handler(migrator.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("user=%q\n", session.From(r).UserID())
	})))

	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "SESSID", Value: "legacy-token-of-alice"})
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Println("legacy sessions left:", len(legacy.users))
	for _, c := range w.Result().Cookies() {
		fmt.Printf("Set-Cookie %s (expired: %v)\n", c.Name, c.MaxAge < 0)
	}
	// Output:
	// migration: migrated
	// user="alice"
	// legacy sessions left: 0
	// Set-Cookie SESSID (expired: true)
	// Set-Cookie __Host-sid (expired: false)
}
