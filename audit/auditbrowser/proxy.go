package auditbrowser

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/net/proxy"
)

// originProxy is the proxy the browser is started behind: every
// connection it opens (pages, scripts, WebSockets, beacons, prefetches,
// WebRTC's TCP relays) goes through it, and one to an origin not allowed
// is refused before anything is sent. Request interception in the browser
// judges what it can see (resource types, bodies); this proxy catches
// what it cannot (WebSockets, connections opened by the network stack).
//
// An https:// or wss:// origin is seen as host:port (CONNECT): it is
// allowed when an allowed origin has that host and port.
type originProxy struct {
	srv      *http.Server
	addr     string
	upstream *url.URL // Driver.Proxy, if any

	mu       sync.Mutex
	allowed  map[string]bool // origins (scheme://host[:port]) trusted fully
	loadOnly map[string]bool // origins that may serve scripts and styles until typing starts
	typing   int             // sign-ins past the start of typing
	blocked  map[string]int  // origin → connections refused
	tunnels  map[string][]net.Conn
}

func newOriginProxy(upstream *url.URL) (*originProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("the browser's origin guard: %w", err)
	}
	p := &originProxy{addr: ln.Addr().String(), upstream: upstream, allowed: map[string]bool{}, loadOnly: map[string]bool{},
		blocked: map[string]int{}, tunnels: map[string][]net.Conn{}}
	p.srv = &http.Server{Handler: p}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *originProxy) close() { _ = p.srv.Close() }

// allow sets the origins of a sign-in: trusted and load-only.
func (p *originProxy) allow(trusted, loadOnly []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range trusted {
		p.allowed[strings.ToLower(o)] = true
	}
	for _, o := range loadOnly {
		p.loadOnly[strings.ToLower(o)] = true
	}
}

// startTyping closes the load-only origins until endTyping: open tunnels
// to them are cut, so that nothing typed can leave through them.
func (p *originProxy) startTyping() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.typing++
	for o, conns := range p.tunnels {
		if p.loadOnly[o] && !p.allowed[o] {
			for _, c := range conns {
				_ = c.Close()
			}
			delete(p.tunnels, o)
		}
	}
}

func (p *originProxy) endTyping() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.typing = max(p.typing-1, 0)
}

// takeBlocked returns the refused connections counted so far, and starts
// counting anew.
func (p *originProxy) takeBlocked() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.blocked
	p.blocked = map[string]int{}
	return b
}

// permits reports whether a connection to origin o may open. A
// load-only origin gets no WebSocket (wsOnly: an upgrade, or a tunnel to
// a plain-HTTP origin, which only WebSockets use), and nothing once
// typing has started.
func (p *originProxy) permits(o string, wsOnly bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.allowed[o] || p.loadOnly[o] && p.typing == 0 && !wsOnly {
		return true
	}
	p.blocked[o]++
	return false
}

// connectOrigin is the origin of a CONNECT to host:port: https (or wss)
// on 443, else the http or https origin an allowed origin names.
func (p *originProxy) connectOrigin(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "https://" + strings.ToLower(hostport)
	}
	host = strings.ToLower(host)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "443" {
		return "https://" + host
	}
	o := "https://" + host + ":" + port
	p.mu.Lock()
	defer p.mu.Unlock()
	if alt := "http://" + host + ":" + port; (p.allowed[alt] || p.loadOnly[alt]) && !p.allowed[o] && !p.loadOnly[o] {
		return alt // ws:// tunnelled by the browser
	}
	return o
}

func (p *originProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if r.URL.Host == "" {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	o := originOf(r.URL)
	if !p.permits(o, r.Header.Get("Upgrade") != "") {
		http.Error(w, "blocked by sessionguard: another origin", http.StatusForbidden)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	tr := &http.Transport{Proxy: http.ProxyURL(p.upstream)}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(out)
	if err != nil {
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// tunnel serves a CONNECT: https://, wss:// and ws:// through a proxy.
func (p *originProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	o := p.connectOrigin(r.Host)
	if !p.permits(o, strings.HasPrefix(o, "http://")) {
		http.Error(w, "blocked by sessionguard: another origin", http.StatusForbidden)
		return
	}
	up, err := p.dial(r.Context(), r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	p.mu.Lock()
	p.tunnels[o] = append(p.tunnels[o], conn, up)
	p.mu.Unlock()
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go func() {
		_, _ = io.Copy(up, buf)
		_ = up.Close()
	}()
	_, _ = io.Copy(conn, up)
	_ = conn.Close()
}

// dial opens a connection to hostport, through the upstream proxy if any.
func (p *originProxy) dial(ctx context.Context, hostport string) (net.Conn, error) {
	if p.upstream == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", hostport)
	}
	switch p.upstream.Scheme {
	case "socks5", "socks5h":
		d, err := proxy.FromURL(p.upstream, proxy.Direct)
		if err != nil {
			return nil, err
		}
		return d.Dial("tcp", hostport)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.upstream.Host)
	if err != nil {
		return nil, err
	}
	if p.upstream.Scheme == "https" {
		tc := tls.Client(c, &tls.Config{ServerName: p.upstream.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, err
		}
		c = tc
	}
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", hostport, hostport)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		_ = c.Close()
		if err == nil {
			err = errors.New("the upstream proxy refused CONNECT: " + resp.Status)
		}
		return nil, err
	}
	return c, nil
}
