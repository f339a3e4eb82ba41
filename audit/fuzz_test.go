package audit

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, dir string) {
	paths, err := filepath.Glob(filepath.Join("testdata", "seed", dir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/seed/%s: %v", dir, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzForms feeds hostile HTML to the login-form driver: parsing, choosing
// the login form, encoding its submission, and finding a logout action must
// never panic, and an encoded submission must stay on a URL.
func FuzzForms(f *testing.F) {
	addSeeds(f, "form")
	page, _ := url.Parse("http://127.0.0.1:8080/login")
	f.Fuzz(func(t *testing.T, body []byte) {
		forms, err := parseForms(body, page)
		if err != nil {
			return
		}
		if lf, err := findLoginForm(forms, "", ""); err == nil {
			_, u, _, _, err := lf.encode(map[string]string{lf.userField: "alice", lf.passField: "pw"})
			if err == nil && u == nil {
				t.Fatal("encode returned no URL and no error")
			}
		}
		_, _ = findLogout(body, page, nil)
		_ = visibleText(body, "text/html; charset=utf-8")
	})
}

// FuzzSetCookie feeds hostile Set-Cookie headers through the auditor's
// cookie jar: it must never panic, and a cookie it keeps must be sent back
// only under its own name.
func FuzzSetCookie(f *testing.F) {
	addSeeds(f, "setcookie")
	u, _ := url.Parse("http://127.0.0.1:8080/app/login")
	f.Fuzz(func(t *testing.T, header []byte) {
		resp := http.Response{Header: http.Header{"Set-Cookie": strings.Split(string(header), "\n")}}
		j := newJar()
		cookies := resp.Cookies()
		j.SetCookies(u, cookies)
		for _, c := range j.Cookies(u) {
			if c.Name == "" {
				t.Fatal("jar returned a nameless cookie")
			}
		}
		snap := j.snapshot()
		j.remove("sid")
		j.restore(snap)
		_ = j.names(u)
	})
}
