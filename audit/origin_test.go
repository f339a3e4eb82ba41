package audit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestHeaderAndCookiesStayOnOrigin: an origin is scheme, host and port.
// A redirect to another port of the target's host is not followed unless
// that origin is allowed; once allowed it gets the password (the login
// form posts there) but never the -H values. (Cookies go where their
// scope, host and path, lets them, as in a browser.)
func TestHeaderAndCookiesStayOnOrigin(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string // what the other port received: headers and cookies
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+" key="+r.Header.Get("X-Api-Key")+" cookie="+r.Header.Get("Cookie"))
		mu.Unlock()
		if r.Method == http.MethodPost {
			http.Redirect(w, r, r.Header.Get("Referer"), http.StatusSeeOther)
			return
		}
		w.Write([]byte(`<form method="post" action="/login"><input name="username"><input type="password" name="password"></form>`))
	}))
	defer other.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "target-session-cookie-value", Path: "/"})
		http.Redirect(w, r, other.URL+"/login", http.StatusFound)
	}))
	defer target.Close()
	h := http.Header{"Authorization": {"Bearer the-gateway-token-of-the-target"}, "X-Api-Key": {"k"}}
	for _, tc := range []struct {
		name    string
		allow   []string
		wantErr string
	}{
		{"another port, not allowed", nil, "redirected off the target's origin"},
		{"another port, allowed", []string{other.URL}, ""},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		_, err := Run(context.Background(), Target{BaseURL: target.URL, User: testUser, Password: testPassword, Header: h, AllowOrigins: tc.allow, Samples: -1})
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.wantErr)
		}
		mu.Lock()
		got := seen
		mu.Unlock()
		if tc.allow == nil && len(got) > 0 {
			t.Errorf("%s: the other origin received %q", tc.name, got)
		}
		if tc.allow != nil && len(got) == 0 {
			t.Errorf("%s: the allowed origin received nothing", tc.name)
		}
		for _, s := range got {
			if !strings.Contains(s, "auth= key= ") {
				t.Errorf("%s: -H reached another origin: %s", tc.name, s)
			}
		}
	}
}
