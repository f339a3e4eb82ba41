// Command sessionguard serves the reference application, runs the live
// session fixation demo, and audits web applications for session fixation.
//
//	sessionguard demo [--format text|json] [--serve]
//	sessionguard serve [--addr ADDR] [--store SPEC] [--account NAME:PASSWORD]... [--vulnerable] [flags]
//	sessionguard audit [flags] BASE_URL
//	sessionguard version
//
// See the README and `sessionguard COMMAND -h` for each command's flags.
//
// The command is a module of its own
// (github.com/sessionguard/sessionguard/cmd/sessionguard), so that what it
// needs (every store's driver, Prometheus, the browser driver chromedp)
// reaches no user of the library. In a checkout, the repository's go.work
// lets `go run ./cmd/sessionguard` work from the root.
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
