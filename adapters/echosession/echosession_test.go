package echosession_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/sessionguard/sessionguard/adapters/echosession"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

func sessionCookie(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func body(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newEcho(m *sessiontest.Manager) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(echosession.Middleware(m.Manager))
	return e
}

// TestI10CommitBeforeHeader: whatever way an echo handler answers, the
// session is committed and its cookie is in the header.
func TestI10CommitBeforeHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(c echo.Context) error
		status int
	}{
		{"JSON", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]bool{"ok": true}) }, 200},
		{"String", func(c echo.Context) error { return c.String(http.StatusCreated, "made") }, 201},
		{"Blob", func(c echo.Context) error { return c.Blob(http.StatusOK, "text/plain", []byte("x")) }, 200},
		{"Redirect", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/next") }, 303},
		{"NoContent", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, 204},
		{"nothing written", func(c echo.Context) error { return nil }, 200},
		{"returned HTTPError", func(c echo.Context) error { return echo.NewHTTPError(http.StatusForbidden, "no") }, 403},
		{"returned plain error", func(c echo.Context) error { return errors.New("boom") }, 500},
		{"Stream", func(c echo.Context) error {
			return c.Stream(http.StatusOK, "text/plain", strings.NewReader("streamed"))
		}, 200},
		{"Response.Write", func(c echo.Context) error { _, err := c.Response().Write([]byte("raw")); return err }, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sessiontest.NewManager(session.Config{})
			defer m.Close()
			e := newEcho(m)
			e.POST("/login", func(c echo.Context) error {
				if err := session.From(c.Request()).Login("alice"); err != nil {
					t.Errorf("Login: %v", err)
				}
				return tc.handle(c)
			})
			e.GET("/", func(c echo.Context) error { return c.String(200, session.From(c.Request()).UserID()) })
			ts := httptest.NewServer(e)
			defer ts.Close()
			client := sessiontest.NewClient(ts)
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			res, err := client.Post(ts.URL+"/login", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if sessionCookie(res, m.CookieName()) == nil || res.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("no session cookie or Cache-Control in %v", res.Header)
			}
			if got := body(t, client, ts.URL+"/"); got != "alice" {
				t.Fatalf("next request sees user %q", got)
			}
		})
	}
}

// TestI10StreamingIsNotBuffered: the cookie arrives with the first flush,
// while the handler is still streaming.
func TestI10StreamingIsNotBuffered(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	release := make(chan struct{})
	e := newEcho(m)
	e.GET("/events", func(c echo.Context) error {
		if err := session.From(c.Request()).Put("seen", true); err != nil {
			return err
		}
		if _, err := io.WriteString(c.Response(), "first\n"); err != nil {
			return err
		}
		c.Response().Flush()
		<-release
		_, err := io.WriteString(c.Response(), "second\n")
		return err
	})
	ts := httptest.NewServer(e)
	defer ts.Close()
	defer close(release)
	res, err := sessiontest.NewClient(ts).Get(ts.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if sessionCookie(res, m.CookieName()) == nil {
		t.Fatalf("no session cookie in the streamed response's header: %v", res.Header)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first line: %q, %v", line, err)
	}
}

// TestI10ChangeAfterCommit: a change after the header is refused.
func TestI10ChangeAfterCommit(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	var late error
	e := newEcho(m)
	e.POST("/", func(c echo.Context) error {
		err := c.String(http.StatusOK, "done")
		late = session.From(c.Request()).Put("late", "x")
		return err
	})
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	if !errors.Is(late, session.ErrCommitted) {
		t.Fatalf("change after the header: %v, want ErrCommitted", late)
	}
}

// TestI9SessionFailures: a session-layer failure goes through echo's
// HTTPErrorHandler with ErrorHandler, the handler does not run (or its
// response is replaced), and the logger middleware sees the status.
func TestI9SessionFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      session.Config
		cookie   bool // send a signed-in cookie
		closed   bool // close the store first
		status   int
		handlers int // how often the handler runs
	}{
		{"store unreachable", session.Config{ErrorHandler: echosession.ErrorHandler}, true, true, 503, 0},
		{"values too large", session.Config{ErrorHandler: echosession.ErrorHandler, MaxDataSize: 64}, false, false, 413, 1},
		{"default error handler", session.Config{}, true, true, 503, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sessiontest.NewManager(tc.cfg)
			var cookie *http.Cookie
			if tc.cookie {
				cookie = m.Login("alice")
			}
			if tc.closed {
				m.Close()
			} else {
				defer m.Close()
			}
			e := echo.New()
			var logged []int
			var errs []error
			handled := 0
			e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
				LogStatus: true, LogError: true, HandleError: true,
				LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
					logged = append(logged, v.Status)
					errs = append(errs, v.Error)
					return nil
				},
			}))
			e.Use(echosession.Middleware(m.Manager))
			e.POST("/", func(c echo.Context) error {
				handled++
				if err := session.From(c.Request()).Put("big", strings.Repeat("x", 100)); err != nil {
					return err
				}
				return c.String(http.StatusOK, "handler output")
			})
			req := httptest.NewRequest("POST", "/", nil)
			if cookie != nil {
				req.AddCookie(cookie)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != tc.status || handled != tc.handlers || strings.Contains(w.Body.String(), "handler output") {
				t.Fatalf("got %d %q, handler ran %d times; want %d, %d times", w.Code, w.Body, handled, tc.status, tc.handlers)
			}
			if len(logged) != 1 || logged[0] != tc.status {
				t.Fatalf("logger saw statuses %v, want [%d]", logged, tc.status)
			}
			if tc.cfg.ErrorHandler != nil {
				if !strings.Contains(w.Body.String(), `"message"`) {
					t.Fatalf("body %q is not echo's error JSON", w.Body)
				}
				if errs[0] == nil {
					t.Fatal("the logger saw no error")
				}
			}
		})
	}
}

// TestPanicCommitsNothing: a handler that panics after changing the
// session commits nothing; echo's Recover answers 500 without a cookie.
func TestPanicCommitsNothing(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	e := echo.New()
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true, DisableErrorHandler: false}))
	e.Use(echosession.Middleware(m.Manager))
	e.POST("/", func(c echo.Context) error {
		if err := session.From(c.Request()).Login("alice"); err != nil {
			t.Error(err)
		}
		panic("handler bug")
	})
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusInternalServerError || len(w.Result().Cookies()) != 0 {
		t.Fatalf("got %d with cookies %v; want 500 and none", w.Code, w.Result().Cookies())
	}
	if n := m.Events.Count(session.EventLogin); n != 0 {
		t.Fatalf("%d sign-ins committed by a panicking handler", n)
	}
}
