package session_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store"
)

const (
	reuseEvery = 10 * time.Minute
	reuseGrace = 30 * time.Second
)

func reuseEnv(t *testing.T, st store.Store) (*env, *clock) {
	t.Helper()
	clk := newClock()
	return newEnv(t, st, session.Config{Now: clk.Now, Rotation: session.RotationConfig{Every: reuseEvery, Grace: reuseGrace}}), clk
}

// signIn signs alice in with k=v0 and makes her token due for rotation.
func signIn(t *testing.T, e *env, clk *clock) string {
	t.Helper()
	tok := e.token(e.do(func(w http.ResponseWriter, r *http.Request) {
		if err := session.From(r).Login("alice"); err != nil {
			t.Error(err)
		}
		if err := session.From(r).Put("k", "v0"); err != nil {
			t.Error(err)
		}
	}, e.req("POST", "/login")))
	clk.advance(reuseEvery + time.Second)
	return tok
}

// notDurableOnce performs one Rotate and then answers that it could not be
// confirmed durable, as redisstore with WaitReplicas does when a replica is
// late: the rotation happened, the request failed.
type notDurableOnce struct {
	store.Store
	armed atomic.Bool
}

func (s *notDurableOnce) Rotate(ctx context.Context, oldKey string, v uint64, next *store.Record, grace time.Time) error {
	if err := s.Store.Rotate(ctx, oldKey, v, next, grace); err != nil || !s.armed.CompareAndSwap(true, false) {
		return err
	}
	return fmt.Errorf("%w: replica late", store.ErrNotDurable)
}

// lostSuccessors are ways a rotation happens and its new cookie never
// reaches the client.
var lostSuccessors = []struct {
	name   string
	rotate func(t *testing.T, e *env, old string)
}{
	{"response lost on the network", func(t *testing.T, e *env, old string) {
		e.token(e.do(whoami, e.req("GET", "/", old))) // rotated; the client never sees the reply
	}},
	{"store error after the rotation landed", func(t *testing.T, e *env, old string) {
		e.store.(*notDurableOnce).armed.Store(true)
		if rec := e.do(whoami, e.req("GET", "/", old)); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("rotation not confirmed durable: %d, want 503", rec.Code)
		}
	}},
	{"TimeoutHandler dropped the response", func(t *testing.T, e *env, old string) {
		h := http.TimeoutHandler(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK) // the session commits, the rotation with it
			<-r.Context().Done()
		})), 20*time.Millisecond, "too slow")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, e.req("GET", "/", old))
		if rec.Code != http.StatusServiceUnavailable || sessionCookie(t, rec, e.cookie) != nil {
			t.Fatalf("TimeoutHandler answered %d with cookie %v", rec.Code, sessionCookie(t, rec, e.cookie))
		}
	}},
}

// I12: a successor no client ever presented is no proof of two holders.
// The holder of the old token is handed a fresh successor after the grace
// window, with an EventReissued; once that one has been presented, the
// old token coming back is reuse.
func TestI12_UnseenSuccessorIsReissued(t *testing.T) {
	for _, c := range lostSuccessors {
		for _, within := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/used in grace=%v", c.name, within), func(t *testing.T) {
				e, clk := reuseEnv(t, &notDurableOnce{Store: newMem(t)})
				old := signIn(t, e, clk)
				c.rotate(t, e, old)
				if within {
					// Requests the client sends meanwhile are forwarded; they
					// present the old token, not the successor.
					e.do(putHandler("k", "v1"), e.req("GET", "/", old))
					if got := e.user(old); got != "alice" {
						t.Fatalf("old token inside the grace window: %q", got)
					}
				}
				clk.advance(reuseGrace + time.Second)
				checkReissued(t, e, clk, old, map[bool]string{false: "v0", true: "v1"}[within])
			})
		}
	}
}

