// Package serve implements `sessionguard serve`: it checks the flags,
// opens the store, and serves the reference application (package app) over
// HTTP or HTTPS until the command is stopped, with Prometheus metrics on
// request. It is internal to the command, and not an API.
package serve

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/app"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/cliflag"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
	"github.com/sessionguard/sessionguard/metrics"
	"github.com/sessionguard/sessionguard/session"
)

// Serve implements `sessionguard serve`. It checks every flag, loads the TLS
// key pair, opens the store and binds the listeners before it prints
// anything but an error, so that a mistake gives one clear message and
// nothing else. It returns the process exit status: 0 after a clean
// shutdown (SIGINT or SIGTERM cancel ctx), 2 for bad flags or a failure to
// start.
func Serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	storeSpec := fs.String("store", "", "session store: "+app.StoreSpecs+" (default: bolt file in "+DefaultStateDir()+")")
	vulnerable := fs.Bool("vulnerable", false, "serve the DELIBERATELY VULNERABLE mode (loopback only)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "TLS key file")
	baseline := fs.String("insecure-baseline-user", "", "LOAD TESTS ONLY: no session layer at all, every request is signed in as this user")
	rotateEvery := fs.Duration("rotate-every", 0, "give signed-in sessions a fresh token this often (periodic rotation; e.g. 15m, down to a few ms for tests; default off)")
	rotateGrace := fs.Duration("rotate-grace", 0, "how long a rotated-away token keeps working (default 30s with --rotate-every; may exceed it)")
	keysFile := fs.String("keys-file", "", "file of base64 keys shared by every instance (current key first; see KEYS below; default: $"+KeysEnv+", else a random key for this process)")
	maxSessions := fs.Int("max-sessions", 0, "how many sessions one user may hold at once; a sign-in past it ends the least recently used (default 100)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on this address at /metrics (for example 127.0.0.1:9090)")
	var accounts []app.Account
	fs.Func("account", "NAME:PASSWORD of a user (repeatable; default: one generated account)", func(s string) error {
		a, err := app.ParseAccount(s)
		if err == nil {
			accounts = append(accounts, a)
		}
		return err
	})
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sessionguard serve [flags]\n\nServes the reference sign-in application.\n\n")
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), keysHelp)
	}
	if done, code := cliflag.Parse(fs, args, stdout, stderr); done {
		return code
	}
	help := []string{"run 'sessionguard serve -h' for the flags"}
	fail := func(hints []string, format string, args ...any) int {
		cliflag.Errorf(stderr, hints, format, args...)
		return 2
	}
	if fs.NArg() > 0 {
		return fail(append([]string{"serve takes no arguments; flags go before them"}, help...), "unexpected argument %q", fs.Arg(0))
	}
	if *rotateEvery < 0 || *rotateGrace < 0 {
		return fail(nil, "--rotate-every and --rotate-grace must not be negative")
	}
	if *maxSessions < 0 {
		return fail(nil, "--max-sessions must not be negative")
	}
	if *rotateGrace > 0 && *rotateEvery == 0 {
		return fail(nil, "--rotate-grace does nothing without --rotate-every")
	}
	if (*rotateEvery > 0) && (*vulnerable || *baseline != "") {
		return fail(nil, "--rotate-every applies to the secure mode only")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fail(nil, "--tls-cert and --tls-key go together")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fail([]string{"give HOST:PORT, for example 127.0.0.1:8080"}, "--addr %q: %v", *addr, err)
	}
	if *baseline != "" && (!loopback.IsLoopback(host) || *vulnerable) {
		return fail(nil, "--insecure-baseline-user is for load tests on loopback only, without --vulnerable")
	}
	if *vulnerable && !loopback.IsLoopback(host) {
		where := fmt.Sprintf("%q", *addr)
		if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
			where += " (every interface)"
		}
		return fail([]string{"use --addr 127.0.0.1:PORT"},
			"--vulnerable listens on loopback only (127.0.0.1, ::1, localhost), not on %s", where)
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		pair, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fail(nil, "--tls-cert/--tls-key: %v", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	keys, keysFrom, err := loadKeys(*keysFile, os.Getenv(KeysEnv) != "")
	if err != nil {
		return fail([]string{"make a key with: head -c32 /dev/urandom | base64"}, "%v", err)
	}
	generated := len(accounts) == 0
	if generated {
		accounts = []app.Account{{Name: "alice", Password: app.RandomPassword()}}
	}
	if *baseline != "" {
		*storeSpec = "memory"
	}
	if *storeSpec == "" {
		name := "sessions.db"
		if *vulnerable {
			name = "sessions-vulnerable.db"
		}
		*storeSpec = "bolt:" + filepath.Join(DefaultStateDir(), name)
	}
	// The Redis client logs every failed dial by itself; until the server
	// runs, the one error that matters is OpenStore's.
	redisLog.quiet()
	store, closer, err := app.OpenStore(ctx, *storeSpec)
	if err != nil {
		return fail(nil, "%v", err)
	}
	defer closer.Close()
	accts, err := app.NewAccounts(accounts)
	if err != nil {
		return fail(nil, "%v", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := app.Config{Store: store, Accounts: accts, Vulnerable: *vulnerable, Logger: logger, BaselineUser: *baseline}
	cfg.Session.Rotation = session.RotationConfig{Every: *rotateEvery, Grace: *rotateGrace}
	cfg.Session.Keys = keys
	cfg.Session.MaxSessionsPerUser = *maxSessions
	var metricsLn net.Listener
	var reg *prometheus.Registry
	if *metricsAddr != "" {
		metricsLn, err = net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fail(nil, "--metrics %q: %v", *metricsAddr, err)
		}
		defer metricsLn.Close()
		reg = instrument(&cfg)
	}
	handler, err := app.New(cfg)
	if err != nil {
		return fail(nil, "%v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(nil, "--addr %q: %v", *addr, err)
	}
	defer ln.Close()

	// Everything is in place: from here on, say what is going on.
	redisLog.to(logger)
	if *vulnerable {
		fmt.Fprint(stderr, vulnerableWarning)
	}
	if *baseline != "" {
		fmt.Fprintf(stderr, "sessionguard: warning: --insecure-baseline-user: NO SESSION LAYER, everyone is %q (load-test baseline)\n", *baseline)
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	} else if !loopback.IsLoopback(host) {
		fmt.Fprintln(stderr, "sessionguard: warning: plain HTTP on a non-loopback address: browsers will not send the Secure session cookie; use --tls-cert/--tls-key or a TLS proxy")
	}
	switch {
	case keys == nil && !*vulnerable && *baseline == "": // one-process demonstrations need no shared key
		fmt.Fprint(stderr, noKeysWarning)
	case keys != nil:
		fmt.Fprintf(stderr, "sessionguard: %d keys from %s (the first signs)\n", keys.Len(), keysFrom)
	}
	if generated {
		fmt.Fprintf(stdout, "No --account given: sign in as %s with password %s\n", accounts[0].Name, accounts[0].Password)
	}
	if metricsLn != nil {
		stop := serveMetrics(metricsLn, reg)
		defer stop()
		fmt.Fprintf(stdout, "sessionguard: metrics on http://%s/metrics\n", metricsLn.Addr())
	}
	mode := "secure"
	switch {
	case *vulnerable:
		mode = "VULNERABLE"
	case *baseline != "":
		mode = "baseline, no session layer"
	}
	fmt.Fprintf(stdout, "sessionguard: serving the reference app (%s mode, store %s) on %s://%s/\n", mode, redactSpec(*storeSpec), scheme, ln.Addr())
	return serveUntilDone(ctx, ln, handler, tlsConfig, stderr)
}

// KeysEnv is the environment variable serve reads its key set from when
// --keys-file is not given.
const KeysEnv = "SESSIONGUARD_KEYS"

const keysHelp = `
KEYS
  Every instance behind one load balancer needs the same keys: they tag the
  session tokens and sign what the app carries across redirects (why a
  session ended, the notes of the Sessions page). Give them with
  --keys-file FILE or the environment variable ` + KeysEnv + `: base64 keys
  of 32 random bytes, separated by newlines, spaces or commas, '#' starts a
  comment line. The first key signs; the others still verify. To rotate:
  add the new key SECOND on every instance; then move it first on every
  instance; remove the old key once the sessions issued under it have
  ended. (An instance that does not know the new key yet refuses what it
  signs.) Make a key with: head -c32 /dev/urandom | base64
`

const noKeysWarning = `sessionguard: warning: no --keys-file and no ` + KeysEnv + `: using a random key
  for this process only. Several instances behind one load balancer need ONE shared
  key set (--keys-file or ` + KeysEnv + `), or a redirect answered by another
  instance loses its message. Make a key with: head -c32 /dev/urandom | base64
`

// loadKeys returns the key set of --keys-file, or of $SESSIONGUARD_KEYS
// when envSet, and where it came from; nil when neither is given. Both at
// once is an error: one of them would be silently ignored.
func loadKeys(file string, envSet bool) (*session.Keys, string, error) {
	switch {
	case file != "" && envSet:
		return nil, "", fmt.Errorf("--keys-file and $%s are both set: give the keys one way", KeysEnv)
	case file != "":
		k, err := session.ReadKeysFile(file)
		if err != nil {
			return nil, "", fmt.Errorf("--keys-file: %w", err)
		}
		return k, "--keys-file", nil
	case envSet:
		k, err := session.KeysFromEnv(KeysEnv)
		if err != nil {
			return nil, "", fmt.Errorf("$%s: %w", KeysEnv, err)
		}
		return k, "$" + KeysEnv, nil
	}
	return nil, "", nil
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

// serveUntilDone serves h on ln, over TLS with tlsConfig's certificate when
// it is set, until ctx ends.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, tlsConfig *tls.Config, stderr io.Writer) int {
	srv := newServer(h)
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			srv.TLSConfig = tlsConfig
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		cliflag.Errorf(stderr, nil, "%v", err)
		return 2
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		cliflag.Errorf(stderr, nil, "shutting down: %v", err)
		return 1
	}
	fmt.Fprintln(stderr, "sessionguard: stopped")
	return 0
}

// instrument makes cfg count what /metrics shows: session events, store
// latency, and the app's sign-in outcomes.
func instrument(cfg *app.Config) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	cfg.Store = m.InstrumentStore(cfg.Store)
	logEvent := session.LogEvents(cfg.Logger)
	cfg.Session.OnEvent = func(e session.Event) {
		logEvent(e)
		m.Observe(e)
	}
	signIns := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sessionguard_demo_signins_total",
		Help: "Sign-in attempts on the reference app's form, by result: ok, failed (wrong name or password) or throttled (refused during a back-off).",
	}, []string{"result"})
	for _, r := range app.SignInResults {
		signIns.WithLabelValues(string(r)) // export zeros, so rates work from the start
	}
	reg.MustRegister(signIns)
	cfg.OnSignIn = func(r app.SignInResult) { signIns.WithLabelValues(string(r)).Inc() }
	return reg
}

