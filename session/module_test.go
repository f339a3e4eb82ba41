package session_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The tests in this file hold the module layout: the core module (session,
// the store contract, storetest, memstore) requires nothing, so that a
// program using it has exactly two modules in its graph, its own and this
// one; and no store module imports the session package.

const coreModule = "github.com/sessionguard/sessionguard"

// repoRoot is the root of the repository: the core module's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// modFile is what the tests read of a go.mod file.
type modFile struct {
	module, goVersion string
	requires          []string // module paths
}

// parseModFile reads the module path, the go directive and the required
// module paths of a go.mod file, with the standard library only: the
// requirements are the lines of require directives, single or in a block.
func parseModFile(text string) modFile {
	var f modFile
	inRequire := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case inRequire && fields[0] == ")":
			inRequire = false
		case inRequire:
			f.requires = append(f.requires, fields[0])
		case fields[0] == "require" && len(fields) > 1 && fields[1] == "(":
			inRequire = true
		case fields[0] == "require" && len(fields) > 1:
			f.requires = append(f.requires, fields[1])
		case fields[0] == "module" && len(fields) > 1:
			f.module = fields[1]
		case fields[0] == "go" && len(fields) > 1:
			f.goVersion = fields[1]
		}
	}
	return f
}

func TestParseModFile(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       modFile
	}{
		{"no requirements", "module example.com/a\n\ngo 1.25.0\n", modFile{module: "example.com/a", goVersion: "1.25.0"}},
		{"one-line require", "module example.com/a\ngo 1.25.0\nrequire example.com/b v1.0.0\n",
			modFile{"example.com/a", "1.25.0", []string{"example.com/b"}}},
		{"require block", "module example.com/a\ngo 1.25\nrequire (\n\texample.com/b v1.0.0\n\texample.com/c v0.1.0 // indirect\n)\n",
			modFile{"example.com/a", "1.25", []string{"example.com/b", "example.com/c"}}},
		{"comments and replace", "// require example.com/x v1\nmodule example.com/a // the module\ngo 1.25.0\nreplace example.com/b => ../b\n",
			modFile{module: "example.com/a", goVersion: "1.25.0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := parseModFile(c.text)
			if got.module != c.want.module || got.goVersion != c.want.goVersion || !slices.Equal(got.requires, c.want.requires) {
				t.Errorf("parseModFile = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestCoreModuleRequiresNothing: the core module's go.mod has no require
// directive, and its go directive is Go 1.25, the oldest release the Go
// team supports.
func TestCoreModuleRequiresNothing(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	f := parseModFile(string(data))
	if f.module != coreModule {
		t.Fatalf("../go.mod is module %q, want %q", f.module, coreModule)
	}
	if len(f.requires) != 0 {
		t.Errorf("the core module requires %v; it must require nothing", f.requires)
	}
	if f.goVersion != "1.25" && !strings.HasPrefix(f.goVersion, "1.25.") {
		t.Errorf("the core module's go directive is %s, want 1.25", f.goVersion)
	}
}

// TestCoreModuleGraph builds a program that imports session and
// store/memstore, in a module of its own that finds this repository
// through a replace directive, with the workspace off and no module proxy,
// as a user's program would use a release: its module graph is exactly
// the program's module and the core module.
func TestCoreModuleGraph(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/user\n\ngo 1.25.0\n\nrequire " + coreModule + " v0.0.0\n\nreplace " +
			coreModule + " => " + filepath.ToSlash(repoRoot(t)) + "\n",
		"main.go": `package main

import (
	"net/http"

	"github.com/sessionguard/sessionguard/session"
	"github.com/sessionguard/sessionguard/store/memstore"
)

func main() {
	m, err := session.New(memstore.New(memstore.Options{}), session.Config{})
	if err != nil {
		panic(err)
	}
	_ = http.ListenAndServe("127.0.0.1:0", m.Handler(http.NotFoundHandler()))
}
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goCmd("build", "-o", filepath.Join(dir, "user"), ".")
	var edges []string
	for _, line := range strings.Split(strings.TrimSpace(goCmd("mod", "graph")), "\n") {
		from, to, _ := strings.Cut(line, " ")
		if strings.HasPrefix(to, "go@") || strings.HasPrefix(to, "toolchain@") {
			continue // the Go version a module declares: not a module
		}
		edges = append(edges, from+" "+to)
	}
	want := []string{"example.com/user " + coreModule + "@v0.0.0"}
	if !slices.Equal(edges, want) {
		t.Errorf("the module graph of a program using session and memstore is\n%s\nwant\n%s",
			strings.Join(edges, "\n"), strings.Join(want, "\n"))
	}
}

// TestStoresNeverImportSession: a store implements the store contract and
// never imports the session package (nor anything of the command); each
// store module is checked as its own module.
func TestStoresNeverImportSession(t *testing.T) {
	mods, err := filepath.Glob(filepath.Join(repoRoot(t), "store", "*", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repoRoot(t), "go.work")); err != nil {
		t.Skip("not in a checkout of the repository (no go.work): the store modules are not here")
	}
	if len(mods) < 4 {
		t.Fatalf("found %d store modules (%v), want bolt, Redis, PostgreSQL and SQLite", len(mods), mods)
	}
	for _, mod := range mods {
		dir := filepath.Dir(mod)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", ".")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps: %v\n%s", err, out)
			}
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, coreModule+"/store") {
				t.Fatalf("go list -deps output looks wrong (no store package):\n%s", out)
			}
			for _, dep := range deps {
				if dep == coreModule+"/session" || strings.HasPrefix(dep, coreModule+"/cmd/") || strings.HasPrefix(dep, "github.com/chromedp/") {
					t.Errorf("%s imports %s", filepath.Base(dir), dep)
				}
			}
		})
	}
}

// TestLibraryModulesLeaveOutTheBrowser: the browser driver (chromedp),
// which the command needs for `sessionguard audit --browser`, is in the
// module graph of no library module (the core, the stores, metrics, the
// router adapters, the migrations; the audit module checks its own), each
// taken alone as a user's build takes it. The command's module is checked too, to show that the test can see
// chromedp where it is.
func TestLibraryModulesLeaveOutTheBrowser(t *testing.T) {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Skip("not in a checkout of the repository (no go.work): the other modules are not here")
	}
	browser := map[string]bool{filepath.Join("cmd", "sessionguard"): true}
	for _, pattern := range []string{"go.mod", "metrics/go.mod", "store/*/go.mod", "adapters/*/go.mod", "migrate/go.mod", "migrate/*/go.mod"} {
		mods, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, mod := range mods {
			rel, err := filepath.Rel(root, filepath.Dir(mod))
			if err != nil {
				t.Fatal(err)
			}
			browser[rel] = false
		}
	}
	if len(browser) < 7 {
		t.Fatalf("found %d modules (%v): the repository's layout changed", len(browser), browser)
	}
	for dir, want := range browser {
		t.Run(dir, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-m", "all")
			cmd.Dir = filepath.Join(root, dir)
			cmd.Env = append(os.Environ(), "GOWORK=off")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list -m all: %v\n%s", err, out)
			}
			if got := strings.Contains(string(out), "github.com/chromedp/"); got != want {
				t.Errorf("chromedp in the module graph: %v, want %v\n%s", got, want, out)
			}
		})
	}
}
