package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// VulnerableCookie is the session cookie of the vulnerable mode.
const VulnerableCookie = "SESSIONID"

// vulnerableLayer reproduces, on purpose, the session handling of the case
// this project grew from (see the package doc). Each bug is marked BUG; the
// secure mode (package session) is the fix for all of them. It keeps its records in the same
// kind of store as the secure mode, to show that the store is not the
// problem: the session handling is.
type vulnerableLayer struct {
	store store.Store
	now   func() time.Time
}

type vulnState struct {
	id      string
	fromURL bool
	user    string
}

type vulnKey struct{}

func vulnStateOf(r *http.Request) *vulnState {
	st, _ := r.Context().Value(vulnKey{}).(*vulnState)
	if st == nil {
		return &vulnState{}
	}
	return st
}

func vulnStoreKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func (l *vulnerableLayer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &vulnState{}
		// BUG (I2): the session ID is taken from the URL, ahead of the cookie.
		if id := r.URL.Query().Get("session"); id != "" {
			st.id, st.fromURL = id, true
		} else if c, err := r.Cookie(VulnerableCookie); err == nil && c.Value != "" {
			st.id = c.Value
		}
		if st.id == "" {
			b := make([]byte, 16)
			_, _ = rand.Read(b)
			st.id = hex.EncodeToString(b)
		}
		rec, err := l.store.Get(r.Context(), vulnStoreKey(st.id))
		switch {
		case err == nil:
			st.user = string(rec.Data)
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrGone):
			// BUG (I1): an ID the server never issued is adopted as is.
			if err := l.save(r.Context(), st.id, ""); err != nil {
				http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
				return
			}
		default:
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
			return
		}
		// BUG (I7): no Secure, no HttpOnly, no SameSite.
		http.SetCookie(w, &http.Cookie{Name: VulnerableCookie, Value: st.id, Path: "/"})
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), vulnKey{}, st)))
	})
}

// save writes user into the record of id, creating it if needed.
func (l *vulnerableLayer) save(ctx context.Context, id, user string) error {
	key := vulnStoreKey(id)
	now := l.now()
	for range 10 {
		rec, err := l.store.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			rec = &store.Record{Key: key, Created: now, IdleTimeout: 12 * time.Hour, Deadline: now.Add(12 * time.Hour)}
			rec.LastSeen, rec.Expires, rec.Data = now, rec.Deadline, []byte(user)
			if err := l.store.Create(ctx, rec); !errors.Is(err, store.ErrExists) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		rec.Data, rec.LastSeen = []byte(user), now
		if err := l.store.Update(ctx, rec); !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return store.ErrConflict
}

func (l *vulnerableLayer) user(r *http.Request) string { return vulnStateOf(r).user }

func (l *vulnerableLayer) login(w http.ResponseWriter, r *http.Request, user string, remember bool) error {
	st := vulnStateOf(r)
	// BUG (I3): the signed-in user is bound to the ID the browser came with;
	// no new ID is issued.
	if err := l.save(r.Context(), st.id, user); err != nil {
		return err
	}
	st.user = user
	return nil
}

func (l *vulnerableLayer) logout(w http.ResponseWriter, r *http.Request) error {
	st := vulnStateOf(r)
	// BUG (I6): logout clears the values but keeps the ID and its record.
	if err := l.save(r.Context(), st.id, ""); err != nil {
		return err
	}
	st.user = ""
	return nil
}

// query keeps the session in links when it came in a URL, as URL-rewriting
// frameworks do: every link and form then carries the attacker's ID.
func (l *vulnerableLayer) query(r *http.Request) string {
	if st := vulnStateOf(r); st.fromURL {
		return "?session=" + url.QueryEscape(st.id)
	}
	return ""
}
