// Package ginsession runs a session.Manager as gin middleware.
//
//	sessions, err := session.New(st, session.Config{
//		ErrorHandler: ginsession.ErrorHandler(nil),
//	})
//	...
//	r := gin.New()
//	r.Use(ginsession.Middleware(sessions))
//	r.POST("/login", func(c *gin.Context) {
//		// ... check the password ...
//		if err := session.From(c.Request).Login(user); err != nil {
//			c.AbortWithError(http.StatusInternalServerError, err)
//			return
//		}
//		c.Redirect(http.StatusSeeOther, "/")
//	})
//
// Handlers reach the session with session.From(c.Request). (session.FromContext(c)
// works too when the engine's ContextWithFallback is set.)
//
// # When the session is committed
//
// gin keeps the status a handler sets (c.Status, and c.JSON and the other
// renderers before they write) until the first byte of the body, a
// WriteHeaderNow, a Flush or the end of the request. The middleware commits
// the session at that moment, just before the header goes out: the store
// write, Set-Cookie, Cache-Control: no-store and Vary: Cookie. A handler
// may therefore still change the session after c.Status; a change after
// the first byte of the body is refused with session.ErrCommitted. Aborted
// requests (c.AbortWithStatus, c.AbortWithStatusJSON) and redirects are
// committed the same way, and c.Stream and c.SSEvent stream: the body is
// never buffered, and the session cookie is in the first flush.
//
// # Errors
//
// When the session cannot be loaded (the store is unreachable, say), the
// middleware aborts the chain and the Manager's Config.ErrorHandler
// answers, as with net/http; no later handler runs. With [ErrorHandler] as
// Config.ErrorHandler the error is also added to c.Errors, where gin's
// logger and the application's error middleware see it. When the commit
// fails, the response the handler was writing is replaced by
// Config.ErrorHandler's, and gin records the handler's failed write in
// c.Errors as it does for any renderer error.
package ginsession

import (
	"bufio"
	"context"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sessionguard/sessionguard/session"
)

// contextKey carries the *gin.Context in the request's context, for
// ErrorHandler.
type contextKey struct{}

// Middleware returns gin middleware that runs m.Handler around the rest of
// the chain. It panics if m is nil.
func Middleware(m *session.Manager) gin.HandlerFunc {
	if m == nil {
		panic("ginsession: Middleware called with a nil *session.Manager")
	}
	return func(c *gin.Context) {
		ran := false
		orig := c.Writer
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran = true
			c.Request = r
			c.Writer = &writer{ResponseWriter: orig, session: w}
			c.Next()
		})
		// Restored even if the chain panics, for gin.Recovery's response.
		defer func() { c.Writer = orig }()
		r := c.Request.WithContext(context.WithValue(c.Request.Context(), contextKey{}, c))
		m.Handler(inner).ServeHTTP(orig, r)
		if !ran {
			c.Abort()
		}
	}
}

// ErrorHandler returns a session.Config.ErrorHandler for applications
// served through [Middleware]: it adds err to the request's c.Errors (as a
// gin.ErrorTypePrivate error), aborts the chain, and has write answer.
// write defaults to session.DefaultErrorHandler when nil. On a request
// that did not come through Middleware it only calls write.
func ErrorHandler(write func(http.ResponseWriter, *http.Request, error)) func(http.ResponseWriter, *http.Request, error) {
	if write == nil {
		write = session.DefaultErrorHandler
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if c, ok := r.Context().Value(contextKey{}).(*gin.Context); ok {
			_ = c.Error(err).SetType(gin.ErrorTypePrivate) // c.Error returns its argument, wrapped
			c.Abort()
		}
		write(w, r, err)
	}
}

// writer is gin's ResponseWriter with every header write going through
// the session's writer first. gin's own writer defers the status until
// the body; writer does the same, so the session commits at the moment
// the header really leaves.
type writer struct {
	gin.ResponseWriter                     // gin's writer: status, size, the rest
	session            http.ResponseWriter // the session's writer, over gin's
}

// commit sends the header through the session's writer, which commits the
// session first, unless it is already out.
func (w *writer) commit() {
	if !w.Written() {
		w.session.WriteHeader(w.Status())
		w.ResponseWriter.WriteHeaderNow()
	}
}

func (w *writer) WriteHeaderNow() { w.commit() }

func (w *writer) Write(b []byte) (int, error) {
	w.commit()
	return w.session.Write(b)
}

func (w *writer) WriteString(s string) (int, error) {
	w.commit()
	return w.Write([]byte(s))
}

func (w *writer) Flush() {
	w.commit()
	_ = http.NewResponseController(w.session).Flush() // gin's Flush reports nothing either
}

func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.session).Hijack()
}

// Unwrap gives http.ResponseController the session's writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.session }