// checkReissued presents old after its grace window: it must be served and
// given a successor, which then works. Requests the browser sent with old
// before that reply arrived are served for a grace window; old coming back
// after it, once the successor was presented, is reuse.
func checkReissued(t *testing.T, e *env, clk *clock, old, want string) {
	t.Helper()
	var ended session.EndReason
	rec := e.do(func(w http.ResponseWriter, r *http.Request) {
		ended = session.From(r).Ended()
		whoami(w, r)
	}, e.req("GET", "/", old))
	if body := rec.Body.String(); body != "user=alice k="+want || ended != session.EndNone {
		t.Fatalf("old token after grace, successor never seen: %q, Ended() = %v", body, ended)
	}
	if n := e.ev.count(session.EventTokenReuse); n != 0 {
		t.Fatalf("%d reuse alarms for a successor no client had", n)
	}
	if n := e.ev.count(session.EventReissued); n != 1 {
		t.Fatalf("%d reissued events, want 1", n)
	}
	next := e.token(rec)
	if next == old {
		t.Fatal("reissued the same token")
	}
	for _, ev := range e.ev.all() {
		if ev.Kind == session.EventReissued && (ev.Session != fingerprint(old) || ev.NewSession != fingerprint(next) || ev.UserID != "alice") {
			t.Fatalf("reissued event names %s -> %s for %q, want %s -> %s", ev.Session, ev.NewSession, ev.UserID, fingerprint(old), fingerprint(next))
		}
	}
	if k := session.EventReissued; k.String() != "reissued" || k.Suspicious() || k.Level() != slog.LevelInfo {
		t.Fatalf("EventReissued is %q, suspicious %v, level %v: want a lifecycle event below a reuse alarm", k, k.Suspicious(), k.Level())
	}
	if body := e.do(whoami, e.req("GET", "/", next)).Body.String(); body != "user=alice k="+want {
		t.Fatalf("the reissued token: %q", body)
	}
	if body := e.do(whoami, e.req("GET", "/", old)).Body.String(); body != "user=alice k="+want {
		t.Fatalf("old token in flight while its reissued successor was used: %q", body)
	}
	if n := e.ev.count(session.EventTokenReuse) + e.ev.count(session.EventReissued); n != 1 {
		t.Fatalf("old token in flight: %v", e.ev.all())
	}
	// The reissued successor has been presented: after the grace window
	// the old token is proof.
	clk.advance(reuseGrace + time.Second)
	e.do(whoami, e.req("GET", "/", old))
	if e.ev.count(session.EventTokenReuse) != 1 || e.user(next) != "" || e.user(old) != "" {
		t.Fatalf("old token after its reissued successor was used: %d reuse events, next=%q",
			e.ev.count(session.EventTokenReuse), e.user(next))
	}
}

// I12: no rotation starts on a request whose response can no longer carry
// a cookie: the token stays the session's only one, and using it later is
// neither reuse nor a reissue.
func TestI12_NoRotationWhenTheResponseCannotCarryACookie(t *testing.T) {
	cases := []struct {
		name string
		send func(t *testing.T, e *env, old string)
	}{
		{"hijacked connection", func(t *testing.T, e *env, old string) {
			srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("Hijack: %v", err)
					return
				}
				defer conn.Close()
				brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
				brw.Flush()
			})))
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.AddCookie(&http.Cookie{Name: e.cookie, Value: old})
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}},
		{"TimeoutHandler already answered", func(t *testing.T, e *env, old string) {
			h := http.TimeoutHandler(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
				w.Write([]byte("late"))
			})), 10*time.Millisecond, "too slow")
			h.ServeHTTP(httptest.NewRecorder(), e.req("GET", "/", old))
		}},
		{"client went away", func(t *testing.T, e *env, old string) {
			ctx, cancel := context.WithCancel(context.Background())
			req := e.req("GET", "/", old).WithContext(ctx)
			e.do(func(w http.ResponseWriter, r *http.Request) {
				cancel()
				whoami(w, r)
			}, req)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, clk := reuseEnv(t, newMem(t))
			old := signIn(t, e, clk)
			c.send(t, e, old)
			if n := e.ev.count(session.EventRotated); n != 0 {
				t.Fatalf("%d rotations on a response that cannot carry the cookie", n)
			}
			clk.advance(reuseGrace + time.Second)
			rec := e.do(whoami, e.req("GET", "/", old))
			if body := rec.Body.String(); body != "user=alice k=v0" {
				t.Fatalf("the token afterwards: %q", body)
			}
			if e.ev.count(session.EventTokenReuse)+e.ev.count(session.EventReissued) != 0 || e.ev.count(session.EventRotated) != 1 {
				t.Fatalf("events: %v", e.ev.all())
			}
		})
	}
}

