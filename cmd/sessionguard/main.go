// Command sessionguard serves the reference application, runs the live
// session fixation demo, and audits web applications for session fixation.
//
//	sessionguard demo [--format text|json] [--serve]
//	sessionguard serve [--addr ADDR] [--store SPEC] [--account NAME:PASSWORD]... [--vulnerable] [flags]
//	sessionguard audit [flags] BASE_URL
//	sessionguard version
//
// See the README and `sessionguard COMMAND -h` for each command's flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
