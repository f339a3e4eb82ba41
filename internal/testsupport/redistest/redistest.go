// Package redistest starts real redis-server processes for tests: a single
// server, or a Redis Cluster of several primaries. Each runs on a free
// loopback port in a t.TempDir, and is stopped, and waited for, when the
// test ends.
//
// When redis-server is not installed, tests are skipped, unless the
// environment variable CI is set: then they fail, so that a CI run without
// Redis never passes by testing nothing.
//
// It is part of the test-support module
// (github.com/sessionguard/sessionguard/internal/testsupport), used by the
// tests of the store modules, the benchmarks and the command. Its path is
// under internal/, so only the repository's own modules can import it: it
// is not an API, and no user of the library ever depends on it.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 10 * time.Second

// Binary returns the path of the named Redis program (redis-server,
// redis-cli), skipping t if it is missing, or failing t if CI is set.
func Binary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI is set: these tests must run (apt-get install redis-server redis-tools)", name)
	}
	t.Skipf("%s is not installed; install redis-server and redis-tools to run these tests", name)
	return ""
}

// A Server is one redis-server process. Its methods are for the test's
// goroutine, except Addr and Port, which never change.
type Server struct {
	t    testing.TB
	bin  string
	Port int
	Addr string // 127.0.0.1:Port
	Dir  string // the server's working directory (AOF, nodes.conf, log)
	args []string
	conf string // a configuration file, first on the command line (Sentinel)

	mu   sync.Mutex
	proc *exec.Cmd
	done chan struct{} // closed when proc has exited
	log  *os.File
}

// Start starts a redis-server on a free loopback port, with persistence
// off, and waits until it answers PING. extra arguments are appended to
// the command line (later ones win), for instance "--appendonly", "yes".
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := Binary(t, "redis-server")
	dir := t.TempDir()
	var lastErr error
	for range 5 {
		port, err := freePort(false)
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		s := &Server{t: t, bin: bin, Port: port, Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, args: extra}
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.cleanup)
			return s
		}
	}
	t.Fatalf("redistest: could not start redis-server: %v", lastErr)
	return nil
}

// start runs the server process and waits until it answers PING.
func (s *Server) start() error {
	args := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.Dir,
		"--daemonize", "no",
		"--logfile", "",
	}
	args = append(args, s.args...)
	if s.conf != "" {
		// A Sentinel's configuration file comes first; it rewrites it.
		args = append([]string{s.conf}, args...)
	}
	log, err := os.OpenFile(filepath.Join(s.Dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a server we stop is not news
		close(done)
	}()
	s.mu.Lock()
	s.proc, s.done, s.log = cmd, done, log
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		if ping(s.Addr) == nil {
			return nil
		}
		select {
		case <-done:
			log.Close()
			return fmt.Errorf("redis-server exited at start-up:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			s.signal(syscall.SIGKILL)
			return fmt.Errorf("redis-server did not answer PING within %v:\n%s", startTimeout, s.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *Server) Kill() {
	s.t.Helper()
	s.signal(syscall.SIGKILL)
}

// Stop shuts the server down cleanly (SIGTERM: it flushes its AOF) and
// waits for it.
func (s *Server) Stop() {
	s.t.Helper()
	s.signal(syscall.SIGTERM)
}

// Restart starts the server again on the same port and directory, with the
// same arguments, after Kill or Stop.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	select {
	case <-done:
	default:
		s.t.Fatal("redistest: Restart of a server that is still running")
	}
	var err error
	for range 50 {
		// The port may still be held briefly by the dead process's socket.
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("redistest: restart on port %d: %v", s.Port, err)
}

// Log returns what the server has logged so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// signal sends sig and waits for the process to exit, with SIGKILL after
// a few seconds.
func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	proc, done, log := s.proc, s.done, s.log
	s.mu.Unlock()
	if proc == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = proc.Process.Signal(sig) // it may have exited meanwhile
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = proc.Process.Kill()
		<-done
	}
	log.Close()
}

func (s *Server) cleanup() {
	s.Resume() // a stopped process would not act on SIGTERM
	s.signal(syscall.SIGTERM)
}

// Pause stops the server with SIGSTOP, as a hung or partitioned host
// would: it answers nothing, and its connections stay open, until Resume.
func (s *Server) Pause() { s.send(syscall.SIGSTOP) }

// Resume continues a server stopped by Pause (SIGCONT).
func (s *Server) Resume() { s.send(syscall.SIGCONT) }

func (s *Server) send(sig syscall.Signal) {
	s.mu.Lock()
	proc, done := s.proc, s.done
	s.mu.Unlock()
	if proc == nil {
		return
	}
	select {
	case <-done:
	default:
		_ = proc.Process.Signal(sig) // it may have exited meanwhile
	}
}

