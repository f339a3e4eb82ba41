package audit

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func cookieString(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

func TestJar(t *testing.T) {
	tests := []struct {
		name   string
		setURL string
		set    []*http.Cookie
		getURL string
		want   string
	}{
		{"secure cookie sent to http loopback", "http://127.0.0.1:8080/login",
			[]*http.Cookie{{Name: "__Host-sid", Value: "a", Path: "/", Secure: true}}, "http://127.0.0.1:8080/dashboard", "__Host-sid=a"},
		{"secure cookie sent to http localhost", "http://localhost/login",
			[]*http.Cookie{{Name: "s", Value: "a", Secure: true, Path: "/"}}, "http://localhost/", "s=a"},
		{"secure cookie sent to http ::1", "http://[::1]:80/",
			[]*http.Cookie{{Name: "s", Value: "a", Secure: true}}, "http://[::1]:80/", "s=a"},
		{"secure cookie not sent to plain http elsewhere", "http://example.com/",
			[]*http.Cookie{{Name: "s", Value: "a", Secure: true}}, "http://example.com/", ""},
		{"secure cookie sent over https", "https://example.com/",
			[]*http.Cookie{{Name: "s", Value: "a", Secure: true}}, "https://example.com/", "s=a"},
		{"host-only cookie not sent to a subdomain", "http://example.com/",
			[]*http.Cookie{{Name: "s", Value: "a"}}, "http://www.example.com/", ""},
		{"domain cookie sent to a subdomain", "http://example.com/",
			[]*http.Cookie{{Name: "s", Value: "a", Domain: ".example.com"}}, "http://www.example.com/", "s=a"},
		{"foreign domain ignored", "http://example.com/",
			[]*http.Cookie{{Name: "s", Value: "a", Domain: "evil.test"}}, "http://evil.test/", ""},
		{"path scoping", "http://h/app/login",
			[]*http.Cookie{{Name: "s", Value: "a", Path: "/app"}}, "http://h/other", ""},
		{"default path is the directory", "http://h/app/login",
			[]*http.Cookie{{Name: "s", Value: "a"}}, "http://h/app/x", "s=a"},
		{"longest path first", "http://h/app/login",
			[]*http.Cookie{{Name: "s", Value: "root", Path: "/"}, {Name: "s", Value: "app", Path: "/app"}}, "http://h/app/x", "s=app; s=root"},
		{"max-age=0 deletes", "http://h/",
			[]*http.Cookie{{Name: "s", Value: "a", Path: "/"}, {Name: "s", Value: "", Path: "/", MaxAge: -1}}, "http://h/", ""},
		{"expired deletes", "http://h/",
			[]*http.Cookie{{Name: "s", Value: "a", Path: "/"}, {Name: "s", Value: "b", Path: "/", Expires: time.Unix(1, 0)}}, "http://h/", ""},
		{"replacement keeps one cookie", "http://h/",
			[]*http.Cookie{{Name: "s", Value: "a", Path: "/"}, {Name: "s", Value: "b", Path: "/"}}, "http://h/", "s=b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := newJar()
			j.SetCookies(mustURL(t, tc.setURL), tc.set)
			if got := cookieString(j.Cookies(mustURL(t, tc.getURL))); got != tc.want {
				t.Errorf("Cookies = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJarSnapshotRestore(t *testing.T) {
	u := mustURL(t, "http://127.0.0.1/")
	j := newJar()
	j.SetCookies(u, []*http.Cookie{{Name: "sid", Value: "before", Path: "/"}, {Name: "csrf", Value: "c", Path: "/"}})
	snap := j.snapshot()
	j.SetCookies(u, []*http.Cookie{{Name: "sid", Value: "after", Path: "/"}})
	j.remove("csrf")
	if got := cookieString(j.Cookies(u)); got != "sid=after" {
		t.Fatalf("after changes: %q", got)
	}
	other := newJar()
	other.restore(snap)
	j.restore(snap)
	for _, jj := range []*jar{j, other} {
		if got := cookieString(jj.Cookies(u)); got != "sid=before; csrf=c" {
			t.Errorf("restored: %q, want the snapshot", got)
		}
	}
	// The snapshot is a copy: changing a restored jar leaves it intact.
	other.plant(u, "sid", "planted", "/")
	j.restore(snap)
	if v, _ := j.value(u, "sid"); v != "before" {
		t.Errorf("snapshot changed through a restored jar: %q", v)
	}
}

func TestMaskAndRedact(t *testing.T) {
	e := &env{secrets: map[string]bool{}}
	tok := "k3JdQw8s9aPq1LmZ2xYv"
	e.secret(tok)
	e.secret("abc") // too short to be a token: left alone
	got := e.redact("sid=" + tok + "; user=abc")
	if strings.Contains(got, tok) || !strings.Contains(got, "sid=k3Jd…Yv") || !strings.Contains(got, "user=abc") {
		t.Errorf("redact = %q", got)
	}
}

func TestPasswordNeverInEvidence(t *testing.T) {
	m, _ := newMasker("alice", "p@ss word", nil)
	e := &env{secrets: map[string]bool{}, mask: m}
	if got := e.redact("GET /login?user=alice&password=p%40ss+word → 303"); strings.Contains(got, "ss+word") || !strings.Contains(got, "[hidden]") {
		t.Errorf("redact = %q", got)
	}
}

// TestShortPasswordEchoedInAForm: a short password is hidden where a
// form drawn again holds it as a value, and as the value of a "pw"
// parameter; the same characters elsewhere are left alone.
func TestShortPasswordEchoedInAForm(t *testing.T) {
	m, weak := newMasker("alice", "hunter22", nil)
	if len(weak) == 0 {
		t.Fatal("an 8-character password is not treated as short")
	}
	e := &env{secrets: map[string]bool{}, mask: m}
	for _, in := range []string{
		`<input name="password" value="hunter22">`,
		`<input type=password value=hunter22 name=p>`,
		`<input value='hunter22' name="secret">`,
		`GET /next?pw=hunter22&x=1`,
	} {
		if got := e.redact(in); strings.Contains(got, "hunter22") {
			t.Errorf("redact(%q) = %q", in, got)
		}
	}
	if got := e.redact("the hunter22 team"); got != "the hunter22 team" {
		t.Errorf("ordinary text changed: %q", got)
	}
}

// TestTokenEscapedInAURLRedacted: a session ID registered as it is stored
// is shown as its fingerprint also where a URL carries it escaped (an
// express connect.sid, a base64 ID).
func TestTokenEscapedInAURLRedacted(t *testing.T) {
	e := &env{secrets: map[string]bool{}}
	for _, tok := range []string{"s:Kq9Zx3vB7pLmN2wR.aB+cD/eF=", "Zm9v+YmFy/YmF6PT0="} {
		e.secret(tok)
		for _, in := range []string{
			"GET /login?sid=" + url.QueryEscape(tok),
			"GET /x/" + url.PathEscape(tok) + "/y",
		} {
			got := e.redact(in)
			if strings.Contains(got, url.QueryEscape(tok)) || strings.Contains(got, url.PathEscape(tok)) || !strings.Contains(got, "…") {
				t.Errorf("redact(%q) = %q", in, got)
			}
		}
	}
}
