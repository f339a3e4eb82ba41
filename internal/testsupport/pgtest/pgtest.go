// Package pgtest starts private PostgreSQL servers for tests: initdb in a
// fresh temporary directory, then postgres on a free loopback port with its
// Unix socket in that directory, stopped (and the directory removed) when
// the test ends. Nothing outside the directory is touched, so tests can
// run beside a system PostgreSQL, and beside each other.
//
// The binaries are looked up in $PGBIN, then in Debian's
// /usr/lib/postgresql/VERSION/bin (the newest version installed), then on
// $PATH. PostgreSQL refuses to run as root: when the tests run as root the
// server runs as the "postgres" system user, which Debian's package
// creates.
//
// When PostgreSQL is not installed or cannot start, tests are skipped with
// the reason, unless the environment variable CI is set: then they fail,
// so that a CI run without PostgreSQL never passes by testing nothing.
//
// It is part of the test-support module
// (github.com/sessionguard/sessionguard/internal/testsupport), used by the
// tests of the store modules, the benchmarks and the command. Its path is
// under internal/, so only the repository's own modules can import it: it
// is not an API, and no user of the library ever depends on it.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startTimeout bounds how long a new server may take to accept a
// connection.
const startTimeout = 30 * time.Second

// A Server is one private PostgreSQL cluster. Its fields never change.
type Server struct {
	// Port is the loopback TCP port the server listens on.
	Port int
	// Dir is the temporary directory holding the cluster (Dir/data), its
	// socket and its log (Dir/postgres.log).
	Dir string

	proc    *exec.Cmd
	done    chan struct{} // closed when the server has exited
	stopped sync.Once
	dbs     atomic.Int64
}

// URL returns a connection string for database db as the superuser
// "postgres" (trust authentication: the server listens on loopback only).
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// Binaries returns the directory holding initdb and postgres.
func Binaries() (string, error) {
	if d := os.Getenv("PGBIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err != nil {
			return "", fmt.Errorf("PGBIN=%s: %w", d, err)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL is not installed (no initdb in $PGBIN, /usr/lib/postgresql/*/bin or $PATH); apt-get install postgresql")
}

// version returns the major version in a path like /usr/lib/postgresql/15/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// New starts a server. settings are extra configuration parameters, each
// "name=value", passed as -c options (for instance "fsync=off"). The
// caller must call Stop.
func New(settings ...string) (*Server, error) {
	bin, err := Binaries()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempBase(cred != nil), "pgtest-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		// The directory is the server's: its data, socket and log.
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	s, err := start(bin, dir, cred, settings)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// tempBase returns the directory to make the cluster's directory in: the
// usual temporary directory, unless the server runs as another user who
// could not reach it (a $TMPDIR under root's home), then /tmp.
func tempBase(otherUser bool) string {
	base := os.TempDir()
	if !otherUser {
		return base
	}
	for d := base; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return base
		}
	}
}

// credential returns the identity to run the server as: nil (this process's
// own) unless this process is root, which PostgreSQL refuses.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: no \"postgres\" user to run it as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func command(cred *syscall.Credential, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + dir}
	// Pdeathsig: a test binary that dies (a timeout's panic, a kill) takes
	// its server with it instead of leaving it running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

func start(bin, dir string, cred *syscall.Credential, settings []string) (*Server, error) {
	data := filepath.Join(dir, "data")
	initdb := command(cred, dir, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	logPath := filepath.Join(dir, "postgres.log")
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := []string{"-D", data, "-k", dir, "-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1", "-c", "logging_collector=off"}
		for _, kv := range settings {
			args = append(args, "-c", kv)
		}
		log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		cmd := command(cred, dir, filepath.Join(bin, "postgres"), args...)
		cmd.Stdout, cmd.Stderr = log, log
		err = cmd.Start()
		log.Close() // the child has its own descriptor
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		s := &Server{Port: port, Dir: dir, proc: cmd, done: make(chan struct{})}
		go func() {
			_ = cmd.Wait() // the exit status of a server we stop is not news
			close(s.done)
		}()
		if lastErr = s.wait(); lastErr == nil {
			return s, nil
		}
		s.signal(syscall.SIGKILL)
		if !strings.Contains(lastErr.Error(), "in use") {
			break
		}
	}
	return nil, lastErr
}

// wait waits until the server accepts a connection, or has exited.
func (s *Server) wait() error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		cancel()
		if err == nil {
			return conn.Close(context.Background())
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited at start-up:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept a connection within %v: %v\n%s", startTimeout, err, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns what the server has logged so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "postgres.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Stop shuts the server down (a fast shutdown: open sessions are
// disconnected), waits for it, and removes its directory. It may be called
// more than once.
func (s *Server) Stop() {
	s.stopped.Do(func() {
		s.signal(syscall.SIGINT)
		os.RemoveAll(s.Dir)
	})
}

// signal sends sig and waits for the server to exit, with SIGKILL after ten
// seconds.
func (s *Server) signal(sig syscall.Signal) {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.proc.Process.Signal(sig) // it may have exited meanwhile
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.proc.Process.Kill()
		<-s.done
	}
}

// CreateDatabase creates a new, empty database and returns a connection
// string for it.
func (s *Server) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", s.dbs.Add(1))
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// freePort returns a loopback TCP port that is free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// unavailable skips tb with reason, or fails it when CI is set.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("pgtest: PostgreSQL is needed and CI is set, so this is a failure, not a skip: %v", err)
	}
	tb.Skipf("pgtest: no PostgreSQL for this test: %v", err)
}

// Start starts a server for tb and stops it when tb ends. It skips tb when
// PostgreSQL cannot be had, or fails it when CI is set.
func Start(tb testing.TB, settings ...string) *Server {
	tb.Helper()
	s, err := New(settings...)
	if err != nil {
		unavailable(tb, err)
		return nil
	}
	tb.Cleanup(s.Stop)
	return s
}

// A Shared server is started by the first test that asks for it and
// stopped by Stop, which TestMain calls after the tests have run:
//
//	var pg = pgtest.Shared{Settings: []string{"fsync=off"}}
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pg.Stop()
//		os.Exit(code)
//	}
type Shared struct {
	// Settings are passed to New.
	Settings []string

	once sync.Once
	srv  *Server
	err  error
}

// Server returns the shared server, starting it on first use. It skips tb
// when PostgreSQL cannot be had, or fails it when CI is set; every later
// caller gets the same answer.
func (p *Shared) Server(tb testing.TB) *Server {
	tb.Helper()
	p.once.Do(func() { p.srv, p.err = New(p.Settings...) })
	if p.err != nil {
		unavailable(tb, p.err)
		return nil
	}
	return p.srv
}

// Database creates a fresh database on the shared server for tb and
// returns its connection string.
func (p *Shared) Database(tb testing.TB) string {
	tb.Helper()
	srv := p.Server(tb)
	url, err := srv.CreateDatabase(context.Background())
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return url
}

// Stop stops the shared server if it was started. Stop runs once the
// tests are done: its Once is not reset.
func (p *Shared) Stop() {
	p.once.Do(func() { p.err = errors.New("pgtest: the shared server was stopped") })
	if p.srv != nil {
		p.srv.Stop()
	}
}
