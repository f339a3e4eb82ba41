// Command report turns `go test -bench` output from package bench into the
// tables of docs/BENCHMARKS.md: the median of each benchmark over its runs,
// the overhead of each library above the bare handler, and the verdict on
// project's performance targets, which this file states.
//
//	go test -run '^$' -bench . -benchmem -count 6 . | tee bench.out
//	go run ./report < bench.out
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// line matches one benchmark result: name-procs, iterations, then value unit
// pairs.
var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

type result map[string][]float64 // unit -> values over the runs

func main() {
	results := map[string]result{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name := m[1]
		if _, ok := results[name]; !ok {
			results[name] = result{}
			order = append(order, name)
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			results[name][f[i+1]] = append(results[name][f[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "report: no benchmark results on standard input")
		os.Exit(1)
	}
	write(os.Stdout, results, order)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func get(results map[string]result, name, unit string) (float64, bool) {
	r, ok := results[name]
	if !ok || len(r[unit]) == 0 {
		return 0, false
	}
	return median(r[unit]), true
}

func write(w io.Writer, results map[string]result, order []string) {
	libs := []string{"sessionguard", "scs", "gorilla"}
	fmt.Fprintln(w, "### In memory: `BenchmarkMiddleware/<case>/<lib>` (median of the runs)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| case | library | ns/op | overhead ns/op | B/op | allocs/op | allocs above bare |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|")
	for _, c := range []string{"bare", "read", "write", "login"} {
		for _, l := range libs {
			name := "BenchmarkMiddleware/" + c + "/" + l
			ns, ok := get(results, name, "ns/op")
			if !ok {
				continue
			}
			bareNs, _ := get(results, "BenchmarkMiddleware/bare/"+l, "ns/op")
			bareAllocs, _ := get(results, "BenchmarkMiddleware/bare/"+l, "allocs/op")
			b, _ := get(results, name, "B/op")
			a, _ := get(results, name, "allocs/op")
			fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f |\n", c, l, ns, ns-bareNs, b, a, a-bareAllocs)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Targets (the project's performance goals: middleware overhead on read at most a tenth of scs's, on write at most a fifth, at most 10 allocations above bare on read):")
	fmt.Fprintln(w)
	target := func(c string, frac float64) {
		over := func(l string) float64 {
			ns, _ := get(results, "BenchmarkMiddleware/"+c+"/"+l, "ns/op")
			bare, _ := get(results, "BenchmarkMiddleware/bare/"+l, "ns/op")
			return ns - bare
		}
		sg, scs := over("sessionguard"), over("scs")
		verdict := "met"
		if sg > frac*scs {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "- `%s` overhead at most 1/%.0f of scs's: sessionguard %.0f ns, scs %.0f ns, ratio 1/%.1f — **%s**\n",
			c, 1/frac, sg, scs, scs/sg, verdict)
	}
	target("read", 0.1)
	target("write", 0.2)
	a, _ := get(results, "BenchmarkMiddleware/read/sessionguard", "allocs/op")
	bare, _ := get(results, "BenchmarkMiddleware/bare/sessionguard", "allocs/op")
	verdict := "met"
	if a-bare > 10 {
		verdict = "MISSED"
	}
	fmt.Fprintf(w, "- at most 10 allocations above `bare` on `read`: %.0f — **%s**\n", a-bare, verdict)

	var redis, scale []string
	for _, name := range order {
		switch {
		case strings.HasPrefix(name, "BenchmarkRedis/"):
			redis = append(redis, name)
		case !strings.HasPrefix(name, "BenchmarkMiddleware/"):
			scale = append(scale, name)
		}
	}
	defer writeScale(w, results, scale)
	if len(redis) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### On Redis: `BenchmarkRedis/<case>/<lib>` against a local redis-server")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| case | library | ns/op | B/op | allocs/op | Redis commands/op | Redis CPU µs/op | round trips/op |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	for _, name := range redis {
		parts := strings.Split(strings.TrimPrefix(name, "BenchmarkRedis/"), "/")
		if len(parts) != 2 {
			continue
		}
		ns, _ := get(results, name, "ns/op")
		b, _ := get(results, name, "B/op")
		a, _ := get(results, name, "allocs/op")
		cmds, _ := get(results, name, "cmds/op")
		cpu := "not measured"
		if v, ok := get(results, name, "redis-µs/op"); ok {
			cpu = fmt.Sprintf("%.1f", v)
		}
		rtt := "not counted"
		if v, ok := get(results, name, "rtt/op"); ok {
			rtt = fmt.Sprintf("%.2f", v)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.0f | %.0f | %.2f | %s | %s |\n", parts[0], parts[1], ns, b, a, cmds, cpu, rtt)
	}
}

// writeScale lists the scale benchmarks with every metric they report.
func writeScale(w io.Writer, results map[string]result, names []string) {
	if len(names) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Scale")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| benchmark | ns/op | B/op | allocs/op | other |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|")
	for _, name := range names {
		ns, _ := get(results, name, "ns/op")
		b, _ := get(results, name, "B/op")
		a, _ := get(results, name, "allocs/op")
		var other []string
		var units []string
		for unit := range results[name] {
			if unit != "ns/op" && unit != "B/op" && unit != "allocs/op" {
				units = append(units, unit)
			}
		}
		slices.Sort(units)
		for _, unit := range units {
			v, _ := get(results, name, unit)
			other = append(other, fmt.Sprintf("%.0f %s", v, unit))
		}
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %s |\n", strings.TrimPrefix(name, "Benchmark"), ns, b, a, strings.Join(other, ", "))
	}
}
