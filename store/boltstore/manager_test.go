package boltstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/boltstore"
)

// app is a small application on a Manager: /visit stores a value in an
// anonymous session, /login signs a user in, /logout signs out, /whoami
// tells who the request belongs to and what its session holds.
func app(t *testing.T, m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /visit", func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Put("cart", "3 apples"); err != nil {
			t.Errorf("Put: %v", err)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Login(r.FormValue("user"), session.Carry("cart")); err != nil {
			t.Errorf("Login: %v", err)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Logout(); err != nil {
			t.Errorf("Logout: %v", err)
		}
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		io.WriteString(w, "user="+s.UserID()+" cart="+s.GetString("cart"))
	})
	return m.Handler(mux)
}

// browser sends requests to a TLS test server, carrying the session cookie
// by hand so that the test can also replay an old one.
type browser struct {
	t      *testing.T
	url    string
	client *http.Client
	cookie string // "name=value" of the session cookie, or ""
}

// do sends the request with b's cookie, keeps the cookie the response sets
// (or clears it when the response expires it), and returns the body.
func (b *browser) do(method, path string) string {
	b.t.Helper()
	req, err := http.NewRequest(method, b.url+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if b.cookie != "" {
		req.Header.Set("Cookie", b.cookie)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: %s: %s", method, path, resp.Status, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name != session.DefaultCookieName {
			continue
		}
		if !c.Secure || !c.HttpOnly {
			b.t.Errorf("session cookie without Secure or HttpOnly: %v", c)
		}
		b.cookie = c.Name + "=" + c.Value
		if c.MaxAge < 0 {
			b.cookie = ""
		}
	}
	return string(body)
}

// events collects the Manager's events.
type events struct {
	mu   sync.Mutex
	list []session.Event
}

func (e *events) add(ev session.Event) { e.mu.Lock(); e.list = append(e.list, ev); e.mu.Unlock() }

func (e *events) count(kind session.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.list {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// start opens the store at path and serves app over TLS on it, as a
// process would at start-up. stop closes both, as at shutdown.
func start(t *testing.T, path string, ev *events) (url string, client *http.Client, stop func()) {
	t.Helper()
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(st, session.Config{OnEvent: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(app(t, m))
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Close()
			if err := st.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return srv.URL, srv.Client(), stop
}

// TestManagerSessionsSurviveRestart drives Manager.Handler on the bolt
// store through real HTTPS requests and cookies, across a restart: a
// sign-in made before the restart is honoured after it, and the cookie the
// browser held before signing in stays anonymous after the sign-in, before
// and after the restart (invariants I3, session fixation, and I6).
func TestManagerSessionsSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	ev := &events{}
	url, client, stop := start(t, path, ev)
	victim := &browser{t: t, url: url, client: client}

	victim.do("GET", "/visit")
	if victim.cookie == "" {
		t.Fatal("/visit set no session cookie")
	}
	// What an attacker who planted or learned this cookie holds.
	preLogin := &browser{t: t, url: url, client: client, cookie: victim.cookie}

	victim.do("POST", "/login?user=alice")
	if victim.cookie == preLogin.cookie {
		t.Fatal("login kept the pre-login session cookie")
	}
	if got, want := victim.do("GET", "/whoami"), "user=alice cart=3 apples"; got != want {
		t.Errorf("after login: %q, want %q", got, want)
	}
	if got := preLogin.do("GET", "/whoami"); got != "user= cart=" {
		t.Errorf("pre-login cookie after login: %q, want an anonymous empty session", got)
	}

	stop() // the process stops, the file stays
	url, client, stop = start(t, path, ev)
	victim.url, victim.client = url, client
	preLogin.url, preLogin.client = url, client

	if got, want := victim.do("GET", "/whoami"), "user=alice cart=3 apples"; got != want {
		t.Errorf("after restart: %q, want %q", got, want)
	}
	if got := preLogin.do("GET", "/whoami"); got != "user= cart=" {
		t.Errorf("pre-login cookie after restart: %q, want anonymous", got)
	}
	if n := ev.count(session.EventDeadToken); n < 2 {
		t.Errorf("%d dead-token events, want one per replay of the pre-login cookie", n)
	}

	// Logout after the restart kills the session for good.
	loggedIn := victim.cookie
	victim.do("POST", "/logout")
	replay := &browser{t: t, url: url, client: client, cookie: loggedIn}
	if got := replay.do("GET", "/whoami"); got != "user= cart=" {
		t.Errorf("replayed cookie after logout: %q, want anonymous", got)
	}
	stop()
	url, client, _ = start(t, path, ev)
	replay.url, replay.client = url, client
	if got := replay.do("GET", "/whoami"); got != "user= cart=" {
		t.Errorf("replayed cookie after logout and restart: %q, want anonymous", got)
	}
	if n := ev.count(session.EventStoreError); n != 0 {
		t.Errorf("%d store-error events", n)
	}
}

// TestManagerFailsClosedOnCorruptRecord checks invariant I9 through the
// bolt store: a record damaged in the file makes the request fail with the
// Manager's 503, never turns it into an anonymous session.
func TestManagerFailsClosedOnCorruptRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	ev := &events{}
	url, client, stop := start(t, path, ev)
	b := &browser{t: t, url: url, client: client}
	b.do("POST", "/login?user=alice")
	stop()

	// Damage the record with bbolt directly, as a disk or an operator might.
	token := strings.TrimPrefix(b.cookie, session.DefaultCookieName+"=")
	sum := sha256.Sum256([]byte(token))
	key := hex.EncodeToString(sum[:])
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		rec := tx.Bucket([]byte("records"))
		if rec == nil || rec.Get([]byte(key)) == nil {
			return fmt.Errorf("no record %.8s in the file", key)
		}
		return rec.Put([]byte(key), []byte("not a record"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	url, client, _ = start(t, path, ev)
	req, err := http.NewRequest("GET", url+"/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", b.cookie)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(body), "user=") {
		t.Errorf("request with a corrupt record: %s %q, want 503 from the error handler", resp.Status, body)
	}
	if ev.count(session.EventStoreError) != 1 {
		t.Errorf("%d store-error events, want 1", ev.count(session.EventStoreError))
	}
}
