package serve

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"
	"github.com/sessionguard/sessionguard/internal/testsupport/pgtest"
	"github.com/sessionguard/sessionguard/internal/testsupport/redistest"
	"github.com/sessionguard/sessionguard/session"
)

// TestLoadInstances is a measurement, not a test: `make load` runs it
// (scripts/load.sh) with SESSIONGUARD_LOAD_INSTANCES set to the length of
// each run. It serves the signed-in dashboard from 1, 2 and 3 `serve`
// processes on one Redis and on one PostgreSQL, loads each instance with
// a wrk of its own (CONNECTIONS split between them; no proxy, whose CPU
// would be counted against the instances), and prints one Markdown table
// row per run to the file in SESSIONGUARD_LOAD_OUT: the requests per
// second of all instances together, and the CPU the instances, the store,
// wrk and the whole machine used, in cores, and the first three in
// microseconds per request.
func TestLoadInstances(t *testing.T) {
	dur := os.Getenv("SESSIONGUARD_LOAD_INSTANCES")
	out := os.Getenv("SESSIONGUARD_LOAD_OUT")
	if dur == "" || out == "" {
		t.Skip("a measurement: make load runs it (SESSIONGUARD_LOAD_INSTANCES=DURATION SESSIONGUARD_LOAD_OUT=FILE)")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatal("wrk is needed: apt-get install wrk")
	}
	conns := 24
	if c, err := strconv.Atoi(os.Getenv("CONNECTIONS")); err == nil && c > 0 {
		conns = c
	}
	bin := sessionguardBinary(t)
	keys := newKey(t)
	var rows []string
	stores := []struct {
		name  string
		start func(t *testing.T) (spec string, cpu func() float64)
	}{
		{"redis", func(t *testing.T) (string, func() float64) {
			s := redistest.Start(t)
			return "redis://" + s.Addr + "/0", func() float64 { return redisCPU(t, s) }
		}},
		{"postgres", func(t *testing.T) (string, func() float64) {
			s := pgtest.Start(t, "fsync=off")
			return s.URL("postgres"), func() float64 { return postgresCPU(t, s) }
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			spec, storeCPU := st.start(t)
			for n := 1; n <= 3; n++ {
				t.Run(strconv.Itoa(n), func(t *testing.T) {
					rows = append(rows, loadRun(t, bin, keys, spec, st.name, n, conns, dur, storeCPU))
				})
			}
		})
	}
	if err := os.WriteFile(out, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// loadRun measures n instances on spec and returns the table row.
func loadRun(t *testing.T, bin, keys, spec, store string, n, conns int, dur string, storeCPU func() float64) string {
	var bases []string
	var procs []int
	for range n {
		base, p := startInstance(t, bin, keys, "--store", spec, "--account", "alice:alice-password")
		bases, procs = append(bases, base), append(procs, p.Pid)
	}
	b := loopback.NewBrowser("load")
	loopbacktest.SignIn(t, b, bases[0], "alice", "alice-password")
	cookie := session.DefaultCookieName + "=" + b.Cookie(session.DefaultCookieName)
	instCPU := func() float64 {
		var sum float64
		for _, p := range procs {
			sum += procCPU(t, p, false)
		}
		return sum
	}
	i0, s0, self0, m0, w0 := instCPU(), storeCPU(), childrenCPU(t), machineCPU(t), time.Now()
	var mu sync.Mutex
	var rps float64
	var wg sync.WaitGroup
	for i, base := range bases {
		c := conns / n
		if i < conns%n {
			c++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(c), "-d"+dur, "-H", "Cookie: "+cookie, base+"/dashboard").CombinedOutput()
			if err != nil {
				t.Errorf("wrk: %v\n%s", err, out)
				return
			}
			if m := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindSubmatch(out); m != nil {
				t.Errorf("wrk: %s non-2xx/3xx responses", m[1])
			}
			m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
			if m == nil {
				t.Errorf("wrk printed no rate:\n%s", out)
				return
			}
			r, _ := strconv.ParseFloat(string(m[1]), 64)
			mu.Lock()
			rps += r
			mu.Unlock()
		}()
	}
	wg.Wait()
	wall := time.Since(w0).Seconds()
	inst, stor, wrk, machine := instCPU()-i0, storeCPU()-s0, childrenCPU(t)-self0, machineCPU(t)-m0
	perReq := func(cpu float64) float64 { return cpu / (rps * wall) * 1e6 }
	return fmt.Sprintf("| %s | %d | %.0f | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f |",
		store, n, rps, inst/wall, stor/wall, wrk/wall, machine/wall, perReq(inst), perReq(stor), perReq(wrk))
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100
// on every Linux platform Go supports.
const clockTicks = 100

// procCPU returns the CPU seconds (user and system) process pid has used,
// with its waited-for children's when children is set.
func procCPU(t *testing.T, pid int, children bool) float64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0 // it has exited
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	n := 2 // utime, stime: fields 14 and 15 of stat, 12 and 13 here
	if children {
		n = 4 // and cutime, cstime
	}
	var ticks float64
	for _, s := range f[11 : 11+n] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		ticks += v
	}
	return ticks / clockTicks
}

// childrenCPU returns the CPU seconds of this process's waited-for
// children: the wrk runs.
func childrenCPU(t *testing.T) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	var ticks float64
	for _, s := range f[13:15] { // cutime, cstime
		v, _ := strconv.ParseFloat(s, 64)
		ticks += v
	}
	return ticks / clockTicks
}

// machineCPU returns the CPU seconds every process of the machine has
// used (/proc/stat: all but idle and iowait), to show what else ran.
func machineCPU(t *testing.T) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	var busy float64
	for i, s := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(s, 64)
		if i != 3 && i != 4 && i < 8 { // idle, iowait; guest times are inside user
			busy += v
		}
	}
	return busy / clockTicks
}

// redisCPU returns the CPU seconds Redis reports (INFO cpu).
func redisCPU(t *testing.T, s *redistest.Server) float64 {
	var sum float64
	for _, line := range strings.Split(s.Info("cpu"), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("INFO cpu: %q", line)
			}
			sum += f
		}
	}
	return sum
}

// postgresCPU returns the CPU seconds of the PostgreSQL server: the
// postmaster with its exited children, and its live children (backends,
// background workers), from /proc.
func postgresCPU(t *testing.T, s *pgtest.Server) float64 {
	data, err := os.ReadFile(filepath.Join(s.Dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pm, err := strconv.Atoi(strings.SplitN(string(data), "\n", 2)[0])
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	sum := procCPU(t, pm, true)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if f[1] == strconv.Itoa(pm) { // ppid
			sum += procCPU(t, pid, false)
		}
	}
	return sum
}
