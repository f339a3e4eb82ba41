package demo

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// browser is the demo's stand-in for a person's browser: it keeps its own
// cookies (sending Secure cookies to loopback over plain HTTP, as browsers do
// for localhost), follows redirects, and records what happened. It talks to
// loopback addresses only.
type browser struct {
	name    string
	ua      string // User-Agent; default "sessionguard-demo (NAME)"
	client  *http.Client
	mu      sync.Mutex
	cookies map[string]*http.Cookie // by name: one host, one path
}

func newBrowser(name string) *browser {
	b := &browser{name: name, cookies: map[string]*http.Cookie{}}
	b.client = &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return b
}

// plant puts a cookie in the browser, as cookie tossing from a sibling
// subdomain or a script on a plain-HTTP page would.
func (b *browser) plant(name, value string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cookies[name] = &http.Cookie{Name: name, Value: value}
}

func (b *browser) cookie(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.cookies[name]; ok {
		return c.Value
	}
	return ""
}

// response is what a page load ended with.
type response struct {
	URL    string
	Status int
	Body   string
	Set    []*http.Cookie // every Set-Cookie seen on the way
}

// do sends one request and follows up to 10 redirects.
func (b *browser) do(ctx context.Context, method, rawURL string, form url.Values) (*response, error) {
	res := &response{}
	for hop := 0; hop < 10; hop++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
		if err != nil {
			return nil, err
		}
		if !isLoopback(req.URL.Hostname()) {
			return nil, fmt.Errorf("demo browser: refusing non-loopback address %s", req.URL.Host)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		ua := b.ua
		if ua == "" {
			ua = "sessionguard-demo (" + b.name + ")"
		}
		req.Header.Set("User-Agent", ua)
		b.mu.Lock()
		for _, c := range b.cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		b.mu.Unlock()
		resp, err := b.client.Do(req)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		b.mu.Lock()
		for _, c := range resp.Cookies() {
			res.Set = append(res.Set, c)
			if c.MaxAge < 0 || c.Value == "" {
				delete(b.cookies, c.Name)
			} else {
				b.cookies[c.Name] = c
			}
		}
		b.mu.Unlock()
		res.URL, res.Status, res.Body = rawURL, resp.StatusCode, string(data)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return res, nil
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			return nil, err
		}
		rawURL, method, form = next.String(), http.MethodGet, nil
	}
	return nil, fmt.Errorf("demo browser: too many redirects")
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// loginAction returns the action of the sign-in form on page, resolved
// against its URL: the victim signs in through the page as served.
func loginAction(res *response) (string, error) {
	m := formAction.FindAllStringSubmatch(res.Body, -1)
	for _, sub := range m {
		action := html.UnescapeString(sub[1])
		if strings.HasPrefix(action, "/login") {
			base, err := url.Parse(res.URL)
			if err != nil {
				return "", err
			}
			u, err := base.Parse(action)
			if err != nil {
				return "", err
			}
			return u.String(), nil
		}
	}
	return "", fmt.Errorf("no sign-in form on %s", res.URL)
}
