package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback/loopbacktest"

	"github.com/sessionguard/sessionguard/cmd/sessionguard/internal/loopback"
)

// TestDemoPrintsStepsAsTheyHappen checks the text demo tells the story as it
// goes: by the time the auditor is called, after both attacks, every step
// of both is already on stdout, after the start-up progress line; and the
// story explains what it shows.
func TestDemoPrintsStepsAsTheyHappen(t *testing.T) {
	var out, errb loopbacktest.SyncBuffer
	var seenAtAudit []string
	audit := func(ctx context.Context, app, baseURL, user, password string, progress io.Writer) (AuditNote, error) {
		fmt.Fprintf(progress, "sessionguard: token-randomness: 25/%d\n", AuditSamples)
		seenAtAudit = append(seenAtAudit, out.String())
		if app == "vulnerable" {
			return AuditNote{App: app, Verdict: "VULNERABLE", Failed: []string{"fixation"}, ExitCode: 1}, nil
		}
		return AuditNote{App: app, Verdict: "no fixation found", Failed: []string{}, ExitCode: 0}, nil
	}
	if code := Run(context.Background(), nil, &out, &errb, Options{Audit: audit}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if len(seenAtAudit) != 2 {
		t.Fatalf("auditor called %d times", len(seenAtAudit))
	}
	early := seenAtAudit[0]
	for _, want := range []string{
		"Outcome: HIJACKED", "Outcome: NOT HIJACKED",
		"Scenario: link with a fixed session ID", "Scenario: fixed session ID planted as a cookie",
	} {
		if !strings.Contains(early, want) {
			t.Errorf("%q was not printed before the audit began:\n%s", want, early)
		}
	}
	start := strings.Index(early, "Starting the vulnerable and the secure app on loopback… done.")
	if start < 0 || start > strings.Index(early, "Scenario:") {
		t.Errorf("no progress line before the first step:\n%s", early)
	}
	if !strings.Contains(seenAtAudit[1], "vulnerable auditing… 25 → VULNERABLE") {
		t.Errorf("the first audit's verdict was not printed before the second began:\n%s", seenAtAudit[1])
	}
	text := out.String()
	for _, want := range []string{
		// Says which case it reproduces.
		"Flask login/dashboard application that took its session ID from the URL",
		// Says what happened to the planted cookie, instead of an empty value.
		"server deletes the __Host-sid cookie from the browser: it never issued that ID",
		// Explains each event.
		"token-in-url     the URL carried a session ID (?session=…); the app ignored it",
		"unknown-token    the browser sent a session cookie the app never issued",
		"As expected: the vulnerable app was hijacked, the secure app was not.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo does not say %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "__Host-sid=\n") || strings.Contains(text, "__Host-sid= ") {
		t.Errorf("an empty cookie value in the story:\n%s", text)
	}
}

// TestDemoServeInstructions checks that --serve tells a person how to play
// both parts against both apps, with links that work.
func TestDemoServeInstructions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb loopbacktest.SyncBuffer
	done := make(chan int)
	go func() { done <- Run(ctx, []string{"--serve"}, &out, &errb, Options{}) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Secure app (") || !strings.Contains(out.String(), "ignored") {
		if time.Now().After(deadline) {
			t.Fatalf("no instructions: %s %s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	text := out.String()
	for _, want := range []string{"two browser profiles", "Ctrl-C", "The victim's account: user alice, password ",
		"Vulnerable app (", "Secure app (", "Attacker:", "Victim (one profile)", "Attacker (the other profile)"} {
		if !strings.Contains(text, want) {
			t.Errorf("instructions lack %q:\n%s", want, text)
		}
	}
	// Each app gets its own pair of links, and they work: the vulnerable
	// app's dashboard link hijacks the victim's sign-in, the secure one's
	// does not.
	var links []string
	for _, f := range strings.Fields(text) {
		if strings.HasPrefix(f, "http://127.0.0.1:") && strings.Contains(f, "?session="+attackerID) {
			links = append(links, f)
		}
	}
	if len(links) != 4 {
		t.Fatalf("want 4 links (sign-in and dashboard, for each app), got %q", links)
	}
	pw := text[strings.Index(text, "password ")+len("password "):]
	pw = pw[:strings.IndexByte(pw, '\n')]
	for i, hijack := range []bool{true, false} {
		victim, attacker := loopback.NewBrowser("victim"), loopback.NewBrowser("attacker")
		page := loopbacktest.Get(t, victim, links[2*i])
		action, err := loopback.LoginAction(page)
		if err != nil {
			t.Fatal(err)
		}
		loopbacktest.Post(t, victim, action, map[string][]string{"username": {"alice"}, "password": {pw}})
		got := strings.Contains(loopbacktest.Get(t, attacker, links[2*i+1]).Body, "Welcome alice")
		if got != hijack {
			t.Errorf("%s: hijacked %v, want %v", links[2*i+1], got, hijack)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the demo did not stop")
	}
}

func TestDemoOutcome(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--format", "json"}, &out, &errb, Options{})
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errb.String())
	}
	var rep struct {
		Expected bool `json:"expected"`
		Runs     []struct {
			App      string `json:"app"`
			Hijacked bool   `json:"hijacked"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Expected || len(rep.Runs) != 2 || rep.Runs[0].App != "vulnerable" || !rep.Runs[0].Hijacked ||
		rep.Runs[1].App != "secure" || rep.Runs[1].Hijacked {
		t.Fatalf("demo report: %+v", rep)
	}
	out.Reset()
	if code := Run(context.Background(), nil, &out, &errb, Options{}); code != 0 ||
		!strings.Contains(out.String(), "As expected: the vulnerable app was hijacked, the secure app was not.") {
		t.Fatalf("text demo exit %d: %s", code, out.String())
	}
}
