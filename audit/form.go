package audit

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// form is an HTML form as a browser would submit it.
type form struct {
	method  string   // GET or POST
	action  *url.URL // resolved
	enctype string
	fields  []field // successful controls in tree order
}

type field struct {
	name, value string
	typ         string // lower-case input type; "select", "textarea", "button"
	auto        string // autocomplete attribute
}

// loginForm is a form with the credential fields identified.
type loginForm struct {
	form
	userField, passField string
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attrOr(n *html.Node, key string) string {
	v, _ := attr(n, key)
	return v
}

func walk(n *html.Node, f func(*html.Node) bool) {
	if !f(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// documentBase is the URL relative links resolve against: the page URL,
// or its <base href>.
func documentBase(doc *html.Node, pageURL *url.URL) *url.URL {
	base := pageURL
	walk(doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.DataAtom == atom.Base {
			if href, ok := attr(n, "href"); ok {
				if u, err := pageURL.Parse(strings.TrimSpace(href)); err == nil {
					base = u
				}
			}
			return false
		}
		return true
	})
	return base
}

// parseForms returns every form of the document with the controls a
// browser would submit, pressing the form's first submit button.
func parseForms(body []byte, pageURL *url.URL) ([]form, error) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	base := documentBase(doc, pageURL)
	var forms []form
	byID := map[string]int{}
	var formNodes []*html.Node
	walk(doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.DataAtom == atom.Form {
			f := form{method: "GET", enctype: "application/x-www-form-urlencoded"}
			if m := strings.ToUpper(strings.TrimSpace(attrOr(n, "method"))); m == "POST" {
				f.method = "POST"
			}
			if e := strings.ToLower(strings.TrimSpace(attrOr(n, "enctype"))); e == "multipart/form-data" {
				f.enctype = e
			}
			// An empty or missing action submits to the document's own
			// URL, query string included: this is how an ID given in the
			// login link reaches the sign-in request.
			f.action = pageURL
			if a, ok := attr(n, "action"); ok && strings.TrimSpace(a) != "" {
				if u, err := base.Parse(strings.TrimSpace(a)); err == nil {
					f.action = u
				}
			}
			if id := attrOr(n, "id"); id != "" {
				byID[id] = len(forms)
			}
			forms = append(forms, f)
			formNodes = append(formNodes, n)
		}
		return true
	})
	// Controls belong to their ancestor form, or to the form named by
	// their form attribute.
	submitted := make([]bool, len(forms))
	for i, fn := range formNodes {
		walk(fn, func(n *html.Node) bool {
			if n.Type != html.ElementNode {
				return true
			}
			if n != fn && n.DataAtom == atom.Form {
				return false
			}
			if owner, ok := attr(n, "form"); ok {
				if j, ok := byID[owner]; ok && j != i {
					return true
				}
			}
			addControl(&forms[i], n, &submitted[i])
			return true
		})
	}
	walk(doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && !insideForm(n) {
			if owner, ok := attr(n, "form"); ok {
				if j, ok := byID[owner]; ok {
					addControl(&forms[j], n, &submitted[j])
				}
			}
		}
		return true
	})
	return forms, nil
}

func insideForm(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.DataAtom == atom.Form {
			return true
		}
	}
	return false
}

func addControl(f *form, n *html.Node, submitted *bool) {
	if _, disabled := attr(n, "disabled"); disabled {
		return
	}
	name := attrOr(n, "name")
	switch n.DataAtom {
	case atom.Input:
		typ := strings.ToLower(strings.TrimSpace(attrOr(n, "type")))
		if typ == "" {
			typ = "text"
		}
		val := attrOr(n, "value")
		switch typ {
		case "checkbox", "radio":
			if _, checked := attr(n, "checked"); !checked {
				return
			}
			if _, ok := attr(n, "value"); !ok {
				val = "on"
			}
		case "submit", "image":
			if *submitted {
				return
			}
			*submitted = true
			if typ == "image" {
				if name != "" {
					f.fields = append(f.fields, field{name: name + ".x", value: "0", typ: typ}, field{name: name + ".y", value: "0", typ: typ})
				}
				return
			}
		case "button", "reset", "file":
			return
		}
		if name == "" {
			return
		}
		f.fields = append(f.fields, field{name: name, value: val, typ: typ, auto: strings.ToLower(attrOr(n, "autocomplete"))})
	case atom.Button:
		typ := strings.ToLower(strings.TrimSpace(attrOr(n, "type")))
		if typ != "" && typ != "submit" || *submitted {
			return
		}
		*submitted = true
		if name != "" {
			f.fields = append(f.fields, field{name: name, value: attrOr(n, "value"), typ: "button"})
		}
	case atom.Textarea:
		if name != "" {
			f.fields = append(f.fields, field{name: name, value: textOf(n), typ: "textarea"})
		}
	case atom.Select:
		if name == "" {
			return
		}
		var first, selected *html.Node
		walk(n, func(o *html.Node) bool {
			if o.Type == html.ElementNode && o.DataAtom == atom.Option {
				if first == nil {
					first = o
				}
				if _, ok := attr(o, "selected"); ok && selected == nil {
					selected = o
				}
			}
			return true
		})
		if selected == nil {
			selected = first
		}
		if selected != nil {
			v, ok := attr(selected, "value")
			if !ok {
				v = strings.TrimSpace(textOf(selected))
			}
			f.fields = append(f.fields, field{name: name, value: v, typ: "select"})
		}
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) bool {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		return true
	})
	return b.String()
}

var userNameHint = regexp.MustCompile(`(?i)user|login|e-?mail|account|ident|name`)

