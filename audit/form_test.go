package audit

import (
	"net/url"
	"strings"
	"testing"
)

func TestFindLoginForm(t *testing.T) {
	page := mustURL(t, "http://h/login?session=X")
	tests := []struct {
		name                 string
		html                 string
		userField, passField string
		wantUser, wantPass   string
		wantAction           string
		wantBody             string
		wantErr              string
	}{
		{
			name: "CSRF hidden field, remember-me unchecked, named submit button",
			html: `<form method=post action="/session"><input type=hidden name=csrf value=t0k>
				<input name=login><input type=password name=pw><input type=checkbox name=remember>
				<button name=commit value=go>Sign in</button></form>`,
			wantUser: "login", wantPass: "pw", wantAction: "http://h/session",
			wantBody: "csrf=t0k&login=U&pw=P&commit=go",
		},
		{
			name:     "no action posts to the page URL, query string included",
			html:     `<form method=post><input type=email name=mail><input type=password name=p></form>`,
			wantUser: "mail", wantPass: "p", wantAction: "http://h/login?session=X", wantBody: "mail=U&p=P",
		},
		{
			name: "sign-up form skipped, autocomplete=username preferred",
			html: `<form method=post action=/signup><input name=u><input type=password name=a><input type=password name=b></form>
				<form method=post action=/login><input name=q placeholder=search><input name=handle autocomplete=username><input type=password name=secret></form>`,
			wantUser: "handle", wantPass: "secret", wantAction: "http://h/login", wantBody: "q=&handle=U&secret=P",
		},
		{
			name:     "base href and a select",
			html:     `<base href="http://h/app/"><form method=post action=auth><select name=realm><option>a<option selected value=b>B</select><input name=user><input type=password name=pass></form>`,
			wantUser: "user", wantPass: "pass", wantAction: "http://h/app/auth", wantBody: "realm=b&user=U&pass=P",
		},
		{
			name:      "overrides",
			html:      `<form method=post><input name=a><input name=b><input type=password name=c></form>`,
			userField: "a", wantUser: "a", wantPass: "c", wantAction: "http://h/login?session=X", wantBody: "a=U&b=&c=P",
		},
		{
			name:     "disabled fields are not sent",
			html:     `<form method=post action=/l><input name=x value=1 disabled><input name=u><input type=password name=p></form>`,
			wantUser: "u", wantPass: "p", wantAction: "http://h/l", wantBody: "u=U&p=P",
		},
		{name: "no password field", html: `<form><input name=q></form>`, wantErr: "no form with a password field"},
		{name: "password only", html: `<form method=post><input type=password name=p></form>`, wantErr: "no user-name field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			forms, err := parseForms([]byte(tc.html), page)
			if err != nil {
				t.Fatal(err)
			}
			lf, err := findLoginForm(forms, tc.userField, tc.passField)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if lf.userField != tc.wantUser || lf.passField != tc.wantPass {
				t.Errorf("fields %q/%q, want %q/%q", lf.userField, lf.passField, tc.wantUser, tc.wantPass)
			}
			method, u, body, _, err := lf.encode(map[string]string{lf.userField: "U", lf.passField: "P"})
			if err != nil {
				t.Fatal(err)
			}
			if method != "POST" || u.String() != tc.wantAction {
				t.Errorf("submits %s %s, want POST %s", method, u, tc.wantAction)
			}
			if string(body) != tc.wantBody {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
		})
	}
}

func TestGETFormDropsActionQuery(t *testing.T) {
	forms, err := parseForms([]byte(`<form action="/s?old=1"><input name=q value=v></form>`), mustURL(t, "http://h/"))
	if err != nil {
		t.Fatal(err)
	}
	method, u, _, _, _ := forms[0].encode(nil)
	if method != "GET" || u.String() != "http://h/s?q=v" {
		t.Errorf("%s %s", method, u)
	}
}

func TestVisibleText(t *testing.T) {
	body := `<html><head><title>Sign in</title><script>var u="alice"</script></head>
		<body><input name=user value="alice"><p>Welcome   <b>alice</b>!</p></body></html>`
	got := visibleText([]byte(body), "text/html")
	if !strings.Contains(got, "Welcome alice !") && !strings.Contains(got, "Welcome alice!") {
		t.Errorf("visible text %q lacks the greeting", got)
	}
	if strings.Count(got, "alice") != 1 {
		t.Errorf("visible text %q counts script or attribute text", got)
	}
	if got := visibleText([]byte(`{"user":"alice"}`), "application/json"); got != `{"user":"alice"}` {
		t.Errorf("non-HTML body: %q", got)
	}
}

func TestFindLogout(t *testing.T) {
	page := mustURL(t, "http://h/dashboard")
	for _, tc := range []struct {
		name, html, want string
		wantForm         bool
		want2            *url.URL
	}{
		{name: "form", html: `<form method=post action=/auth/logout><input type=hidden name=t value=1><button>Out</button></form>`, want: "http://h/auth/logout", wantForm: true},
		{name: "link", html: `<a href="/account">Account</a><a href="/sign-out">Sign out</a>`, want: "http://h/sign-out"},
		{name: "off-site link ignored", html: `<a href="http://other.test/logout">x</a>`, want: ""},
		{name: "none", html: `<p>hello</p>`, want: ""},
		{name: "wanted path", html: `<a href="/bye">x</a>`, want: "http://h/bye", want2: mustURL(t, "http://h/bye")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			act, err := findLogout([]byte(tc.html), page, tc.want2)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if act != nil && act.form != nil {
				got = act.form.action.String()
			} else if act != nil {
				got = act.link.String()
			}
			if got != tc.want || tc.wantForm != (act != nil && act.form != nil) {
				t.Errorf("found %q (form %v), want %q (form %v)", got, act != nil && act.form != nil, tc.want, tc.wantForm)
			}
		})
	}
}
