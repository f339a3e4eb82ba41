package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/session/sessiontest"
	"github.com/sessionguard/sessionguard/store"
)

// TestI14RolledBackSessionEndsWithItsReason: a store that lost
// acknowledged writes answers store.ReasonRolledBack for the sessions that
// could have ended in the lost window. The session layer treats such a
// cookie as ended, tells the application why (EndStoreRolledBack), and
// never serves it as the signed-in session it was.
func TestI14RolledBackSessionEndsWithItsReason(t *testing.T) {
	m := sessiontest.NewManager(session.Config{})
	defer m.Close()
	cookie := m.Login("alice")

	sum := sha256.Sum256([]byte(cookie.Value))
	if err := m.Store.Delete(context.Background(), hex.EncodeToString(sum[:]), store.ReasonRolledBack); err != nil {
		t.Fatal(err)
	}

	var user string
	var ended session.EndReason
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		user, ended = s.UserID(), s.Ended()
	}))
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.AddCookie(cookie)
	h.ServeHTTP(httptest.NewRecorder(), req)

	if user != "" {
		t.Fatalf("a rolled-back session was served as %q", user)
	}
	if ended != session.EndStoreRolledBack {
		t.Fatalf("Ended() = %v, want %v", ended, session.EndStoreRolledBack)
	}
	if got := session.EndStoreRolledBack.String(); got != "store-rolled-back" {
		t.Fatalf("String() = %q", got)
	}
}
