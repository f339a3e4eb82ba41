// Package loopbacktest holds the helpers the command's tests share to drive
// the reference app with a [loopback.Browser]: each request fails the test
// when it cannot be made. It is internal to the command's tests.
package loopbacktest

import (
	"bytes"
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
)

// SignIn posts the sign-in form of the app at base as user with password
// pw, and returns the page it ends on.
func SignIn(t testing.TB, b *loopback.Browser, base, user, pw string) *loopback.Response {
	t.Helper()
	return Post(t, b, base+"/login", url.Values{"username": {user}, "password": {pw}})
}

// Get loads u and returns the page it ends on.
func Get(t testing.TB, b *loopback.Browser, u string) *loopback.Response {
	t.Helper()
	res, err := b.Do(context.Background(), "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Post posts form to u and returns the page it ends on.
func Post(t testing.TB, b *loopback.Browser, u string, form url.Values) *loopback.Response {
	t.Helper()
	res, err := b.Do(context.Background(), "POST", u, form)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// SyncBuffer is a bytes.Buffer safe for concurrent use: the output of a
// command that runs in another goroutine.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
