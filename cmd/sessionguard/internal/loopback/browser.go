// Package loopback is the command's HTTP client for applications on this
// machine: [Browser] stands in for a person's browser (the victim's or the
// attacker's in the narrated demo, a user's in the reference app's tests),
// and [IsLoopback] says whether a host is this machine, for the clients and
// servers that must talk to loopback only. It is internal to the command,
// and not an API.
package loopback

import (
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Browser is a stand-in for a person's browser: it keeps its own cookies
// (sending Secure cookies to loopback over plain HTTP, as browsers do for
// localhost), follows redirects, and records what happened. It talks to
// loopback addresses only. It is safe for concurrent use.
type Browser struct {
	// UserAgent is the User-Agent header it sends. Default (when empty):
	// "sessionguard-demo (NAME)". Set it before the first request.
	UserAgent string

	name    string
	client  *http.Client
	mu      sync.Mutex
	cookies map[string]*http.Cookie // by name: one host, one path
}

// NewBrowser returns a browser with no cookies, named name (the victim,
// the attacker) in its default User-Agent.
func NewBrowser(name string) *Browser {
	b := &Browser{name: name, cookies: map[string]*http.Cookie{}}
	b.client = &http.Client{
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return b
}

// Plant puts a cookie in the browser, as cookie tossing from a sibling
// subdomain or a script on a plain-HTTP page would.
func (b *Browser) Plant(name, value string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cookies[name] = &http.Cookie{Name: name, Value: value}
}

// Cookie returns the value of the browser's cookie name, or "" when it has
// none.
func (b *Browser) Cookie(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.cookies[name]; ok {
		return c.Value
	}
	return ""
}

// Response is what a page load ended with.
type Response struct {
	URL    string
	Status int
	Body   string
	Set    []*http.Cookie // every Set-Cookie seen on the way
}

// Do sends one request, with form as its URL-encoded body when it is not
// nil, and follows up to 10 redirects. Any address that is not loopback is
// refused.
func (b *Browser) Do(ctx context.Context, method, rawURL string, form url.Values) (*Response, error) {
	res := &Response{}
	for hop := 0; hop < 10; hop++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
		if err != nil {
			return nil, err
		}
		if !IsLoopback(req.URL.Hostname()) {
			return nil, fmt.Errorf("loopback browser: refusing non-loopback address %s", req.URL.Host)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		ua := b.UserAgent
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
	return nil, fmt.Errorf("loopback browser: too many redirects")
}

var formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)

// LoginAction returns the action of the sign-in form on the page res
// holds, resolved against its URL, so that a user signs in through the page
// as served.
func LoginAction(res *Response) (string, error) {
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

// IsLoopback reports whether host (a name or an IP address, without a port)
// is this machine: "localhost" or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