// StartReplica starts a redis-server replicating primary and waits until
// its link to the primary is up.
func StartReplica(t testing.TB, primary *Server, extra ...string) *Server {
	t.Helper()
	args := append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(primary.Port)}, extra...)
	r := Start(t, args...)
	waitFor(t, "the replica's link to its primary", func() bool {
		info, err := infoSection(r.Addr, "replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	return r
}

// SentinelMaster is the name StartSentinel monitors its primary under.
const SentinelMaster = "sg-primary"

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) on a
// free loopback port, monitoring primary under the name SentinelMaster
// with a quorum of one and short timeouts, so that a test can fail over
// within seconds: the primary is deemed down after downAfter without an
// answer, and a failover may take up to failoverTimeout. It waits until
// the Sentinel has found the primary's replicas (replicas of them).
func StartSentinel(t testing.TB, primary *Server, replicas int, downAfter, failoverTimeout time.Duration) *Server {
	t.Helper()
	bin := Binary(t, "redis-server")
	var lastErr error
	for range 5 {
		port, err := freePort(false)
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		dir := t.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor %s 127.0.0.1 %d 1\n"+
			"sentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s %d\n",
			port, dir, SentinelMaster, primary.Port, SentinelMaster, downAfter.Milliseconds(),
			SentinelMaster, failoverTimeout.Milliseconds())
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Server{t: t, bin: bin, Port: port, Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir,
			conf: conf, args: []string{"--sentinel"}}
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.cleanup)
			waitFor(t, "the Sentinel to find the replicas", func() bool {
				return len(SentinelReplicas(s.Addr)) >= replicas
			})
			return s
		}
	}
	t.Fatalf("redistest: could not start redis-sentinel: %v", lastErr)
	return nil
}

// SentinelPrimary returns the address a Sentinel gives for
// SentinelMaster, or "" if it cannot say.
func SentinelPrimary(addr string) string {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
	defer c.Close()
	a, err := c.GetMasterAddrByName(context.Background(), SentinelMaster).Result()
	if err != nil || len(a) != 2 {
		return ""
	}
	return a[0] + ":" + a[1]
}

// SentinelReplicas returns the addresses of the replicas a Sentinel knows
// of SentinelMaster.
func SentinelReplicas(addr string) []string {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
	defer c.Close()
	rs, err := c.Replicas(context.Background(), SentinelMaster).Result()
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rs {
		out = append(out, r["ip"]+":"+r["port"])
	}
	return out
}

// infoSection returns INFO section of the server at addr.
func infoSection(addr, section string) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	return c.Info(context.Background(), section).Result()
}

// Info returns the INFO section of the server, failing t if it cannot.
func (s *Server) Info(section string) string {
	s.t.Helper()
	info, err := infoSection(s.Addr, section)
	if err != nil {
		s.t.Fatalf("redistest: INFO %s of %s: %v", section, s.Addr, err)
	}
	return info
}

// waitFor polls cond until it holds, failing t after 30 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("redistest: gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitFor polls cond every 20ms until it holds, failing t after 30
// seconds.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, cond)
}

// ping sends a PING in RESP and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// freePort returns a loopback TCP port that is free now. With bus set, the
// cluster bus port (port+10000) must be free too.
func freePort(bus bool) (int, error) {
	if !bus {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	for range 100 {
		port := 20000 + rand.IntN(20000)
		ok := true
		for _, p := range []int{port, port + 10000} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("no free port pair")
}

// A Cluster is a Redis Cluster of primaries without replicas.
type Cluster struct {
	Nodes []*Server
	Addrs []string
}

// StartCluster starts n primaries with cluster mode on, joins them with
// redis-cli --cluster create, and waits until every node reports
// cluster_state:ok with all 16384 slots assigned.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	bin := Binary(t, "redis-server")
	cli := Binary(t, "redis-cli")
	c := &Cluster{}
	for range n {
		var s *Server
		var lastErr error
		for range 5 {
			port, err := freePort(true)
			if err != nil {
				t.Fatalf("redistest: free port: %v", err)
			}
			s = &Server{t: t, bin: bin, Port: port, Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: t.TempDir(),
				args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"}}
			if lastErr = s.start(); lastErr == nil {
				break
			}
			s = nil
		}
		if s == nil {
			t.Fatalf("redistest: could not start a cluster node: %v", lastErr)
		}
		t.Cleanup(s.cleanup)
		c.Nodes = append(c.Nodes, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range c.Nodes {
		for {
			info, err := clusterInfo(s.Addr)
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_slots_ok:16384") &&
				strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(n)+"\r") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: cluster node %s not ready: %v\n%s", s.Addr, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

func clusterInfo(addr string) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	return c.ClusterInfo(context.Background()).Result()
}
