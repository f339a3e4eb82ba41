package audit

import (
	"fmt"
	"io"
	"strings"
)

// TextOptions controls [WriteText].
type TextOptions struct {
	// Color adds ANSI colours. sessionguard audit sets it only when
	// standard output is a terminal and NO_COLOR is not set.
	Color bool
	// Verbose adds the evidence of every check that passed, was skipped
	// or could not be performed (sessionguard audit -v).
	Verbose bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// WriteText writes the report for a reader, safe to show on a terminal:
// every string the target may have supplied is written with its control
// and bidirectional-override characters escaped visibly (\x1b, \u202e)
// and cut when very long. It writes the verdict first, then a
// table of checks, then evidence, remediation and references for each
// finding, then the reasons for checks that were not performed.
func WriteText(w io.Writer, rep *Report, opts TextOptions) error {
	paint := func(code, s string) string {
		if !opts.Color {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	verdictColor := ansiGreen
	if rep.Verdict != VerdictNoFixationFound {
		verdictColor = ansiRed
	}
	fmt.Fprintf(&b, "%s\n", paint(ansiBold+verdictColor, safeText(rep.Summary)))
	for _, w := range rep.Warnings {
		fmt.Fprintf(&b, "%s %s\n", paint(ansiBold+ansiYellow, "WARNING:"), safeText(w))
	}
	fmt.Fprintf(&b, "target: %s", safeText(rep.Target))
	if strings.HasPrefix(rep.Target, "http://") {
		b.WriteString(" (plain HTTP)")
	}
	b.WriteByte('\n')
	switch {
	case len(rep.SessionCookies) > 1:
		fmt.Fprintf(&b, "session cookies: %s\n", safeText(strings.Join(rep.SessionCookies, ", ")))
	case rep.SessionCookie != "":
		fmt.Fprintf(&b, "session cookie: %s\n", safeText(rep.SessionCookie))
	}
	if rep.CheckURL != "" {
		fmt.Fprintf(&b, "signed-in check: %s\n", safeText(rep.CheckURL))
	}
	if rep.SignedInSignal != "" {
		fmt.Fprintf(&b, "signed-in signal: %s\n", safeText(rep.SignedInSignal))
	}
	if fw := rep.Framework; fw != nil {
		fmt.Fprintf(&b, "framework: %s (%s confidence: %s)\n", safeText(fw.Name), fw.Confidence, safeText(strings.Join(fw.Evidence, "; ")))
	}
	fmt.Fprintf(&b, "requests: %d\n", rep.Requests)
	fmt.Fprintf(&b, "sign-ins: %d\n", rep.SignIns)
	switch {
	case rep.SessionsCreated == 0:
	case rep.SessionsLeftOpen == 0:
		fmt.Fprintf(&b, "sessions: %d signed in, all signed out again\n", rep.SessionsCreated)
	default:
		fmt.Fprintf(&b, "sessions: %d signed in, %s\n", rep.SessionsCreated, paint(ansiBold+ansiYellow, fmt.Sprintf("%d could not be signed out", rep.SessionsLeftOpen)))
	}
	if rep.Verdict == VerdictCouldNotAudit && rep.CheckURL == "" {
		b.WriteString("\nNo check was performed: an audit that cannot sign in reports nothing as passed.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}

	b.WriteString("\n")
	fmt.Fprintf(&b, "%-20s %-6s %-9s %s\n", "CHECK", "RESULT", "SEVERITY", "WHAT")
	for _, c := range rep.Checks {
		status := fmt.Sprintf("%-6s", c.Status)
		switch c.Status {
		case StatusFail:
			status = paint(ansiBold+ansiRed, fmt.Sprintf("%-6s", "FAIL"))
		case StatusPass:
			status = paint(ansiGreen, status)
		default:
			status = paint(ansiYellow, status)
		}
		sev := "-"
		if c.Status == StatusFail {
			sev = c.Severity.String()
		}
		what := topicOf(c.ID)
		if c.ID == IDCookieSecure && c.Status == StatusPass && strings.HasPrefix(rep.Target, "http://") {
			what += " (set; but the target is plain HTTP: fine on loopback only)"
		}
		fmt.Fprintf(&b, "%-20s %s %-9s %s\n", c.ID, status, sev, what)
	}

	findings := rep.Findings(SeverityNone)
	if len(findings) > 0 {
		b.WriteString("\nFindings\n")
	}
	for _, c := range findings {
		fmt.Fprintf(&b, "\n%s %s: %s\n", paint(ansiBold+ansiRed, "["+c.Severity.String()+"]"), paint(ansiBold, c.ID), c.Title)
		writeIndented(&b, "Evidence:", c.Evidence)
		fmt.Fprintf(&b, "  Remediation: %s\n", c.Remediation)
		for _, f := range c.Fixes {
			if f.Framework != "" {
				fmt.Fprintf(&b, "  Fix in %s: %s\n", f.Framework, f.Text)
			} else {
				fmt.Fprintf(&b, "  Fix (generic): %s\n", f.Text)
			}
			if f.Snippet != "" {
				for _, l := range strings.Split(f.Snippet, "\n") {
					fmt.Fprintf(&b, "      %s\n", l)
				}
			}
		}
		var refs []string
		for _, r := range c.References {
			refs = append(refs, r.ID+" "+r.URL)
		}
		writeIndented(&b, "References:", refs)
	}

	if opts.Verbose {
		for _, c := range rep.Checks {
			if c.Status == StatusFail {
				continue
			}
			fmt.Fprintf(&b, "\n[%s] %s: %s\n", c.Status, paint(ansiBold, c.ID), topicOf(c.ID))
			writeIndented(&b, "Evidence:", c.Evidence)
		}
	}

	var notDone []Check
	for _, c := range rep.Checks {
		if c.Status == StatusSkip || c.Status == StatusError {
			notDone = append(notDone, c)
		}
	}
	if len(notDone) > 0 {
		b.WriteString("\nNot performed\n")
		for _, c := range notDone {
			reason := ""
			if len(c.Evidence) > 0 {
				reason = c.Evidence[0]
			}
			fmt.Fprintf(&b, "  %s (%s): %s\n", c.ID, c.Status, safeText(reason))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeIndented(b *strings.Builder, heading string, lines []string) {
	fmt.Fprintf(b, "  %s\n", heading)
	for _, l := range lines {
		fmt.Fprintf(b, "    - %s\n", safeText(l))
	}
}

func topicOf(id string) string {
	for _, c := range catalog {
		if c.id == id {
			return c.topic
		}
	}
	return ""
}
