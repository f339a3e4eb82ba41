package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessionguard/sessionguard/metrics"
	"github.com/sessionguard/sessionguard/session"
)

// Serve implements `sessionguard serve`. It returns the process exit
// status: 0 after a clean shutdown (SIGINT or SIGTERM cancel ctx), 2 for bad
// flags or a failure to start.
func Serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	storeSpec := fs.String("store", "", "session store: memory, bolt:PATH or redis://HOST:PORT/DB (default: bolt file in "+DefaultStateDir()+")")
	vulnerable := fs.Bool("vulnerable", false, "serve the DELIBERATELY VULNERABLE mode (loopback only)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "TLS key file")
	baseline := fs.String("insecure-baseline-user", "", "LOAD TESTS ONLY: no session layer at all, every request is signed in as this user")
	rotateEvery := fs.Duration("rotate-every", 0, "give signed-in sessions a fresh token this often (periodic rotation; e.g. 15m, down to a few ms for tests; default off)")
	rotateGrace := fs.Duration("rotate-grace", 0, "how long a rotated-away token keeps working (default 30s with --rotate-every; may exceed it)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on this address at /metrics (for example 127.0.0.1:9090)")
	var accounts []Account
	fs.Func("account", "NAME:PASSWORD of a user (repeatable; default: one generated account)", func(s string) error {
		a, err := ParseAccount(s)
		if err == nil {
			accounts = append(accounts, a)
		}
		return err
	})
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sessionguard serve [flags]\n\nServes the reference sign-in application.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sessionguard: error: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *rotateEvery < 0 || *rotateGrace < 0 {
		fmt.Fprintln(stderr, "sessionguard: error: --rotate-every and --rotate-grace must not be negative")
		return 2
	}
	if *rotateGrace > 0 && *rotateEvery == 0 {
		fmt.Fprintln(stderr, "sessionguard: error: --rotate-grace does nothing without --rotate-every")
		return 2
	}
	if (*rotateEvery > 0) && (*vulnerable || *baseline != "") {
		fmt.Fprintln(stderr, "sessionguard: error: --rotate-every applies to the secure mode only")
		return 2
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(stderr, "sessionguard: error: --tls-cert and --tls-key go together")
		return 2
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: --addr %q: %v\n", *addr, err)
		return 2
	}
	if *baseline != "" && (!isLoopback(host) || *vulnerable) {
		fmt.Fprintln(stderr, "sessionguard: error: --insecure-baseline-user is for load tests on loopback only, without --vulnerable")
		return 2
	}
	if *vulnerable {
		if !isLoopback(host) {
			fmt.Fprintf(stderr, "sessionguard: error: --vulnerable listens on loopback only (127.0.0.1, ::1, localhost), not %q\n", host)
			return 2
		}
		fmt.Fprint(stderr, vulnerableWarning)
	}
	if len(accounts) == 0 {
		accounts = []Account{{Name: "alice", Password: randomPassword()}}
		fmt.Fprintf(stdout, "No --account given: sign in as %s with password %s\n", accounts[0].Name, accounts[0].Password)
	}
	if *baseline != "" {
		*storeSpec = "memory"
		fmt.Fprintf(stderr, "sessionguard: warning: --insecure-baseline-user: NO SESSION LAYER, everyone is %q (load-test baseline)\n", *baseline)
	}
	if *storeSpec == "" {
		name := "sessions.db"
		if *vulnerable {
			name = "sessions-vulnerable.db"
		}
		*storeSpec = "bolt:" + filepath.Join(DefaultStateDir(), name)
	}
	store, closer, err := OpenStore(ctx, *storeSpec)
	if err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: %v\n", err)
		return 2
	}
	defer closer.Close()
	accts, err := NewAccounts(accounts)
	if err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := Config{Store: store, Accounts: accts, Vulnerable: *vulnerable, Logger: logger, BaselineUser: *baseline}
	cfg.Session.Rotation = session.RotationConfig{Every: *rotateEvery, Grace: *rotateGrace}
	if *metricsAddr != "" {
		stop, err := serveMetrics(ctx, *metricsAddr, &cfg, stdout)
		if err != nil {
			fmt.Fprintf(stderr, "sessionguard: error: --metrics: %v\n", err)
			return 2
		}
		defer stop()
	}
	app, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: %v\n", err)
		return 2
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	} else if !isLoopback(host) {
		fmt.Fprintln(stderr, "sessionguard: warning: plain HTTP on a non-loopback address: browsers will not send the Secure session cookie; use --tls-cert/--tls-key or a TLS proxy")
	}
	mode := "secure"
	switch {
	case *vulnerable:
		mode = "VULNERABLE"
	case *baseline != "":
		mode = "baseline, no session layer"
	}
	fmt.Fprintf(stdout, "sessionguard: serving the reference app (%s mode, store %s) on %s://%s/\n", mode, *storeSpec, scheme, ln.Addr())
	return serveUntilDone(ctx, ln, app, *tlsCert, *tlsKey, stderr)
}

const vulnerableWarning = `
  !!! sessionguard: DELIBERATELY VULNERABLE MODE !!!
  This server takes session IDs from ?session= in the URL, adopts IDs it never
  issued, keeps the ID across sign-in and only clears values at sign-out:
  anyone who gets an ID into a user's browser can hijack that user's sign-in.
  Use it only to demonstrate the attack, on loopback.
`

// newServer is the HTTP server serve runs: bounded header size (a 1 MiB
// Cookie header is refused with 431 before any handler runs) and timeouts
// against slow clients.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, cert, key string, stderr io.Writer) int {
	srv := newServer(h)
	errc := make(chan error, 1)
	go func() {
		if cert != "" {
			errc <- srv.ServeTLS(ln, cert, key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "sessionguard: error: %v\n", err)
		return 2
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "sessionguard: error: shutting down: %v\n", err)
		return 1
	}
	fmt.Fprintln(stderr, "sessionguard: stopped")
	return 0
}

// serveMetrics instruments cfg's store and events and serves them at
// /metrics on addr. stop shuts the metrics server down.
func serveMetrics(ctx context.Context, addr string, cfg *Config, stdout io.Writer) (stop func(), err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	cfg.Store = m.InstrumentStore(cfg.Store)
	logEvent := session.LogEvents(cfg.Logger)
	cfg.Session.OnEvent = func(e session.Event) {
		logEvent(e)
		m.Observe(e)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "sessionguard: metrics on http://%s/metrics\n", ln.Addr())
	return func() { srv.Close() }, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
