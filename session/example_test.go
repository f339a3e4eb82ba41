package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// cookieFrom returns the session cookie a response set, for the examples'
// hand-driven "browser".
func cookieFrom(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == session.DefaultCookieName {
			return c
		}
	}
	return nil
}

// serve sends one request, with cookie c if not nil, as the examples'
// hand-driven "browser".
func serve(app http.Handler, method, path string, c *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if c != nil {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	return w
}

// Signing in renews the session: the token the browser held before (which
// an attacker may have planted) is dead afterwards.
func ExampleSession_Login() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := session.New(store, session.Config{OnEvent: func(session.Event) {}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Put("cart", "1 book")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... verify the password first ...
		// Nothing of the anonymous session is kept unless named: an
		// attacker may have prepared it.
		if err := session.From(r).Login("alice", session.Carry("cart")); err != nil {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		fmt.Fprintf(w, "user=%q cart=%q", s.UserID(), s.GetString("cart"))
	})
	app := sessions.Handler(mux)

	send := func(method, path string, c *http.Cookie) *httptest.ResponseRecorder {
		return serve(app, method, path, c)
	}
	before := cookieFrom(send("POST", "/cart", nil))
	after := cookieFrom(send("POST", "/login", before))
	fmt.Println("new token at login:", after.Value != before.Value)
	fmt.Println("new token:", send("GET", "/", after).Body)
	fmt.Println("old token:", send("GET", "/", before).Body)
	// Output:
	// new token at login: true
	// new token: user="alice" cart="1 book"
	// old token: user="" cart=""
}

// Logout destroys the session on the server, so a copy of the cookie is
// worthless afterwards.
func ExampleSession_Logout() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, _ := session.New(store, session.Config{OnEvent: func(session.Event) {}})
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		switch r.URL.Path {
		case "/login":
			s.Login("alice")
		case "/logout":
			s.Logout()
		}
		fmt.Fprintf(w, "user=%q", s.UserID())
	}))
	send := func(path string, c *http.Cookie) *httptest.ResponseRecorder { return serve(app, "POST", path, c) }
	cookie := cookieFrom(send("/login", nil))
	out := send("/logout", cookie)
	fmt.Println("logout expires the cookie:", strings.Contains(out.Header().Get("Set-Cookie"), "Max-Age=0"))
	fmt.Println("replayed cookie:", send("/", cookie).Body)
	// Output:
	// logout expires the cookie: true
	// replayed cookie: user=""
}

// After a password change, sign the user out of every other device and
// renew the current session.
func ExampleSession_RevokeOthers() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, _ := session.New(store, session.Config{OnEvent: func(session.Event) {}})
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		switch r.URL.Path {
		case "/login":
			s.Login("alice")
		case "/password":
			// ... change the password ...
			n, err := s.RevokeOthers(r.Context(), session.EndCredentialsChanged)
			if err != nil {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintf(w, "signed out %d other sessions; ", n)
		}
		fmt.Fprintf(w, "user=%q", s.UserID())
	}))
	send := func(path string, c *http.Cookie) *httptest.ResponseRecorder { return serve(app, "POST", path, c) }
	laptop := cookieFrom(send("/login", nil))
	phone := cookieFrom(send("/login", nil))
	res := send("/password", laptop)
	fmt.Println(res.Body)
	fmt.Println("phone:", send("/", phone).Body)
	fmt.Println("laptop, renewed:", send("/", cookieFrom(res)).Body)
	// Output:
	// signed out 1 other sessions; user="alice"
	// phone: user=""
	// laptop, renewed: user="alice"
}

// A sign-in whose request began before the user's sessions were revoked
// (the password changed on another device, or another instance) is
// refused when it commits: the error handler gets ErrSignInRevoked, and
// Ended tells why.
func ExampleErrSignInRevoked() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	var sessions *session.Manager
	sessions, _ = session.New(store, session.Config{
		OnEvent: func(session.Event) {},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, session.ErrSignInRevoked) {
				fmt.Println("refused:", session.From(r).Ended())
			}
			session.DefaultErrorHandler(w, r, err)
		},
	})
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ... the old password checks out ...
		session.From(r).Login("alice")
		// Meanwhile, on the user's phone, the password is changed.
		sessions.RevokeAll(context.Background(), "alice", session.EndCredentialsChanged)
	}))
	res := serve(app, "POST", "/login", nil)
	fmt.Println(res.Code, cookieFrom(res) == nil)
	// Output:
	// refused: credentials-changed
	// 409 true
}

// Sensitive actions can demand a recent sign-in.
func ExampleManager_RequireRecentAuth() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, _ := session.New(store, session.Config{
		OnEvent: func(session.Event) {},
		ReauthHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/login?next=/account/password", http.StatusSeeOther)
		}),
	})
	changePassword := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "change your password")
	})
	mux := http.NewServeMux()
	mux.Handle("/account/password", sessions.RequireRecentAuth(5*time.Minute)(changePassword))
	w := httptest.NewRecorder()
	sessions.Handler(mux).ServeHTTP(w, httptest.NewRequest("GET", "/account/password", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output:
	// 303 /login?next=/account/password
}

// Every instance loads the same keys, here from an environment variable
// (a key file works the same with session.ReadKeysFile). Tokens then carry
// a tag: an invented token is refused before the store is asked, and a
// token this server issued never counts as a guess.
func ExampleKeysFromEnv() {
	// In production the variable is set by the deployment, for instance
	// SESSIONGUARD_KEYS="$(openssl rand -base64 32),<the previous key>".
	os.Setenv("SESSIONGUARD_KEYS", "l1yRj1BoqHdm0AvM8Ghrfg4wHuySZ0ob2Sxdku1eM3g=, N+1Ep1J4FEWNq6k9y6nrwuH3GOOVr0m5/Ou9YeX9jt8=")
	keys, err := session.KeysFromEnv("SESSIONGUARD_KEYS")
	if err != nil {
		log.Fatal(err) // refuse to start without keys rather than run without them
	}
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := session.New(store, session.Config{Keys: keys, OnEvent: func(session.Event) {}})
	if err != nil {
		log.Fatal(err)
	}
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Put("seen", true)
	}))
	c := cookieFrom(serve(app, "GET", "/", nil))
	fmt.Println(keys, "token length", len(c.Value))
	// Output: session.Keys(2 keys) token length 64
}

// The application signs its own data with the same key set, under a
// purpose of its own, so that one key file serves the library and the
// application and rotating it rotates both.
func ExampleKeys_Derive() {
	keys, err := session.ParseKeys("l1yRj1BoqHdm0AvM8Ghrfg4wHuySZ0ob2Sxdku1eM3g=")
	if err != nil {
		log.Fatal(err)
	}
	notices := keys.Derive("myapp/notice")
	msg := []byte("reason=signed-out")
	sig := notices.Sign(msg)
	fmt.Println(notices.Verify(msg, sig), keys.Derive("myapp/url").Verify(msg, sig))
	// Output: true false
}
