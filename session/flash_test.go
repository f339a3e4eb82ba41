package session_test

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
)

// flashes reads (and so consumes) the flashes of a request bearing tokens.
func (e *env) flashes(tokens ...string) []session.Flash {
	e.t.Helper()
	var got []session.Flash
	e.do(func(w http.ResponseWriter, r *http.Request) {
		got = session.From(r).Flashes()
	}, e.req("GET", "/", tokens...))
	return got
}

// addFlash returns a handler that adds one flash.
func addFlash(msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).AddInfo(msg); err != nil {
			http.Error(w, err.Error(), 500)
		}
	}
}

func TestFlashesAreShownOnce(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		for _, err := range []error{s.AddSuccess("saved"), s.AddWarning("low disk"), s.AddError("failed"), s.AddFlash(session.FlashInfo, "note")} {
			if err != nil {
				t.Fatal(err)
			}
		}
		http.Redirect(w, r, "/next", http.StatusSeeOther)
	}, e.req("POST", "/")))
	want := []session.Flash{{session.FlashSuccess, "saved"}, {session.FlashWarning, "low disk"}, {session.FlashError, "failed"}, {session.FlashInfo, "note"}}
	if got := e.flashes(tok); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the redirect: %v, want %v", got, want)
	}
	if got := e.flashes(tok); got != nil {
		t.Fatalf("shown twice: %v", got)
	}
	var keys []string
	e.do(func(w http.ResponseWriter, r *http.Request) { keys = session.From(r).Keys() }, e.req("GET", "/", tok))
	if len(keys) != 0 {
		t.Fatalf("Keys lists the session layer's own keys: %q", keys)
	}
}

func TestFlashErrors(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	var errs []error
	e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		errs = append(errs, s.AddFlash(0, "x"), s.AddFlash(9, "x"))
		for i := range session.MaxFlashes {
			if err := s.AddInfo(fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		errs = append(errs, s.AddInfo("one too many"))
	}, e.req("GET", "/"))
	for i, want := range []error{session.ErrFlashLevel, session.ErrFlashLevel, session.ErrTooManyFlashes} {
		if !errors.Is(errs[i], want) {
			t.Errorf("error %d: %v, want %v", i, errs[i], want)
		}
	}
	var nilSession *session.Session
	if err := nilSession.AddInfo("x"); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("nil session: %v", err)
	}
}

// TestI13Flashes: flashes an anonymous session held before the sign-in do
// not reach the signed-in user unless carried; those the sign-in request
// adds do.
func TestI13Flashes(t *testing.T) {
	cases := []struct {
		name  string
		carry bool
		want  []string
	}{
		{"dropped", false, []string{"before login", "after login"}},
		{"carried", true, []string{"planted", "before login", "after login"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, newMem(t), session.Config{})
			anon := e.token(e.do(addFlash("planted"), e.req("GET", "/")))
			rec := e.do(func(w http.ResponseWriter, r *http.Request) {
				s := session.From(r)
				var opts []session.LoginOption
				if tc.carry {
					opts = append(opts, session.CarryFlashes())
				}
				if err := errors.Join(s.AddInfo("before login"), s.Login("alice", opts...), s.AddInfo("after login")); err != nil {
					t.Fatal(err)
				}
			}, e.req("POST", "/login", anon))
			if got := messages(e.flashes(e.token(rec))); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("signed-in flashes %q, want %q", got, tc.want)
			}
		})
	}
}

// TestI15FlashesAcrossLogout: flashes the logout request adds, before or
// after Logout, reach the next page; the signed-out user's pending ones
// do not.
func TestI15FlashesAcrossLogout(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.signIn("alice", "test")
	e.do(addFlash("pending for alice"), e.req("GET", "/", tok))
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := errors.Join(s.AddWarning("before"), s.Put("k", "gone"), s.Logout(), s.AddInfo("You have been signed out.")); err != nil {
			t.Fatal(err)
		}
	}, e.req("POST", "/logout", tok))
	fresh := e.token(rec)
	if got, want := messages(e.flashes(fresh)), []string{"before", "You have been signed out."}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after logout: %q, want %q", got, want)
	}
	if got := e.do(whoami, e.req("GET", "/", fresh)).Body.String(); got != "user= k=" {
		t.Fatalf("the fresh session holds %q", got)
	}
}

