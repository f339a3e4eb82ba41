// Package echosession runs a session.Manager as echo middleware.
//
//	sessions, err := session.New(st, session.Config{
//		ErrorHandler: echosession.ErrorHandler,
//	})
//	...
//	e := echo.New()
//	e.Use(echosession.Middleware(sessions))
//	e.POST("/login", func(c echo.Context) error {
//		// ... check the password ...
//		if err := session.From(c.Request()).Login(user); err != nil {
//			return err
//		}
//		return c.Redirect(http.StatusSeeOther, "/")
//	})
//
// Handlers reach the session with session.From(c.Request()).
//
// # When the session is committed
//
// echo writes the header when a handler calls c.JSON, c.String,
// c.Redirect, c.NoContent, c.Stream or Response().WriteHeader, and net/http
// writes it when a handler returns without writing. The middleware
// commits the session just before either: the store write, Set-Cookie,
// Cache-Control: no-store and Vary: Cookie. A change to the session after
// that is refused with session.ErrCommitted. The body is never buffered:
// a streamed response carries the session cookie in its first flush.
//
// # Errors
//
// A handler's error is returned up the chain to echo's HTTPErrorHandler as
// usual. The session was committed when the handler returned (its values
// stored, its cookie in the header map), so the error page carries the
// session cookie. When the
// session layer itself fails (the store is unreachable, the values are too
// large), the Manager's Config.ErrorHandler answers; with [ErrorHandler]
// as Config.ErrorHandler, that is echo's HTTPErrorHandler, given an
// *echo.HTTPError (503, 413 or 429) whose Internal is the session error,
// and the middleware returns that error too.
package echosession

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/sessionguard/sessionguard/session"
)

// contextKey carries the request's *call in its context, for ErrorHandler.
type contextKey struct{}

// call is what the middleware and ErrorHandler share for one request.
type call struct {
	c   echo.Context
	err *echo.HTTPError // set by ErrorHandler
}

// Middleware returns echo middleware that runs m.Handler around the rest of
// the chain. It panics if m is nil.
func Middleware(m *session.Manager) echo.MiddlewareFunc {
	if m == nil {
		panic("echosession: Middleware called with a nil *session.Manager")
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			cl := &call{c: c}
			var herr error
			inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				// The handler writes to a Response over the session's writer,
				// which writes to the outer Response: both see the status.
				c.SetResponse(echo.NewResponse(w, c.Echo()))
				herr = next(c)
			})
			// Restored even if next panics, for a recovering middleware.
			defer c.SetResponse(res)
			r := c.Request().WithContext(context.WithValue(c.Request().Context(), contextKey{}, cl))
			m.Handler(inner).ServeHTTP(res, r)
			if herr == nil && cl.err != nil {
				return cl.err
			}
			return herr
		}
	}
}

// ErrorHandler is a session.Config.ErrorHandler for applications served
// through [Middleware]: it hands the session layer's failure to echo's
// HTTPErrorHandler as an *echo.HTTPError whose Internal is err: 413 for
// session.ErrTooLarge, 429 with Retry-After for session.ErrTooManyBadTokens,
// 503 with Retry-After for anything else. The context HTTPErrorHandler
// gets is a fresh one for the request (values set with c.Set are not in
// it). On a request that did not come through Middleware it is
// session.DefaultErrorHandler.
func ErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	cl, ok := r.Context().Value(contextKey{}).(*call)
	if !ok {
		session.DefaultErrorHandler(w, r, err)
		return
	}
	he := httpError(w.Header(), err)
	cl.err = he
	e := cl.c.Echo()
	e.HTTPErrorHandler(he, e.NewContext(r, w))
}

// httpError maps a session failure to the status session.DefaultErrorHandler
// would send, setting Retry-After in h where it applies.
func httpError(h http.Header, err error) *echo.HTTPError {
	code, retry := http.StatusServiceUnavailable, "5"
	var tm *session.TooManyBadTokensError
	switch {
	case errors.Is(err, session.ErrTooLarge):
		code, retry = http.StatusRequestEntityTooLarge, ""
	case errors.As(err, &tm):
		code, retry = http.StatusTooManyRequests, fmt.Sprint(int(tm.RetryAfter.Seconds())+1)
	}
	if retry != "" {
		h.Set("Retry-After", retry)
	}
	return echo.NewHTTPError(code, http.StatusText(code)).SetInternal(err)
}