// serveMetrics serves reg at /metrics on ln. stop shuts the server down.
func serveMetrics(ln net.Listener, reg *prometheus.Registry) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }
}

// redisLog receives the Redis client's own log lines (failed dials, pool
// errors), which it would otherwise print to the process's stderr in a
// format of its own: serve drops them during start-up, where OpenStore
// reports the one error that matters, and then sends them to the app's log
// at Warn level. Outside serve they go to slog.Default().
var redisLog = newRedisLogger()

type redisLogger struct {
	silent  atomic.Bool
	logger  atomic.Pointer[slog.Logger] // nil: slog.Default()
	dropped atomic.Int64                // lines dropped while silent
}

func newRedisLogger() *redisLogger {
	l := &redisLogger{}
	redis.SetLogger(l)
	return l
}

// quiet drops lines until to is called.
func (l *redisLogger) quiet() { l.silent.Store(true) }

// to sends lines to lg.
func (l *redisLogger) to(lg *slog.Logger) {
	l.logger.Store(lg)
	l.silent.Store(false)
}

func (l *redisLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.silent.Load() {
		l.dropped.Add(1)
		return
	}
	lg := l.logger.Load()
	if lg == nil {
		lg = slog.Default()
	}
	lg.Warn("redis client", "message", fmt.Sprintf(format, v...))
}

// redactSpec hides the password of a store URL before it is printed
// (app.RedactSpec).
func redactSpec(spec string) string { return app.RedactSpec(spec) }

// DefaultStateDir is where serve keeps its bolt file by default:
// $XDG_STATE_HOME/sessionguard, or ~/.local/state/sessionguard.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sessionguard")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "sessionguard")
	}
	return filepath.Join(os.TempDir(), "sessionguard")
}
