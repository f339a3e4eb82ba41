// Package cli is the sessionguard command line: it dispatches to the demo,
// serve, audit and version commands. It is internal: the public Go API is the
// session package, the stores and audit.Run.
package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/sessionguard/sessionguard/audit"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/auditcmd"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/cliflag"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/demo"
	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/serve"
)

const usage = `usage: sessionguard COMMAND [flags]

Commands:
  demo    run the session fixation attack against a vulnerable and a secure app
  serve   serve the reference sign-in application
  audit   audit a web application for session fixation and related weaknesses
  version print the version of sessionguard and of Go it was built with

Run 'sessionguard COMMAND -h' for the flags of a command.
`

// Main runs the sessionguard command line with args (without the program
// name) and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		return demo.Run(ctx, args[1:], stdout, stderr, demo.Options{Audit: auditApp})
	case "serve":
		return serve.Serve(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditcmd.Main(ctx, args[1:], stdout, stderr, getenv)
	case "version", "-version", "--version":
		if len(args) > 1 {
			cliflag.Errorf(stderr, nil, "version takes no arguments, got %q", args[1])
			return 2
		}
		info, _ := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, Version(info))
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cliflag.Errorf(stderr, []string{"run 'sessionguard help' for the commands"}, "unknown command %q", args[0])
	return 2
}

// Version describes the build: the module version ("(devel)" when built
// from a checkout), the VCS revision and time when the build recorded them
// (with "+dirty" for uncommitted changes), and the Go version. info may be
// nil, when the binary carries no build information.
func Version(info *debug.BuildInfo) string {
	if info == nil {
		return "sessionguard (unknown version: no build information) " + runtime.Version()
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	dirty := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	out := "sessionguard " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if dirty {
			rev += "+dirty"
		}
		out += " revision " + rev
		if when != "" {
			out += " (" + when + ")"
		}
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	return out + " " + goVersion
}

// auditApp runs the black-box auditor against one of the demo's apps with
// the default settings of `sessionguard audit`, but demo.AuditSamples
// tokens for the randomness check.
func auditApp(ctx context.Context, app, baseURL, user, password string, progress io.Writer) (demo.AuditNote, error) {
	rep, err := audit.Run(ctx, audit.Target{BaseURL: baseURL, User: user, Password: password, CheckPath: "/dashboard",
		Samples: demo.AuditSamples, Progress: progress})
	if rep == nil {
		return demo.AuditNote{}, err
	}
	note := demo.AuditNote{App: app, Verdict: rep.Summary, ExitCode: rep.ExitCode(audit.SeverityHigh), Failed: []string{}}
	for _, c := range rep.Checks {
		if c.Status == audit.StatusFail {
			note.Failed = append(note.Failed, c.ID)
		}
	}
	return note, nil
}
