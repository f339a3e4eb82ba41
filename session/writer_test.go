package session_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
)

// The body is streamed, not buffered: the client reads the first chunk,
// with the session cookie in the header, while the handler is still
// running (I10).
func TestI10_StreamingNotBuffered(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	release := make(chan struct{})
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Put("k", "v")
		io.WriteString(w, "first\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through ResponseController: %v", err)
		}
		<-release
		io.WriteString(w, "second\n")
	})))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Set-Cookie") == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers before the body: %v", resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk: %q %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "second\n" {
		t.Fatalf("rest: %q", rest)
	}
}

func TestI10_WriteAfterCommitReported(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	var putErr, loginErr error
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("body"))
		putErr = session.From(r).Put("k", "late")
		loginErr = session.From(r).Login("alice")
	}, e.req("GET", "/"))
	if !errors.Is(putErr, session.ErrCommitted) || !errors.Is(loginErr, session.ErrCommitted) {
		t.Fatalf("Put after the header: %v; Login: %v", putErr, loginErr)
	}
	if e.ev.count(session.EventWriteAfterCommit) != 2 {
		t.Fatalf("want two write-after-commit events, got %d", e.ev.count(session.EventWriteAfterCommit))
	}
	if rec.Header().Get("Set-Cookie") != "" {
		t.Fatal("a late change produced a cookie")
	}
}

func TestI10_HandlerThatWritesNothingCommits(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	rec := e.do(putHandler("k", "v"), e.req("GET", "/"))
	if e.token(rec) == "" || rec.Code != 200 {
		t.Fatal("no commit when the handler wrote nothing")
	}
}

func TestI10_InformationalHeadersDoNotCommit(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		session.From(r).Put("k", "v") // still before the real header
		w.WriteHeader(http.StatusCreated)
	}, e.req("GET", "/"))
	if rec.Code != http.StatusCreated && rec.Code != http.StatusEarlyHints {
		t.Fatalf("code %d", rec.Code)
	}
	if e.ev.count(session.EventWriteAfterCommit) != 0 {
		t.Fatal("a 103 response committed the session")
	}
	if e.ev.count(session.EventCreated) != 1 {
		t.Fatal("session not created")
	}
}

func TestI10_HijackAndDeadlines(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		session.From(r).Put("k", "v")
		conn, bw, err := rc.Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		bw.Flush()
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hijacked" {
		t.Fatalf("body %q", body)
	}
	// The session was stored before the connection was handed over.
	if e.ev.count(session.EventCreated) != 1 {
		t.Fatal("no session stored before Hijack")
	}
}

func TestI10_ReadFromAndWriteString(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Put("k", "v")
		io.Copy(w, strings.NewReader("copied "))
		io.WriteString(w, "written")
	}, e.req("GET", "/"))
	if rec.Body.String() != "copied written" || e.token(rec) == "" {
		t.Fatalf("body %q", rec.Body.String())
	}
}

func TestCacheHeaders(t *testing.T) {
	e := newEnv(t, newMem(t), session.Config{})
	tok := e.token(e.do(loginHandler("alice"), e.req("POST", "/")))
	t.Run("signed-in page", func(t *testing.T) {
		rec := e.do(whoami, e.req("GET", "/", tok))
		if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Vary") != "Cookie" {
			t.Fatalf("headers %v", rec.Header())
		}
	})
	t.Run("handler's choice kept without Set-Cookie", func(t *testing.T) {
		rec := e.do(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "private, max-age=60")
		}, e.req("GET", "/", tok))
		if rec.Header().Get("Cache-Control") != "private, max-age=60" {
			t.Fatalf("Cache-Control %q", rec.Header().Get("Cache-Control"))
		}
	})
	t.Run("Set-Cookie forces no-store", func(t *testing.T) {
		rec := e.do(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=600")
			session.From(r).Login("alice")
		}, e.req("GET", "/", tok))
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("a response setting the cookie is cacheable: %q", rec.Header().Get("Cache-Control"))
		}
	})
	t.Run("anonymous page untouched", func(t *testing.T) {
		rec := e.do(whoami, e.req("GET", "/"))
		if rec.Header().Get("Cache-Control") != "" || rec.Header().Get("Vary") != "" {
			t.Fatalf("headers on a session-less response: %v", rec.Header())
		}
	})
}

func TestNilSessionWithoutMiddleware(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	s := session.From(r)
	if s != nil {
		t.Fatal("session without middleware")
	}
	if s.GetString("k") != "" || s.UserID() != "" || s.Authenticated() {
		t.Fatal("nil session reads something")
	}
	for name, err := range map[string]error{"Put": s.Put("k", "v"), "Login": s.Login("a"), "Logout": s.Logout(), "Renew": s.Renew()} {
		if !errors.Is(err, session.ErrNoSession) {
			t.Errorf("%s on a nil session: %v", name, err)
		}
	}
}