// presentations are ways a client presents a successor for the first time.
var presentations = []struct {
	name    string
	present func(t *testing.T, e *env, clk *clock, succ string)
}{
	{"read", func(t *testing.T, e *env, clk *clock, succ string) { e.do(whoami, e.req("GET", "/", succ)) }},
	{"write", func(t *testing.T, e *env, clk *clock, succ string) {
		e.do(putHandler("k", "v2"), e.req("GET", "/", succ))
	}},
	{"hijacked request", func(t *testing.T, e *env, clk *clock, succ string) {
		srv := httptest.NewServer(e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			bw := bufio.NewWriter(conn)
			bw.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
			bw.Flush()
			conn.Close()
		})))
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.AddCookie(&http.Cookie{Name: e.cookie, Value: succ})
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}},
	{"request that rotates it again", func(t *testing.T, e *env, clk *clock, succ string) {
		clk.advance(reuseEvery)
		e.token(e.do(whoami, e.req("GET", "/", succ)))
	}},
	{"many parallel requests", func(t *testing.T, e *env, clk *clock, succ string) {
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() { e.do(putHandler(fmt.Sprint("p", i), "x"), e.req("GET", "/", succ)) })
		}
		wg.Wait()
	}},
}

// I12: once a client has presented the successor, the old token after its
// grace window proves two holders: the whole session ends, with an event.
// Which party rotated does not matter: the thief's request may have made
// the successor and the victim hold the old token, or the other way round.
func TestI12_ReuseAfterSuccessorPresentedEndsTheLineage(t *testing.T) {
	for _, p := range presentations {
		t.Run(p.name, func(t *testing.T) {
			e, clk := reuseEnv(t, newMem(t))
			old := signIn(t, e, clk)
			succ := e.token(e.do(whoami, e.req("GET", "/", old)))
			p.present(t, e, clk, succ)
			clk.advance(reuseGrace + time.Second)
			checkReuse(t, e, old, succ)
		})
	}
	// The other order: the old token came back first, unseen successor and
	// all, and was reissued; then the successor's holder shows up. Two
	// parties held the session all along.
	for _, gap := range []time.Duration{0, reuseGrace + time.Second} {
		t.Run(fmt.Sprintf("successor presented %v after the old token was reissued", gap), func(t *testing.T) {
			e, clk := reuseEnv(t, newMem(t))
			old := signIn(t, e, clk)
			succ := e.token(e.do(whoami, e.req("GET", "/", old)))
			clk.advance(reuseGrace + time.Second)
			reissued := e.token(e.do(whoami, e.req("GET", "/", old)))
			clk.advance(gap)
			checkReuse(t, e, succ, reissued, old)
		})
	}
}

// checkReuse presents tok and expects the whole lineage ended as reused:
// tok and every token in others are dead afterwards.
func checkReuse(t *testing.T, e *env, tok string, others ...string) {
	t.Helper()
	var ended session.EndReason
	body := e.do(func(w http.ResponseWriter, r *http.Request) {
		ended = session.From(r).Ended()
		whoami(w, r)
	}, e.req("GET", "/", tok)).Body.String()
	if ended != session.EndReuse || e.ev.count(session.EventTokenReuse) != 1 || body != "user= k=" {
		t.Fatalf("two holders: Ended() = %v, %d reuse events, body %q", ended, e.ev.count(session.EventTokenReuse), body)
	}
	for _, o := range append(others, tok) {
		if got := e.user(o); got != "" {
			t.Fatalf("a token of the reused session still works: %q", got)
		}
	}
}

