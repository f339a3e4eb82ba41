// Package cli is the sessionguard command line: it dispatches to the demo,
// serve and audit commands. It is internal: the public Go API is the
// session package, the stores and audit.Run.
package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/sessionguard/sessionguard/audit"
	"github.com/sessionguard/sessionguard/internal/auditcmd"
	"github.com/sessionguard/sessionguard/internal/demo"
)

const usage = `usage: sessionguard COMMAND [flags]

Commands:
  demo    run the session fixation attack against a vulnerable and a secure app
  serve   serve the reference sign-in application
  audit   audit a web application for session fixation and related weaknesses

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
		return demo.Demo(ctx, args[1:], stdout, stderr, demo.DemoOptions{Audit: auditApp})
	case "serve":
		return demo.Serve(ctx, args[1:], stdout, stderr)
	case "audit":
		return auditcmd.Main(ctx, args[1:], stdout, stderr, getenv)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sessionguard: error: unknown command %q\n%s", args[0], usage)
	return 2
}

// auditApp runs the black-box auditor against one of the demo's apps with
// the default settings of `sessionguard audit`.
func auditApp(ctx context.Context, app, baseURL, user, password string) (demo.AuditNote, error) {
	rep, err := audit.Run(ctx, audit.Target{BaseURL: baseURL, User: user, Password: password, CheckPath: "/dashboard"})
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
