package audit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/sessionguard/sessionguard/audit"
)

// app is a small application that does sessions right: the ID comes from
// the cookie only, unknown IDs are ignored, and signing in issues a new ID.
type app struct {
	mu       sync.Mutex
	sessions map[string]string // ID → user ("" before sign-in)
}

func (a *app) user(r *http.Request) (string, bool) {
	c, err := r.Cookie("__Host-sid")
	if err != nil {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.sessions[c.Value]
	return u, ok && u != ""
}

func (a *app) start(w http.ResponseWriter, user string) {
	id := rand.Text()
	a.mu.Lock()
	a.sessions[id] = user
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "__Host-sid", Value: id, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/login":
		if r.Method == http.MethodPost && r.PostFormValue("user") == "alice" && r.PostFormValue("password") == "s3cret" {
			if c, err := r.Cookie("__Host-sid"); err == nil {
				a.mu.Lock()
				delete(a.sessions, c.Value) // the pre-login session dies
				a.mu.Unlock()
			}
			a.start(w, "alice") // signing in is a renewal
			http.Redirect(w, r, "/home", http.StatusSeeOther)
			return
		}
		fmt.Fprint(w, `<form method="post"><input name="user"><input type="password" name="password"><button>Sign in</button></form>`)
	case "/home":
		u, ok := a.user(r)
		if !ok {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		fmt.Fprintf(w, `<p>Hello %s</p><form method="post" action="/logout"><button>Log out</button></form>`, html.EscapeString(u))
	case "/logout":
		if c, err := r.Cookie("__Host-sid"); err == nil {
			a.mu.Lock()
			delete(a.sessions, c.Value)
			a.mu.Unlock()
		}
		http.SetCookie(w, &http.Cookie{Name: "__Host-sid", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true})
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		http.NotFound(w, r)
	}
}

// An application's own test can assert that it is fixation-proof: audit
// it through an httptest.Server and check the verdict.
func ExampleRun() {
	srv := httptest.NewServer(&app{sessions: map[string]string{}})
	defer srv.Close()

	rep, err := audit.Run(context.Background(), audit.Target{
		BaseURL:  srv.URL,
		User:     "alice",
		Password: "s3cret",
		Samples:  100,
	})
	if err != nil {
		fmt.Println("could not audit:", err)
		return
	}
	fmt.Println(rep.Summary)
	for _, id := range []string{audit.IDFixation, audit.IDFixationURL, audit.IDAdoptsUnknownID, audit.IDLogoutInvalidation} {
		c, _ := rep.Check(id)
		fmt.Printf("%s: %s\n", c.ID, c.Status)
	}
	fmt.Println("findings at high or above:", len(rep.Findings(audit.SeverityHigh)))
	// Output:
	// no fixation found
	// fixation: pass
	// fixation-url: pass
	// adopts-unknown-id: pass
	// logout-invalidation: pass
	// findings at high or above: 0
}