// findLoginForm picks the form with a password field (or the named one)
// and identifies its user-name and password fields.
func findLoginForm(forms []form, userField, passField string) (*loginForm, error) {
	for _, f := range forms {
		lf := loginForm{form: f}
		var passwords int
		for _, fl := range f.fields {
			if fl.typ == "password" {
				passwords++
			}
		}
		if passField != "" {
			if !f.has(passField) {
				continue
			}
			lf.passField = passField
		} else {
			if passwords != 1 {
				continue // none, or a sign-up / change-password form
			}
			for _, fl := range f.fields {
				if fl.typ == "password" {
					lf.passField = fl.name
				}
			}
		}
		if userField != "" {
			if !f.has(userField) {
				return nil, fmt.Errorf("the login form has no field named %q (fields: %s)", userField, f.fieldNames())
			}
			lf.userField = userField
			return &lf, nil
		}
		lf.userField = guessUserField(f.fields, lf.passField)
		if lf.userField == "" {
			return nil, fmt.Errorf("the login form has no user-name field (fields: %s)", f.fieldNames())
		}
		return &lf, nil
	}
	if passField != "" {
		return nil, fmt.Errorf("no form with a field named %q", passField)
	}
	return nil, fmt.Errorf("no form with a password field")
}

func guessUserField(fields []field, passField string) string {
	var candidates []field
	for _, fl := range fields {
		if fl.name == passField {
			break
		}
		switch fl.typ {
		case "text", "email", "tel", "search", "url":
			candidates = append(candidates, fl)
		}
	}
	if len(candidates) == 0 {
		for _, fl := range fields {
			if fl.typ == "text" || fl.typ == "email" {
				candidates = append(candidates, fl)
			}
		}
	}
	for _, pick := range []func(field) bool{
		func(f field) bool { return f.auto == "username" || f.auto == "email" },
		func(f field) bool { return f.typ == "email" },
		func(f field) bool { return userNameHint.MatchString(f.name) },
	} {
		for _, c := range candidates {
			if pick(c) {
				return c.name
			}
		}
	}
	if len(candidates) > 0 {
		return candidates[len(candidates)-1].name
	}
	return ""
}

func (f form) has(name string) bool {
	for _, fl := range f.fields {
		if fl.name == name {
			return true
		}
	}
	return false
}

func (f form) fieldNames() string {
	var names []string
	for _, fl := range f.fields {
		names = append(names, fl.name+" ("+fl.typ+")")
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// encode returns the request a browser sends for this form with the given
// values overriding the fields of those names.
func (f form) encode(set map[string]string) (method string, u *url.URL, body []byte, contentType string, err error) {
	var pairs [][2]string
	for _, fl := range f.fields {
		v := fl.value
		if s, ok := set[fl.name]; ok {
			v = s
		}
		pairs = append(pairs, [2]string{fl.name, v})
	}
	target := *f.action
	target.Fragment = ""
	if f.method == "GET" {
		q := url.Values{}
		for _, p := range pairs {
			q.Add(p[0], p[1])
		}
		target.RawQuery = q.Encode()
		return "GET", &target, nil, "", nil
	}
	if f.enctype == "multipart/form-data" {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, p := range pairs {
			if err := w.WriteField(p[0], p[1]); err != nil {
				return "", nil, nil, "", err
			}
		}
		if err := w.Close(); err != nil {
			return "", nil, nil, "", err
		}
		return "POST", &target, buf.Bytes(), w.FormDataContentType(), nil
	}
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p[0]) + "=" + url.QueryEscape(p[1]))
	}
	return "POST", &target, []byte(b.String()), "application/x-www-form-urlencoded", nil
}

// visibleText is the text a user reads on a page: text nodes outside
// script and style, whitespace collapsed. Attribute values (a user name
// pre-filled in a login form) do not count.
func visibleText(body []byte, contentType string) string {
	if ct := strings.ToLower(contentType); ct != "" && !strings.Contains(ct, "html") {
		return collapse(string(body))
	}
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return collapse(string(body))
	}
	var b strings.Builder
	walk(doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script, atom.Style, atom.Template, atom.Noscript:
				return false
			}
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		return true
	})
	return collapse(b.String())
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

var logoutHint = regexp.MustCompile(`(?i)log[-_]?out|sign[-_]?out|log[-_]?off`)

// logoutAction is a way to log out found on a page.
type logoutAction struct {
	form *form    // a logout form, submitted with its fields (CSRF token)
	link *url.URL // or a logout link
}

// findLogout looks for a logout form or link on a page. With want set, it
// looks for one pointing at that URL's path; otherwise for one whose
// action or link looks like a logout.
func findLogout(body []byte, pageURL, want *url.URL) (*logoutAction, error) {
	forms, err := parseForms(body, pageURL)
	if err != nil {
		return nil, err
	}
	matches := func(u *url.URL) bool {
		if want != nil {
			return u.Path == want.Path
		}
		return logoutHint.MatchString(u.Path)
	}
	for i := range forms {
		if matches(forms[i].action) {
			return &logoutAction{form: &forms[i]}, nil
		}
	}
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	base := documentBase(doc, pageURL)
	var link *url.URL
	walk(doc, func(n *html.Node) bool {
		if link != nil {
			return false
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.A {
			if href, ok := attr(n, "href"); ok {
				if u, err := base.Parse(strings.TrimSpace(href)); err == nil && canonicalHost(u.Host) == canonicalHost(pageURL.Host) && matches(u) {
					link = u
				}
			}
		}
		return true
	})
	if link != nil {
		return &logoutAction{link: link}, nil
	}
	return nil, nil
}