// I12 under races: the successor's holder presents it for the first time
// at the same moment as the old token's holder presents it after the grace
// window. Whichever store write goes first, the two are found out: no
// token of the session works afterwards.
func TestI12_RaceSuccessorAndOldTokenIsReuse(t *testing.T) {
	for round := range 60 {
		e, clk := reuseEnv(t, &jitterStore{Store: newMem(t)})
		old := signIn(t, e, clk)
		succ := e.token(e.do(whoami, e.req("GET", "/", old)))
		clk.advance(reuseGrace + time.Second)
		var wg sync.WaitGroup
		var got [2]*httptest.ResponseRecorder
		for i, tok := range []string{old, succ} {
			wg.Go(func() { got[i] = e.do(putHandler(fmt.Sprint("w", i), "x"), e.req("GET", "/", tok)) })
		}
		wg.Wait()
		toks := []string{old, succ}
		for _, rec := range got {
			if c := sessionCookie(t, rec, e.cookie); c != nil && c.MaxAge >= 0 {
				toks = append(toks, c.Value)
			}
		}
		// A request that lost the race may still be inside a grace window
		// the other request opened: its next request settles it.
		for _, tok := range toks {
			e.do(whoami, e.req("GET", "/", tok))
		}
		clk.advance(reuseGrace + time.Second)
		for _, tok := range toks {
			e.do(whoami, e.req("GET", "/", tok))
		}
		for _, tok := range toks {
			if u := e.user(tok); u != "" {
				t.Fatalf("round %d: a token still signs in as %q after two holders met; events %v", round, u, e.ev.all())
			}
		}
		if e.ev.count(session.EventTokenReuse) == 0 {
			t.Fatalf("round %d: no reuse event", round)
		}
	}
}

// I12 and I11 for one honest browser whose rotation reply was lost: after
// the grace window it sends the old token in parallel requests, some of
// whose replies are lost too, and retries. It is never signed out, never
// raises a reuse alarm, and every write lands.
func TestI12_HonestClientWithLostRepliesIsNeverSignedOut(t *testing.T) {
	for round := range 10 {
		e, clk := reuseEnv(t, newMem(t))
		old := signIn(t, e, clk)
		e.do(whoami, e.req("GET", "/", old)) // rotated; reply lost
		clk.advance(reuseGrace + time.Second)
		var jar struct {
			sync.Mutex
			tok string
		}
		jar.tok = old
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for try := range 3 { // each reply but the last is lost: the browser retries
					jar.Lock()
					tok := jar.tok
					jar.Unlock()
					rec := e.do(putHandler(fmt.Sprint("w", i), "x"), e.req("GET", "/", tok))
					if rec.Code != http.StatusOK {
						t.Errorf("round %d: request %d: %d", round, i, rec.Code)
					}
					if c := sessionCookie(t, rec, e.cookie); c != nil && try == 2 {
						jar.Lock()
						jar.tok = c.Value
						jar.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if n := e.ev.count(session.EventTokenReuse); n != 0 {
			t.Fatalf("round %d: %d reuse alarms for one honest browser: %v", round, n, e.ev.all())
		}
		keys := e.do(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, session.From(r).UserID(), session.From(r).Keys())
		}, e.req("GET", "/", jar.tok)).Body.String()
		if keys != "alice[k w0 w1 w2 w3 w4 w5 w6 w7]" {
			t.Fatalf("round %d: the browser's session: %q", round, keys)
		}
	}
}

