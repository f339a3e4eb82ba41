package pgtest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sessionguard/sessionguard/internal/testsupport/pgtest"
)

// TestStartStop starts a server, runs a query on it, and checks that Stop
// ends the process and removes its directory.
func TestStartStop(t *testing.T) {
	srv := pgtest.Start(t, "fsync=off")
	url, err := srv.CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	var got int
	if err := conn.QueryRow(t.Context(), "SELECT 1 + 1").Scan(&got); err != nil || got != 2 {
		t.Fatalf("SELECT 1 + 1 = %d, %v", got, err)
	}
	var addr string
	if err := conn.QueryRow(t.Context(), "SELECT host(inet_server_addr())").Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Errorf("server address = %q, %v; want 127.0.0.1", addr, err)
	}
	conn.Close(context.Background())

	pidFile := filepath.Join(srv.Dir, "data", "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("no postmaster.pid while running: %v", err)
	}
	srv.Stop()
	if _, err := os.Stat(srv.Dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still there after Stop: %v", srv.Dir, err)
	}
	if _, err := pgx.Connect(t.Context(), url); err == nil {
		t.Error("the server still accepts connections after Stop")
	}
	srv.Stop() // a second Stop does nothing
}
