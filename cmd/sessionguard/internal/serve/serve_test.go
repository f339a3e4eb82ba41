package serve

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
	"github.com/sessionguard/sessionguard/session"
)

func TestServeMetrics(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb loopbacktest.SyncBuffer
	done := make(chan int)
	go func() {
		done <- Serve(ctx, []string{"--addr", "127.0.0.1:0", "--store", "memory", "--metrics", "127.0.0.1:0", "--account", "a:b"}, &out, &errb)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "serving the reference app") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var appURL, metricsURL string
	for _, line := range strings.Split(out.String(), "\n") {
		if i := strings.Index(line, "http://"); i >= 0 {
			u := strings.TrimSuffix(line[i:], "/")
			if strings.Contains(line, "metrics on") {
				metricsURL = u
			} else {
				appURL = u
			}
		}
	}
	b := loopback.NewBrowser("t")
	b.Plant(session.DefaultCookieName, strings.Repeat("A", 43))
	loopbacktest.Get(t, b, appURL+"/dashboard") // its response expires the bad cookie, so the redirect goes without it
	loopbacktest.SignIn(t, b, appURL, "a", "wrong")
	loopbacktest.SignIn(t, b, appURL, "a", "b")
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	for _, want := range []string{`sessionguard_events_total{kind="unknown-token"} 1`, `sessionguard_store_seconds_count{op="get",result="not_found"} 1`,
		`sessionguard_demo_signins_total{result="failed"} 1`, `sessionguard_demo_signins_total{result="ok"} 1`,
		`sessionguard_demo_signins_total{result="throttled"} 0`, "sessionguard_active_sessions 1"} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestServeRunsAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb loopbacktest.SyncBuffer
	done := make(chan int)
	go func() {
		done <- Serve(ctx, []string{"--addr", "127.0.0.1:0", "--store", "memory", "--vulnerable", "--account", "a:b"}, &out, &errb)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "serving the reference app") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(errb.String(), "DELIBERATELY VULNERABLE MODE") {
		t.Fatal("no loud warning in vulnerable mode")
	}
	if strings.Contains(errb.String(), "load balancer") {
		t.Error("the one-process vulnerable demonstration warns about keys for several instances")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}
