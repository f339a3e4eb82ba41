package ginsession_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionguard/sessionguard/adapters/ginsession"
	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
)

func init() { gin.SetMode(gin.TestMode) }

// sessionCookie returns the session cookie res sets, or nil.
func sessionCookie(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestI10CommitBeforeHeader: whatever way a gin handler writes its
// response, the session is committed and its cookie is in the header.
func TestI10CommitBeforeHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(c *gin.Context)
		status int
	}{
		{"JSON", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) }, 200},
		{"String", func(c *gin.Context) { c.String(http.StatusCreated, "made") }, 201},
		{"Data", func(c *gin.Context) { c.Data(http.StatusOK, "text/plain", []byte("x")) }, 200},
		{"Redirect", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/next") }, 303},
		{"AbortWithStatus", func(c *gin.Context) { c.AbortWithStatus(http.StatusForbidden) }, 403},
		{"AbortWithStatusJSON", func(c *gin.Context) { c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"e": 1}) }, 400},
		{"Status only", func(c *gin.Context) { c.Status(http.StatusNoContent) }, 204},
		{"nothing written", func(c *gin.Context) {}, 200},
		{"Writer.Write", func(c *gin.Context) { _, _ = c.Writer.Write([]byte("raw")) }, 200},
		{"Writer.WriteString", func(c *gin.Context) { _, _ = c.Writer.WriteString("raw") }, 200},
		{"WriteHeaderNow", func(c *gin.Context) { c.Writer.WriteHeader(202); c.Writer.WriteHeaderNow() }, 202},
		{"Stream", func(c *gin.Context) {
			n := 0
			c.Stream(func(w io.Writer) bool { c.SSEvent("tick", n); n++; return n < 3 })
		}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sessiontest.NewManager(session.Config{})
			defer m.Close()
			r := gin.New()
			r.Use(ginsession.Middleware(m.Manager))
			r.POST("/login", func(c *gin.Context) {
				if err := session.From(c.Request).Login("alice"); err != nil {
					t.Errorf("Login: %v", err)
				}
				tc.handle(c)
			})
			r.GET("/", func(c *gin.Context) { c.String(200, session.From(c.Request).UserID()) })
			ts := httptest.NewServer(r)
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

// TestI10StreamingIsNotBuffered: the cookie arrives with the first
// flush, while the handler is still streaming.
func TestI10StreamingIsNotBuffered(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	release := make(chan struct{})
	r := gin.New()
	r.Use(ginsession.Middleware(m.Manager))
	r.GET("/events", func(c *gin.Context) {
		if err := session.From(c.Request).Put("seen", true); err != nil {
			t.Error(err)
		}
		c.SSEvent("first", "1")
		c.Writer.Flush()
		<-release
		c.SSEvent("second", "2")
	})
	ts := httptest.NewServer(r)
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
	if err != nil || !strings.Contains(line, "first") {
		t.Fatalf("first event: %q, %v", line, err)
	}
}

// TestI10ChangeAfterBody: gin defers the status, so a change after
// c.Status is kept; one after the body has started is refused.
func TestI10ChangeAfterBody(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	var afterStatus, afterBody error
	r := gin.New()
	r.Use(ginsession.Middleware(m.Manager))
	r.POST("/", func(c *gin.Context) {
		s := session.From(c.Request)
		c.Status(http.StatusAccepted)
		afterStatus = s.Put("a", "kept")
		c.String(http.StatusAccepted, "body")
		afterBody = s.Put("b", "late")
	})
	r.GET("/", func(c *gin.Context) {
		s := session.From(c.Request)
		c.String(200, s.GetString("a")+","+s.GetString("b"))
	})
	ts := httptest.NewServer(r)
	defer ts.Close()
	client := sessiontest.NewClient(ts)
	res, err := client.Post(ts.URL+"/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if afterStatus != nil || !errors.Is(afterBody, session.ErrCommitted) {
		t.Fatalf("after c.Status: %v (want nil); after the body: %v (want ErrCommitted)", afterStatus, afterBody)
	}
	if got := body(t, client, ts.URL+"/"); got != "kept," {
		t.Fatalf("stored values %q, want \"kept,\"", got)
	}
}

// TestI9StoreFailure: when the session cannot be loaded, no later handler
// runs and the error handler answers; with ErrorHandler the error is also
// in c.Errors for gin's error middleware.
func TestI9StoreFailure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler func(http.ResponseWriter, *http.Request, error)
		errors  int // in c.Errors
	}{
		{"ginsession.ErrorHandler", ginsession.ErrorHandler(nil), 1},
		{"default error handler", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sessiontest.NewManager(session.Config{ErrorHandler: tc.handler})
			cookie := m.Login("alice")
			m.Close() // the store is now unreachable
			var seen []error
			ran := false
			r := gin.New()
			r.Use(func(c *gin.Context) {
				c.Next()
				for _, e := range c.Errors {
					seen = append(seen, e.Err)
				}
			})
			r.Use(ginsession.Middleware(m.Manager))
			r.GET("/", func(c *gin.Context) { ran = true })
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(cookie)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != http.StatusServiceUnavailable || ran {
				t.Fatalf("status %d, handler ran: %v; want 503 without the handler", w.Code, ran)
			}
			if len(seen) != tc.errors || len(seen) == 1 && !errors.Is(seen[0], session.ErrStore) {
				t.Fatalf("c.Errors = %v, want %d session.ErrStore", seen, tc.errors)
			}
		})
	}
}

// TestI9CommitFailure: a commit that fails replaces the handler's
// response, and gin records the handler's failed write.
func TestI9CommitFailure(t *testing.T) {
	m := sessiontest.NewManager(session.Config{MaxDataSize: 64})
	defer m.Close()
	var errs []*gin.Error
	r := gin.New()
	r.Use(ginsession.Middleware(m.Manager))
	r.POST("/", func(c *gin.Context) {
		if err := session.From(c.Request).Put("big", strings.Repeat("x", 100)); err != nil {
			t.Error(err)
		}
		c.JSON(http.StatusOK, gin.H{"secret": "handler output"})
		errs = c.Errors
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusRequestEntityTooLarge || strings.Contains(w.Body.String(), "handler output") {
		t.Fatalf("got %d %q; want 413 without the handler's body", w.Code, w.Body)
	}
	if len(errs) != 1 {
		t.Fatalf("c.Errors = %v, want the failed render", errs)
	}
}

// TestPanicCommitsNothing: a handler that panics after changing the
// session commits nothing; gin.Recovery answers 500 without a cookie.
func TestPanicCommitsNothing(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) { c.AbortWithStatus(http.StatusInternalServerError) }))
	r.Use(ginsession.Middleware(m.Manager))
	r.POST("/", func(c *gin.Context) {
		if err := session.From(c.Request).Login("alice"); err != nil {
			t.Error(err)
		}
		panic("handler bug")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != http.StatusInternalServerError || len(w.Result().Cookies()) != 0 {
		t.Fatalf("got %d with cookies %v; want 500 and none", w.Code, w.Result().Cookies())
	}
	if n := m.Events.Count(session.EventLogin); n != 0 {
		t.Fatalf("%d sign-ins committed by a panicking handler", n)
	}
}
