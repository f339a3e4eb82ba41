package sessiontest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

// dashboard is the application under test: it greets signed-in users.
func dashboard(w http.ResponseWriter, r *http.Request) {
	s := session.From(r)
	if !s.Authenticated() {
		http.Error(w, "please sign in", http.StatusUnauthorized)
		return
	}
	fmt.Fprintf(w, "Welcome %s", s.UserID())
}

// A request built with httptest.NewRequest gets a signed-in cookie in one
// line.
func ExampleManager_Login() {
	sessions := sessiontest.NewManager(session.Config{})
	defer sessions.Close()
	app := sessions.Handler(http.HandlerFunc(dashboard))

	r := httptest.NewRequest("GET", "/dashboard", nil)
	r.AddCookie(sessions.Login("alice"))
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body)
	// Output:
	// 200 Welcome alice
}

// A client for an httptest.Server, signed in as a user. The default
// __Host- cookie works over the server's plain HTTP, as in a browser.
func ExampleManager_Client() {
	sessions := sessiontest.NewManager(session.Config{})
	defer sessions.Close()
	ts := httptest.NewServer(sessions.Handler(http.HandlerFunc(dashboard)))
	defer ts.Close()

	for _, client := range []*http.Client{sessions.Client(ts, "alice"), sessiontest.NewClient(ts)} {
		res, err := client.Get(ts.URL + "/dashboard")
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(res.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 Welcome alice
	// 401 please sign in
}

// Time moves only when the test says so.
func ExampleManager_ExpireIdle() {
	sessions := sessiontest.NewManager(session.Config{IdleTimeout: 15 * time.Minute})
	defer sessions.Close()
	app := sessions.Handler(http.HandlerFunc(dashboard))
	cookie := sessions.Login("alice")
	get := func() string {
		r := httptest.NewRequest("GET", "/dashboard", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return fmt.Sprint(w.Code)
	}

	sessions.Clock.Advance(14 * time.Minute)
	fmt.Println("after 14 minutes:", get())
	sessions.ExpireIdle()
	fmt.Println("after 15 idle minutes:", get())
	ended, _ := sessions.Events.Last(session.EventExpiredToken)
	fmt.Println("event:", ended.Kind)
	// Output:
	// after 14 minutes: 200
	// after 15 idle minutes: 401
	// event: expired-token
}

// A session in constant use still ends at its absolute timeout.
func ExampleManager_ExpireAbsolute() {
	sessions := sessiontest.NewManager(session.Config{})
	defer sessions.Close()
	app := sessions.Handler(http.HandlerFunc(dashboard))
	cookie := sessions.Login("alice")
	var codes []int
	sessions.ExpireAbsolute(func() {
		r := httptest.NewRequest("GET", "/dashboard", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		codes = append(codes, w.Code)
	})
	fmt.Println("requests:", len(codes), "first:", codes[0], "last:", codes[len(codes)-1])
	// Output:
	// requests: 26 first: 200 last: 401
}

// The Recorder is the place to assert on what the session layer saw.
func ExampleRecorder() {
	sessions := sessiontest.NewManager(session.Config{})
	defer sessions.Close()
	app := sessions.Handler(http.HandlerFunc(dashboard))

	r := httptest.NewRequest("GET", "/dashboard?session=planted", nil)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: "invented"})
	app.ServeHTTP(httptest.NewRecorder(), r)
	for _, e := range sessions.Events.Suspicious() {
		fmt.Println(e.Kind)
	}
	// Output:
	// token-in-url
	// unknown-token
}
