package session_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

// browser serves app over HTTPS on loopback and returns a client with a
// cookie jar that follows redirects, as a browser would, and a function
// that stops the server.
func browser(app http.Handler) (get func(method, path string, form url.Values) string, stop func()) {
	srv := httptest.NewTLSServer(app)
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	get = func(method, path string, form url.Values) string {
		var resp *http.Response
		var err error
		if method == http.MethodPost {
			resp, err = client.PostForm(srv.URL+path, form)
		} else {
			resp, err = client.Get(srv.URL + path)
		}
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(resp.Request.URL.RequestURI() + " " + string(b))
	}
	return get, srv.Close
}

func quietManager() (*session.Manager, func()) {
	st := memstore.New(memstore.Options{})
	m, err := session.New(st, session.Config{OnEvent: func(session.Event) {}})
	if err != nil {
		log.Fatal(err)
	}
	return m, func() { st.Close() }
}

// A flash added in the sign-out request, after Logout, is shown once on the
// page the redirect leads to (it lands in a fresh anonymous session).
func ExampleSession_AddFlash() {
	sessions, closeStore := quietManager()
	defer closeStore()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Login("alice")
		s.AddSuccess("Welcome back.")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		s.Logout()
		s.AddInfo("You have been signed out.")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		for _, f := range session.From(r).Flashes() {
			fmt.Fprintf(w, "[%s] %s ", f.Level, f.Message)
		}
	})
	get, stop := browser(sessions.Handler(mux))
	defer stop()
	fmt.Println(get("POST", "/login", nil))
	fmt.Println(get("GET", "/", nil))
	fmt.Println(get("POST", "/logout", nil))
	// Output:
	// / [success] Welcome back.
	// /
	// / [info] You have been signed out.
}

// The page a signed-out visitor is redirected to learns why the session
// ended, and where to return after signing in.
func ExampleManager_RequireSignIn() {
	sessions, closeStore := quietManager()
	defer closeStore()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		if session.From(r).Ended() == session.EndCredentialsChanged {
			fmt.Fprint(w, "You were signed out because your password was changed. ")
		}
		fmt.Fprintf(w, "next=%s", session.Next(r, "/"))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password ...
		session.From(r).Login("alice")
		http.Redirect(w, r, session.Next(r, "/"), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") })
	signedIn := sessions.RequireSignIn("/login")
	mux.Handle("GET /settings", signedIn(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "settings of %s", session.From(r).UserID())
	})))
	get, stop := browser(sessions.Handler(mux))
	defer stop()

	fmt.Println(get("POST", "/login", nil))
	fmt.Println(get("GET", "/settings", nil))
	// The password is changed on another device.
	sessions.RevokeAll(context.Background(), "alice", session.EndCredentialsChanged)
	fmt.Println(get("GET", "/settings?tab=security", nil))
	fmt.Println(get("POST", "/login", url.Values{"next": {"/settings?tab=security"}}))
	fmt.Println(get("POST", "/login", url.Values{"next": {"//evil.example/"}}))
	// Output:
	// / home
	// /settings settings of alice
	// /login?next=%2Fsettings%3Ftab%3Dsecurity You were signed out because your password was changed. next=/settings?tab=security
	// /settings?tab=security settings of alice
	// / home
}

// The reason a session ended is readable on the page the request that
// found it dead redirects to, with no work by the application.
func ExampleSession_Ended() {
	sessions, closeStore := quietManager()
	defer closeStore()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) { session.From(r).Login("alice") })
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		if !session.From(r).Authenticated() {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		}
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ended: %s", session.From(r).Ended())
	})
	get, stop := browser(sessions.Handler(mux))
	defer stop()
	get("POST", "/login", nil)
	sessions.RevokeAll(context.Background(), "alice", session.EndAllSessionsEnded)
	fmt.Println(get("GET", "/dashboard", nil))
	fmt.Println(get("GET", "/login", nil)) // read once
	// Output:
	// /login ended: all-sessions-ended
	// /login ended: none
}

// A form protected by a per-session CSRF token, for clients that
// http.CrossOriginProtection cannot judge.
func ExampleCSRFProtection() {
	sessions, closeStore := quietManager()
	defer closeStore()
	csrf := session.NewCSRFProtection()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		// In a template: <input type="hidden" name="csrf_token" value="{{.CSRF}}">
		fmt.Fprint(w, session.CSRFToken(r))
	})
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "transferred")
	})
	get, stop := browser(sessions.Handler(csrf.Handler(mux)))
	defer stop()
	_, token, _ := strings.Cut(get("GET", "/form", nil), " ")
	fmt.Println(get("POST", "/transfer", url.Values{session.CSRFField: {token}}))
	fmt.Println(get("POST", "/transfer", nil))
	// Output:
	// /transfer transferred
	// /transfer Forbidden: missing or invalid CSRF token
}

func ExampleSafeNext() {
	for _, next := range []string{"/settings?tab=1", "//evil.example", "/\\evil.example", "https://evil.example/"} {
		_, ok := session.SafeNext(next)
		fmt.Printf("%-22s %v\n", next, ok)
	}
	// Output:
	// /settings?tab=1        true
	// //evil.example         false
	// /\evil.example         false
	// https://evil.example/  false
}

// At sign-in, flashes an anonymous visitor's session held are dropped,
// unless the application carries them; those the sign-in request adds are
// kept.
func ExampleCarryFlashes() {
	sessions, closeStore := quietManager()
	defer closeStore()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		session.From(r).AddInfo("Added to your cart.")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		var opts []session.LoginOption
		if r.FormValue("carry") != "" {
			opts = append(opts, session.CarryFlashes())
		}
		s.Login("alice", opts...)
		s.AddSuccess("Signed in.")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		for _, f := range session.From(r).Flashes() {
			fmt.Fprintf(w, "%q ", f.Message)
		}
	})
	get, stop := browser(sessions.Handler(mux))
	defer stop()
	get("POST", "/cart", nil)
	get("POST", "/login", nil)
	fmt.Println(get("GET", "/", nil))
	get("POST", "/cart", nil)
	get("POST", "/login", url.Values{"carry": {"1"}})
	fmt.Println(get("GET", "/", nil))
	// Output:
	// / "Signed in."
	// / "Added to your cart." "Signed in."
}

// A script sends the token in a header; Check tells code, not only
// middleware, whether a request may proceed.
func ExampleCSRFProtection_Check() {
	sessions, closeStore := quietManager()
	defer closeStore()
	csrf := session.NewCSRFProtection()
	app := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, session.From(r).CSRFToken())
			return
		}
		if err := csrf.Check(r); err != nil {
			http.Error(w, "refused", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, "accepted")
	}))
	srv := httptest.NewTLSServer(app)
	defer srv.Close()
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	resp, err := client.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	token, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, header := range []string{string(token), "forged"} {
		req, _ := http.NewRequest("POST", srv.URL, nil)
		req.Header.Set(session.CSRFHeader, header)
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 accepted
	// 403 refused
}