// A successor written before the session layer kept the "presented" mark
// is taken as presented: an upgrade never turns a reuse into a reissue.
func TestI12_SuccessorWithoutMarkCountsAsPresented(t *testing.T) {
	e, clk := reuseEnv(t, newMem(t))
	old := signIn(t, e, clk)
	succ := e.token(e.do(whoami, e.req("GET", "/", old)))
	recs, err := e.store.ListUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	stripped := 0
	for _, rec := range recs {
		if data, ok := stripMeta(rec.Data); rec.Successor == "" && ok {
			// The values alone, as the session layer wrote them before.
			rec.Data = data
			if err := e.store.Update(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			stripped++
		}
	}
	if stripped != 1 {
		t.Fatalf("%d successors with a metadata section, want 1", stripped)
	}
	clk.advance(reuseGrace + time.Second)
	checkReuse(t, e, old, succ)
}

// writeCounter counts the updates a store accepted.
type writeCounter struct {
	store.Store
	updates atomic.Int64
}

func (c *writeCounter) Update(ctx context.Context, rec *store.Record) error {
	err := c.Store.Update(ctx, rec)
	if err == nil {
		c.updates.Add(1)
	}
	return err
}

// I12: recording that a successor was presented costs one conditional
// write per rotation, however many requests present it at once, and none
// after that.
func TestI12_PresentedMarkCostsOneWritePerRotation(t *testing.T) {
	cs := &writeCounter{Store: newMem(t)}
	e, clk := reuseEnv(t, cs)
	old := signIn(t, e, clk)
	succ := e.token(e.do(whoami, e.req("GET", "/", old)))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if body := e.do(whoami, e.req("GET", "/", succ)).Body.String(); body != "user=alice k=v0" {
				t.Errorf("successor: %q", body)
			}
		})
	}
	wg.Wait()
	if n := cs.updates.Load(); n != 1 {
		t.Fatalf("%d writes for 16 requests presenting a new token, want 1", n)
	}
	for range 4 {
		e.do(whoami, e.req("GET", "/", succ))
		e.do(whoami, e.req("GET", "/", old)) // forwarded: writes nothing
	}
	if n := cs.updates.Load(); n != 1 {
		t.Fatalf("%d writes after the mark, want it alone", n)
	}
}

