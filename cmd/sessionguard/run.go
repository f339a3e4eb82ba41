package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sessionguard/sessionguard/demo"
)

const usage = `usage: sessionguard COMMAND [flags]

Commands:
  demo    run the session fixation attack against a vulnerable and a secure app
  serve   serve the reference sign-in application
  audit   audit a web application for session fixation and related weaknesses

Run 'sessionguard COMMAND -h' for the flags of a command.
`

// run dispatches to a command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "demo":
		return demo.Demo(ctx, args[1:], stdout, stderr, demo.DemoOptions{})
	case "serve":
		return demo.Serve(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sessionguard: error: unknown command %q\n%s", args[0], usage)
	return 2
}
