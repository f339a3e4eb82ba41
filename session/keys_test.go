package session_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionguard/sessionguard/session"
)

func TestParseKeys(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	std, url := base64.StdEncoding.EncodeToString, base64.RawURLEncoding.EncodeToString
	cases := []struct {
		name string
		text string
		n    int    // keys parsed; 0: an error is expected
		sign []byte // the key expected to sign
	}{
		{"one standard", std(k1), 1, k1},
		{"one url unpadded", url(k1), 1, k1},
		{"file with comments", "# current\n" + std(k1) + "\n\n  # old\n" + url(k2) + "\n", 2, k1},
		{"crlf file", std(k2) + "\r\n" + std(k1) + "\r\n", 2, k2},
		{"env, commas", std(k1) + "," + std(k2), 2, k1},
		{"env, spaces", " " + std(k2) + "  " + std(k1) + " ", 2, k2},
		{"empty", "", 0, nil},
		{"comments only", "# nothing\n#\n", 0, nil},
		{"short key", std(k1[:16]), 0, nil},
		{"long key", std(append(k1, 0)), 0, nil},
		{"not base64", std(k1) + "\n" + strings.Repeat("*", 44), 0, nil},
		{"repeated key", std(k1) + "," + url(k1), 0, nil},
		{"too many", strings.TrimSuffix(strings.Repeat(std(k1)+",", session.MaxKeys+1), ","), 0, nil},
		{"trailing comment on a key line", std(k1) + " # current", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := session.ParseKeys(tc.text)
			if tc.n == 0 {
				if err == nil || !errors.Is(err, session.ErrKeys) {
					t.Fatalf("got %v, %v; want an ErrKeys error", k, err)
				}
				for _, raw := range [][]byte{k1, k2} {
					if strings.Contains(err.Error(), std(raw)) || strings.Contains(err.Error(), url(raw)) {
						t.Fatalf("the error %q holds a key", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Len() != tc.n {
				t.Fatalf("%d keys, want %d", k.Len(), tc.n)
			}
			want, _ := session.NewKeys(tc.sign)
			msg := []byte("message")
			if !bytes.Equal(k.Sign(msg), want.Sign(msg)) {
				t.Fatal("the first key does not sign")
			}
		})
	}
}

func TestKeysFromEnvAndFile(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{8}, 32)
	text := base64.StdEncoding.EncodeToString(k1) + "," + base64.StdEncoding.EncodeToString(k2)
	t.Setenv("SESSIONGUARD_TEST_KEYS", text)
	t.Setenv("SESSIONGUARD_TEST_EMPTY", " ")
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(text, ",", "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		load func() (*session.Keys, error)
		ok   bool
	}{
		{"env", func() (*session.Keys, error) { return session.KeysFromEnv("SESSIONGUARD_TEST_KEYS") }, true},
		{"env unset", func() (*session.Keys, error) { return session.KeysFromEnv("SESSIONGUARD_TEST_UNSET") }, false},
		{"env blank", func() (*session.Keys, error) { return session.KeysFromEnv("SESSIONGUARD_TEST_EMPTY") }, false},
		{"file", func() (*session.Keys, error) { return session.ReadKeysFile(path) }, true},
		{"missing file", func() (*session.Keys, error) { return session.ReadKeysFile(path + ".missing") }, false},
	}
	want, err := session.NewKeys(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.load()
			if !tc.ok {
				if !errors.Is(err, session.ErrKeys) {
					t.Fatalf("got %v, want an ErrKeys error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("m")
			if k.Len() != 2 || !bytes.Equal(k.Sign(msg), want.Sign(msg)) {
				t.Fatalf("loaded %v, not the keys written", k)
			}
		})
	}
}

// TestKeysSignVerifyDerive: signatures verify under the set that made
// them while their key is listed, never across purposes, and a derived
// set rotates with its root.
func TestKeysSignVerifyDerive(t *testing.T) {
	a, b := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old := mustKeys(t, a)
	rotated := mustKeys(t, b, a)
	gone := mustKeys(t, b)
	msg := []byte("reason=signed-out")
	sig := old.Derive("app/notice").Sign(msg)
	cases := []struct {
		name string
		keys *session.Keys
		msg  []byte
		sig  []byte
		want bool
	}{
		{"same set", old.Derive("app/notice"), msg, sig, true},
		{"rotated, old key listed", rotated.Derive("app/notice"), msg, sig, true},
		{"old key removed", gone.Derive("app/notice"), msg, sig, false},
		{"another purpose", old.Derive("app/url"), msg, sig, false},
		{"the root set", old, msg, sig, false},
		{"altered message", old.Derive("app/notice"), []byte("reason=timeout"), sig, false},
		{"truncated signature", old.Derive("app/notice"), msg, sig[:16], false},
		{"no signature", old.Derive("app/notice"), msg, nil, false},
		{"zero set", &session.Keys{}, msg, sig, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.keys.Verify(tc.msg, tc.sig); got != tc.want {
				t.Fatalf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
	if !bytes.Equal(rotated.Derive("p").Sign(msg), gone.Derive("p").Sign(msg)) {
		t.Fatal("a derived set does not sign with the sub-key of the current key")
	}
	if (&session.Keys{}).Sign(msg) != nil {
		t.Fatal("the zero set signed")
	}
	var none *session.Keys
	if d := none.Derive("p"); d.Len() != 0 || d.Sign(msg) != nil || d.Verify(msg, sig) {
		t.Fatal("a nil set derived a usable set")
	}
}

// TestKeysNeverPrinted: a Keys printed by mistake, alone or inside a
// logged Config, shows no key material.
func TestKeysNeverPrinted(t *testing.T) {
	raw := bytes.Repeat([]byte{0x5a}, 32)
	k := mustKeys(t, raw)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "keys", k)
	outputs := []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k),
		fmt.Sprintf("%+v", *k), fmt.Sprintf("%+v", session.Config{Keys: k}), logged.String()}
	for _, out := range outputs {
		for _, leak := range []string{string(raw), "90 90 90", "5a5a", base64.StdEncoding.EncodeToString(raw)[:16]} {
			if strings.Contains(out, leak) {
				t.Fatalf("%q shows key material", out)
			}
		}
	}
}

func TestConfigKeysRejected(t *testing.T) {
	_, err := session.New(newMem(t), session.Config{Keys: &session.Keys{}})
	if !errors.Is(err, session.ErrConfig) || !strings.Contains(err.Error(), "Keys") {
		t.Fatalf("a Keys with no key: %v, want a Config.Keys error", err)
	}
}

// TestEventLevels: a cookie of a session that ended in the ordinary way is
// no attack (Info); a token renewed away, which is what a replayed
// fixation ID looks like, and token reuse stay Warn.
func TestEventLevels(t *testing.T) {
	cases := []struct {
		name string
		ev   session.Event
		want slog.Level
	}{
		{"dead, signed out", session.Event{Kind: session.EventDeadToken, Reason: session.EndSignedOut}, slog.LevelInfo},
		{"dead, signed out elsewhere", session.Event{Kind: session.EventDeadToken, Reason: session.EndSignedOutElsewhere}, slog.LevelInfo},
		{"dead, credentials changed", session.Event{Kind: session.EventDeadToken, Reason: session.EndCredentialsChanged}, slog.LevelInfo},
		{"dead, all sessions ended", session.Event{Kind: session.EventDeadToken, Reason: session.EndAllSessionsEnded}, slog.LevelInfo},
		{"dead, session limit", session.Event{Kind: session.EventDeadToken, Reason: session.EndLimit}, slog.LevelInfo},
		{"dead, timeout", session.Event{Kind: session.EventDeadToken, Reason: session.EndTimeout}, slog.LevelInfo},
		{"dead, renewed away", session.Event{Kind: session.EventDeadToken}, slog.LevelWarn},
		{"dead, reuse", session.Event{Kind: session.EventDeadToken, Reason: session.EndReuse}, slog.LevelWarn},
		{"dead, unknown reason", session.Event{Kind: session.EventDeadToken, Reason: 200}, slog.LevelWarn},
		{"expired", session.Event{Kind: session.EventExpiredToken, Reason: session.EndTimeout}, slog.LevelInfo},
		{"token reuse", session.Event{Kind: session.EventTokenReuse, Reason: session.EndReuse}, slog.LevelWarn},
		{"forgotten", session.Event{Kind: session.EventForgottenToken}, slog.LevelInfo},
		{"unknown token", session.Event{Kind: session.EventUnknownToken}, slog.LevelWarn},
		{"unknown token with a reason", session.Event{Kind: session.EventUnknownToken, Reason: session.EndSignedOut}, slog.LevelWarn},
		{"store error", session.Event{Kind: session.EventStoreError, Reason: session.EndSignedOut}, slog.LevelError},
		{"logout", session.Event{Kind: session.EventLogout, Reason: session.EndSignedOut}, slog.LevelInfo},
		{"revoked", session.Event{Kind: session.EventRevoked, Reason: session.EndCredentialsChanged}, slog.LevelInfo},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ev.Level(); got != tc.want {
				t.Fatalf("Level() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNilKeysPrints(t *testing.T) {
	var k *session.Keys
	if got := fmt.Sprint(k); got != "<nil>" {
		t.Fatalf("a nil *Keys prints as %q", got)
	}
}

// TestDeadTokenLoggedByEndReason: through the default sink, the cookie of
// a session that was signed out, here or from another device, is logged
// at Info; a token renewed away by a sign-in, what a replayed fixation ID
// looks like, at Warn.
func TestDeadTokenLoggedByEndReason(t *testing.T) {
	cases := []struct {
		name string
		end  func(e *env, tok string) // ends the session of tok
		want string
	}{
		{"signed out", func(e *env, tok string) { e.do(logoutHandler, e.req("POST", "/logout", tok)) }, "level=INFO"},
		{"revoked from another device", func(e *env, tok string) {
			other := e.token(e.do(loginHandler("ann"), e.req("POST", "/login")))
			e.do(func(w http.ResponseWriter, r *http.Request) {
				if _, err := session.From(r).RevokeOthers(r.Context(), session.EndSignedOutElsewhere); err != nil {
					t.Error(err)
				}
			}, e.req("POST", "/", other))
		}, "level=INFO"},
		{"renewed away", func(e *env, tok string) { e.do(loginHandler("ann"), e.req("POST", "/login", tok)) }, "level=WARN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := newEnv(t, newMem(t), session.Config{OnEvent: session.LogEvents(slog.New(slog.NewTextHandler(&buf, nil)))})
			tok := e.token(e.do(loginHandler("ann"), e.req("POST", "/login")))
			tc.end(e, tok)
			buf.Reset()
			e.user(tok)
			var line string
			for _, l := range strings.Split(buf.String(), "\n") {
				if strings.Contains(l, "kind=dead-token") {
					line = l
				}
			}
			if !strings.Contains(line, tc.want) {
				t.Fatalf("dead-token logged as %q, want %s", line, tc.want)
			}
		})
	}
}