// TestFlashesMergeConcurrentRequests: two requests of one session adding
// flashes at once both keep theirs (I8).
func TestFlashesMergeConcurrentRequests(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(putHandler("k", "v"), e.req("GET", "/")))
	loaded, inner := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.do(func(w http.ResponseWriter, r *http.Request) {
			close(loaded)
			<-inner // loaded before the other request saves
			_ = session.From(r).AddInfo("first")
		}, e.req("GET", "/", tok))
	}()
	<-loaded
	e.do(func(w http.ResponseWriter, r *http.Request) {
		_ = session.From(r).AddInfo("second")
	}, e.req("GET", "/", tok))
	close(inner)
	<-done
	got := strings.Join(messages(e.flashes(tok)), ",")
	if got != "second,first" {
		t.Fatalf("flashes %q, want both", got)
	}
}

func messages(fs []session.Flash) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Message)
	}
	return out
}

// TestI13FlashesOtherUser: a sign-in over another user's session carries
// none of that user's flashes, even with CarryFlashes, but keeps the
// request's own.
func TestI13FlashesOtherUser(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	bob := e.signIn("bob", "test")
	e.do(addFlash("for bob"), e.req("GET", "/", bob))
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := errors.Join(s.AddInfo("mine"), s.Login("alice", session.CarryFlashes())); err != nil {
			t.Fatal(err)
		}
	}, e.req("POST", "/login", bob))
	if got := messages(e.flashes(e.token(rec))); !reflect.DeepEqual(got, []string{"mine"}) {
		t.Fatalf("alice sees %q", got)
	}
}

// TestFlashesAcrossRotation: a periodic rotation, whose record carries
// metadata of the session layer, keeps flashes and the CSRF token.
func TestFlashesAcrossRotation(t *testing.T) {
	clk := newClock()
	e := newEnv(t, newMem(t), session.Config{Now: clk.Now, IdleTimeout: time.Hour,
		Rotation: session.RotationConfig{Every: time.Minute, Grace: 10 * time.Second}})
	tok := e.signIn("alice", "test")
	csrf, _ := e.csrfToken(tok)
	e.do(addFlash("kept"), e.req("GET", "/", tok))
	clk.advance(2 * time.Minute)
	next := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {}, e.req("GET", "/", tok)))
	if next == tok {
		t.Fatal("no rotation")
	}
	if got := messages(e.flashes(next)); !reflect.DeepEqual(got, []string{"kept"}) {
		t.Fatalf("after rotation: %q", got)
	}
	if got := e.post(session.NewCSRFProtection(), "POST", csrf, "", next); got != 200 {
		t.Fatalf("CSRF token refused after rotation: %d", got)
	}
}

// TestFlashesReadWhileAnotherAdds: a flash added by another request while
// this one shows the flashes is not lost with those shown (I15).
func TestFlashesReadWhileAnotherAdds(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(addFlash("old"), e.req("GET", "/")))
	loaded, added, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var shown []string
	go func() {
		defer close(done)
		e.do(func(w http.ResponseWriter, r *http.Request) {
			close(loaded)
			<-added
			shown = messages(session.From(r).Flashes())
		}, e.req("GET", "/", tok))
	}()
	<-loaded
	e.do(addFlash("new"), e.req("GET", "/", tok))
	close(added)
	<-done
	if !reflect.DeepEqual(shown, []string{"old"}) {
		t.Fatalf("shown %q", shown)
	}
	if got := messages(e.flashes(tok)); !reflect.DeepEqual(got, []string{"new"}) {
		t.Fatalf("next page: %q, want the flash added meanwhile", got)
	}
}
