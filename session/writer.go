package session

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
)

// errCommitFailed is returned by Write after the session could not be
// committed and Config.ErrorHandler answered instead of the handler.
var errCommitFailed = errors.New("session: response replaced by the error handler")

// responseWriter commits the session just before the first header write
// (invariant I10). It holds no body bytes: every Write goes straight through.
type responseWriter struct {
	w           http.ResponseWriter
	s           *Session
	wroteHeader bool
	failed      bool
}

// commit runs the session commit; on failure the error handler answers and
// the handler's own response is discarded. cookie says whether the
// response the commit precedes can carry a cookie.
func (rw *responseWriter) commit(cookie bool) bool {
	if err := rw.s.commit(rw.w.Header(), cookie); err != nil {
		rw.failed = true
		rw.wroteHeader = true
		rw.s.m.fail(rw.w, rw.s.req, err)
		return false
	}
	return true
}

func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

func (rw *responseWriter) WriteHeader(code int) {
	if rw.failed {
		return
	}
	if rw.wroteHeader {
		rw.w.WriteHeader(code) // net/http reports the superfluous call
		return
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Informational responses (103 Early Hints) precede the real one.
		rw.w.WriteHeader(code)
		return
	}
	if !rw.commit(true) {
		return
	}
	rw.wroteHeader = true
	rw.w.WriteHeader(code)
}

func (rw *responseWriter) Write(b []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed {
		return 0, errCommitFailed
	}
	return rw.w.Write(b)
}

func (rw *responseWriter) WriteString(s string) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed {
		return 0, errCommitFailed
	}
	return io.WriteString(rw.w, s)
}

// ReadFrom keeps the underlying writer's sendfile path.
func (rw *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed {
		return 0, errCommitFailed
	}
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{rw.w}, src)
}

// FlushError commits the session, then flushes. http.ResponseController
// finds it before Flush.
func (rw *responseWriter) FlushError() error {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.failed {
		return errCommitFailed
	}
	return http.NewResponseController(rw.w).Flush()
}

func (rw *responseWriter) Flush() { _ = rw.FlushError() }

// Hijack commits the session to the store, then hands over the connection.
// The response the hijacker writes is its own: it does not carry the
// session cookie, so a handler that upgrades a connection should not sign
// in, renew or log out first, and no periodic rotation starts on it
// (invariant I12).
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !rw.wroteHeader {
		if !rw.commit(false) {
			return nil, nil, errCommitFailed
		}
		rw.wroteHeader = true
	}
	if rw.failed {
		return nil, nil, errCommitFailed
	}
	return http.NewResponseController(rw.w).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer for
// deadlines and full duplex.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }

// finish commits a session whose handler returned without writing.
func (rw *responseWriter) finish() {
	if !rw.wroteHeader && !rw.failed {
		rw.commit(true)
	}
}