// A store whose rotation chain loops (it lost its integrity) fails the
// request closed instead of following it forever.
func TestRotationChainThatLoopsFailsClosed(t *testing.T) {
	e, clk := chainEnv(t, newMem(t))
	toks := buildChain(t, e, clk, 6)
	recs, err := e.store.ListUser(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	var first *store.Record
	for _, rec := range recs {
		if rec.Lineage == "" {
			first = rec
		}
	}
	for _, rec := range recs {
		if rec.Successor == "" {
			rec.Successor, rec.GraceUntil = first.Key, first.GraceUntil
			if err := e.store.Update(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	done := make(chan int, 1)
	go func() { done <- e.do(whoami, e.req("GET", "/", toks[0])).Code }()
	select {
	case code := <-done:
		if code != http.StatusServiceUnavailable {
			t.Fatalf("a looping chain: %d, want 503", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a looping chain is followed forever")
	}
}

// jitterStore delays every read and write a little, at random, so that
// racing requests interleave in every order.
type jitterStore struct{ store.Store }

func jitter() { time.Sleep(time.Duration(rand.N(300)) * time.Microsecond) }

func (j *jitterStore) Get(ctx context.Context, key string) (*store.Record, error) {
	jitter()
	return j.Store.Get(ctx, key)
}

func (j *jitterStore) Update(ctx context.Context, rec *store.Record) error {
	jitter()
	return j.Store.Update(ctx, rec)
}

func (j *jitterStore) Rotate(ctx context.Context, oldKey string, v uint64, next *store.Record, grace time.Time) error {
	jitter()
	return j.Store.Rotate(ctx, oldKey, v, next, grace)
}

// fingerprint is the name events give the session of tok.
func fingerprint(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return store.Fingerprint(hex.EncodeToString(sum[:]))
}

// stripMeta removes the session layer's metadata entry from a record's
// values, the first entry, under a key beginning with a NUL byte.
func stripMeta(data []byte) ([]byte, bool) {
	if len(data) < 2 || data[0] != 'V' {
		return nil, false
	}
	n, w := binary.Uvarint(data[1:])
	rest := data[1+w:]
	klen, kw := binary.Uvarint(rest)
	if n == 0 || !strings.HasPrefix(string(rest[kw:kw+int(klen)]), "\x00sessionguard.") {
		return nil, false
	}
	rest = rest[kw+int(klen)+1:] // the key, then the kind byte
	vlen, vw := binary.Uvarint(rest)
	rest = rest[vw+int(vlen):]
	if n == 1 {
		return nil, true
	}
	return append(binary.AppendUvarint([]byte{'V'}, n-1), rest...), true
}

// The session layer keeps its metadata among the values under a reserved
// key: an application can neither write it nor see it.
func TestReservedKeysAreNotTheApplications(t *testing.T) {
	e, clk := reuseEnv(t, newMem(t))
	old := signIn(t, e, clk)
	succ := e.token(e.do(whoami, e.req("GET", "/", old))) // a record with metadata
	var keys []string
	var putErr error
	e.do(func(w http.ResponseWriter, r *http.Request) {
		putErr = session.From(r).Put("\x00sessionguard.meta", []byte{1, 1})
		keys = session.From(r).Keys()
	}, e.req("GET", "/", succ))
	if putErr == nil || len(keys) != 1 || keys[0] != "k" {
		t.Fatalf("Put of a reserved key: %v; keys %q", putErr, keys)
	}
}

// I11 under the same race inside the grace window: the old token and the
// successor's first use, each retried, are both served and every write
// lands; nothing is taken for reuse.
func TestI11_RaceSuccessorAndOldTokenInsideGrace(t *testing.T) {
	for round := range 30 {
		e, clk := reuseEnv(t, &jitterStore{Store: newMem(t)})
		old := signIn(t, e, clk)
		succ := e.token(e.do(whoami, e.req("GET", "/", old)))
		var wg sync.WaitGroup
		for i, tok := range []string{old, succ, old, succ} {
			wg.Go(func() {
				for try := range 2 {
					rec := e.do(putHandler(fmt.Sprint("w", i), "x"), e.req("GET", "/", tok))
					if rec.Code != http.StatusOK || sessionCookie(t, rec, e.cookie) != nil {
						t.Errorf("round %d: request %d try %d: %d, cookie %v", round, i, try, rec.Code, sessionCookie(t, rec, e.cookie))
					}
				}
			})
		}
		wg.Wait()
		keys := e.do(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, session.From(r).UserID(), session.From(r).Keys())
		}, e.req("GET", "/", old)).Body.String()
		if keys != "alice[k w0 w1 w2 w3]" || e.ev.count(session.EventTokenReuse) != 0 {
			t.Fatalf("round %d: %q, %d reuse events", round, keys, e.ev.count(session.EventTokenReuse))
		}
	}
}

// After the grace window, an old token whose chain was cut by a change of
// authentication: a logout or revocation ended the session, so the token
// is dead for that reason, with no alarm; a renewal continued the session
// under a token this holder was never given, which counts as presented,
// so the session ends as reused (as it always did).
func TestI12_AfterGraceChainCutByAuthChange(t *testing.T) {
	cases := []struct {
		change string
		want   session.EndReason
		reuse  int
	}{
		{"Renew", session.EndReuse, 1},
		{"Logout", session.EndSignedOut, 0},
		{"RevokeAll", session.EndAllSessionsEnded, 0},
	}
	for _, c := range cases {
		t.Run(c.change, func(t *testing.T) {
			e, clk := reuseEnv(t, newMem(t))
			old := signIn(t, e, clk)
			succ := e.token(e.do(whoami, e.req("GET", "/", old))) // the change below is made with it
			var carried string
			for _, ac := range authChanges {
				if ac.name == c.change {
					carried = ac.do(t, e, succ)
				}
			}
			clk.advance(reuseGrace + time.Second)
			var ended session.EndReason
			body := e.do(func(w http.ResponseWriter, r *http.Request) {
				ended = session.From(r).Ended()
				whoami(w, r)
			}, e.req("GET", "/", old)).Body.String()
			if body != "user= k=" || ended != c.want || e.ev.count(session.EventTokenReuse) != c.reuse {
				t.Fatalf("old token after %s and its grace: %q, Ended() = %v, %d reuse events", c.change, body, ended, e.ev.count(session.EventTokenReuse))
			}
			if carried != "" && e.user(carried) != "" {
				t.Fatal("the renewed token survived the reuse of an older one")
			}
		})
	}
}
