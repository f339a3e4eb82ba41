package sessiontest

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"

	"github.com/sessionguard/sessionguard/session"
)

// NewJar returns an empty cookie jar that treats http://localhost and
// loopback addresses as secure, as browsers do: it stores and sends Secure
// cookies there, so a session.Manager with the default __Host- cookie
// works behind httptest.NewServer as well as httptest.NewTLSServer.
// (net/http/cookiejar alone never sends a Secure cookie over plain HTTP.)
func NewJar() http.CookieJar {
	j, err := cookiejar.New(nil)
	if err != nil { // cookiejar.New fails only for a bad PublicSuffixList
		panic(fmt.Sprintf("sessiontest: %v", err))
	}
	return loopbackJar{j}
}

type loopbackJar struct{ jar *cookiejar.Jar }

func (j loopbackJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.jar.SetCookies(secureLoopback(u), cookies)
}

func (j loopbackJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(secureLoopback(u)) }

// secureLoopback returns u with the https scheme when it is a plain-HTTP
// URL of a loopback host.
func secureLoopback(u *url.URL) *url.URL {
	if u.Scheme != "http" || !loopback(u.Hostname()) {
		return u
	}
	s := *u
	s.Scheme = "https"
	return &s
}

func loopback(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// NewClient returns a client for ts with an empty [NewJar]: a browser that
// has never visited. It trusts ts's certificate when ts uses TLS.
func NewClient(ts *httptest.Server) *http.Client {
	c := *ts.Client()
	c.Jar = NewJar()
	return &c
}

// Client returns a client for ts whose cookie jar holds a session of userID,
// made by [Manager.Login] with opts: the application's handlers behind ts
// see the user signed in, with no request to its sign-in page. The jar
// follows the application's Set-Cookie headers afterwards (renewals,
// sign-out) as a browser's would. ts must serve a handler wrapped by this
// Manager's Handler.
func (m *Manager) Client(ts *httptest.Server, userID string, opts ...session.LoginOption) *http.Client {
	c := NewClient(ts)
	u, err := url.Parse(ts.URL)
	if err != nil {
		panic(fmt.Sprintf("sessiontest: Client: server URL: %v", err))
	}
	cookie := m.Login(userID, opts...)
	// Set-Cookie as the server would send it: a browser keeps the
	// attributes, not just the value.
	cookie.Raw, cookie.Domain = "", ""
	c.Jar.SetCookies(u, []*http.Cookie{cookie})
	return c
}
