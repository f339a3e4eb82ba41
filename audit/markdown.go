package audit

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// impacts says what a failed check lets an attacker do, for the Markdown
// report.
var impacts = map[string]string{
	IDFixation:           "An attacker who can put a cookie into the victim's browser before the victim signs in (a sibling subdomain, a plain-HTTP response, a shared computer) is signed in as the victim as soon as the victim signs in: full account takeover, without ever learning the password.",
	IDFixationURL:        "An attacker who gets the victim to open a link (an e-mail, a chat message, a page of another site) is signed in as the victim as soon as the victim signs in through it: full account takeover.",
	IDAdoptsUnknownID:    "Any value an attacker invents becomes a valid session ID, so planting an ID needs no visit to the site first, IDs can be chosen weak or guessable, and old IDs come back to life.",
	IDLoginCSRF:          "A page of another site can sign the victim's browser in to an account the attacker controls; the victim then works in it, and what they enter there (payment details, documents, searches) is the attacker's to read.",
	IDLogoutInvalidation: "A session cookie stolen or copied at any time (a shared computer, a proxy log, malware) keeps working after the user logs out: logging out does not protect the user.",
	IDCookieSecure:       "The session cookie can be sent over plain HTTP, where anyone on the network path can read it and take over the session.",
	IDCookieHTTPOnly:     "Script injected into any page (XSS) can read the session cookie and send it away, taking over the session.",
	IDCookieSameSite:     "Other sites can make the browser send requests carrying the session (cross-site request forgery).",
	IDCookiePrefix:       "A sibling subdomain or a plain-HTTP response can plant or overwrite the session cookie (cookie tossing), one route to session fixation.",
	IDCookiePath:         "The session cookie is sent to other applications on the same host or domain, which can read and reuse it.",
	IDCookieLifetime:     "The session survives closing the browser, so the next person on a shared computer finds the user still signed in.",
	IDForgeableCookie:    "Part of the session is a value anyone can write: whatever else protects the session, this part does not.",
	IDTokenRandomness:    "Session IDs can be predicted or guessed, so an attacker can take over sessions without stealing anything.",
	IDCacheControl:       "Pages only the signed-in user should see can be kept by a shared cache or the browser and shown to someone else.",
	IDIdleTimeout:        "A session left open on an unattended device stays usable indefinitely.",
	IDAbsoluteTimeout:    "A stolen session can be kept alive for ever by using it; the user is never asked to sign in again.",
}

// WriteMarkdown writes the report for a development team: the verdict
// and a summary table, then each finding with its evidence step by step,
// a sequence diagram (Mermaid) of a proven hijack as it happened, its
// impact, the fix in the terms of the application's framework and
// references, then what was not tested and why.
//
// Everything the application supplied (paths, cookie names and values,
// header values, page text) appears only inside code spans, fenced code
// blocks or, in diagrams, as Mermaid entity codes: the document carries no
// HTML, link or image from the target.
func WriteMarkdown(w io.Writer, rep *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Session security audit of %s\n\n", mdCode(rep.Target))

	findings := rep.Findings(SeverityNone)
	switch rep.Verdict {
	case VerdictVulnerable:
		b.WriteString("**Verdict: VULNERABLE to session fixation.** An attacker was signed in as the victim with a session ID held before the victim signed in.\n\n")
	case VerdictNoFixationFound:
		b.WriteString("**Verdict: no fixation found.** Every attempt to fix a session ID before sign-in failed.\n\n")
	default:
		b.WriteString("**Verdict: could not audit.** An audit that could not be completed reports nothing as passed. The reason:\n\n")
		b.WriteString(mdBlock("text", []string{rep.Error}))
		b.WriteString("\n")
	}
	if len(findings) > 0 {
		count := map[Severity]int{}
		for _, c := range findings {
			count[c.Severity]++
		}
		var parts []string
		for s := SeverityCritical; s >= SeverityLow; s-- {
			if count[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
			}
		}
		fmt.Fprintf(&b, "%d %s: %s.\n\n", len(findings), plural(len(findings), "finding", "findings"), strings.Join(parts, ", "))
	}

	b.WriteString("## The application\n\n")
	target := "- Target: " + mdCode(rep.Target)
	if strings.HasPrefix(rep.Target, "http://") {
		target += " (plain HTTP)"
	}
	b.WriteString(target + "\n")
	if fw := rep.Framework; fw != nil {
		fmt.Fprintf(&b, "- Framework: %s, %s confidence, from:\n", mdText(fw.Name), fw.Confidence)
		for _, e := range fw.Evidence {
			fmt.Fprintf(&b, "  - %s\n", mdCode(e))
		}
	} else if rep.Verdict != VerdictCouldNotAudit {
		b.WriteString("- Framework: not recognised from what the application shows; the fixes below are generic.\n")
	}
	if len(rep.SessionCookies) > 0 {
		var names []string
		for _, n := range rep.SessionCookies {
			names = append(names, mdCode(n))
		}
		fmt.Fprintf(&b, "- Session cookies: %s\n", strings.Join(names, ", "))
	} else if rep.SessionCookie != "" {
		fmt.Fprintf(&b, "- Session cookie: %s\n", mdCode(rep.SessionCookie))
	}
	if rep.CheckURL != "" {
		fmt.Fprintf(&b, "- Signed-in check page: %s\n", mdCode(rep.CheckURL))
	}
	if rep.SignedInSignal != "" {
		fmt.Fprintf(&b, "- How signed in was told from not: %s\n", mdCode(rep.SignedInSignal))
	}
	fmt.Fprintf(&b, "- Requests sent: %d; sign-ins (requests carrying the credentials): %d; sessions signed in: %d, left open: %d\n", rep.Requests, rep.SignIns, rep.SessionsCreated, rep.SessionsLeftOpen)
	if len(rep.Warnings) > 0 {
		b.WriteString("\n**Warnings**\n\n")
		b.WriteString(mdBlock("text", rep.Warnings))
	}
	b.WriteString("\n")
	if rep.Verdict == VerdictCouldNotAudit && rep.CheckURL == "" {
		b.WriteString("No check was performed: the audit stopped before it could sign in, and reports nothing as passed.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}

	if len(rep.Checks) > 0 {
		b.WriteString("## Summary\n\n| Check | Result | Severity | What is checked |\n|---|---|---|---|\n")
		for _, c := range rep.Checks {
			result, sev := string(c.Status), "–"
			if c.Status == StatusFail {
				result, sev = "**FAIL**", c.Severity.String()
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", c.ID, result, sev, mdText(topicOf(c.ID)))
		}
		b.WriteString("\n")
	}

	if len(findings) > 0 {
		b.WriteString("## Findings\n")
	}
	for i, c := range findings {
		fmt.Fprintf(&b, "\n### %d. %s\n\n", i+1, mdText(c.Title))
		fmt.Fprintf(&b, "Check `%s`, severity **%s**.\n\n", c.ID, c.Severity)
		b.WriteString("**What the audit did and saw, step by step**\n\n")
		var steps []string
		for j, e := range c.Evidence {
			steps = append(steps, fmt.Sprintf("%d. %s", j+1, e))
		}
		b.WriteString(mdBlock("text", steps))
		if len(c.Flow) > 0 {
			b.WriteString("\n**The attack as it happened**\n\n")
			b.WriteString(mermaidDiagram(c.Flow))
		}
		if imp := impacts[c.ID]; imp != "" {
			fmt.Fprintf(&b, "\n**Impact.** %s\n", mdText(imp))
		}
		for _, f := range c.Fixes {
			if f.Framework != "" {
				fmt.Fprintf(&b, "\n**Fix in %s.** %s\n", mdText(f.Framework), mdText(f.Text))
			} else {
				fmt.Fprintf(&b, "\n**Fix.** %s\n", mdText(f.Text))
			}
			if f.Snippet != "" {
				b.WriteString("\n")
				b.WriteString(mdBlock(f.Language, strings.Split(f.Snippet, "\n")))
			}
		}
		fmt.Fprintf(&b, "\n**In general.** %s\n", mdText(c.Remediation))
		refs := append([]Reference(nil), c.References...)
		for _, f := range c.Fixes {
			refs = append(refs, f.References...)
		}
		b.WriteString("\n**References**\n\n")
		seen := map[string]bool{}
		for _, r := range refs {
			if seen[r.URL] {
				continue
			}
			seen[r.URL] = true
			fmt.Fprintf(&b, "- [%s](%s)\n", mdText(r.ID), r.URL)
		}
	}

	var notDone, passed []Check
	for _, c := range rep.Checks {
		switch c.Status {
		case StatusSkip, StatusError:
			notDone = append(notDone, c)
		case StatusPass:
			passed = append(passed, c)
		}
	}
	if len(notDone) > 0 {
		b.WriteString("\n## Not tested, and why\n\n")
		for _, c := range notDone {
			reason := ""
			if len(c.Evidence) > 0 {
				reason = c.Evidence[0]
			}
			what := "skipped"
			if c.Status == StatusError {
				what = "could not be completed"
			}
			fmt.Fprintf(&b, "- `%s` (%s, %s): %s\n", c.ID, mdText(topicOf(c.ID)), what, mdCode(reason))
		}
	}
	if len(passed) > 0 {
		b.WriteString("\n## Passed\n\n")
		for _, c := range passed {
			fmt.Fprintf(&b, "- `%s`: %s\n", c.ID, mdText(topicOf(c.ID)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// oneLine makes s fit on one line of Markdown, safe to read raw on a
// terminal and rendered: line breaks and other control characters become
// spaces, and invisible format characters (bidirectional overrides and
// isolates, zero-width characters) are written visibly as \uHHHH.
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// longestRun is the longest run of c in s.
func longestRun(s string, c rune) int {
	best, n := 0, 0
	for _, r := range s {
		if r == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// mdCode is s as an inline code span (CommonMark): nothing in it is read
// as Markdown or HTML, whatever it holds, backticks included.
func mdCode(s string) string {
	s = oneLine(s)
	if strings.TrimSpace(s) == "" {
		return "(empty)"
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdBlock is lines as a fenced code block in lang. The fence is longer
// than any run of backticks in the lines, so no line can close it.
func mdBlock(lang string, lines []string) string {
	lines = slices.Clone(lines)
	longest := 0
	for i, l := range lines {
		lines[i] = oneLine(l)
		longest = max(longest, longestRun(lines[i], '`'))
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + lang + "\n" + strings.Join(lines, "\n") + "\n" + fence + "\n"
}

// mdText escapes the audit's own prose (titles, fixes): every character
// Markdown could read as markup is backslash-escaped. It is never given
// what the target supplied; that goes through mdCode or mdBlock.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		if strings.ContainsRune("\\`*_{}[]<>#+!|~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mermaidDiagram draws a flow as a Mermaid sequence diagram.
func mermaidDiagram(steps []Step) string {
	alias := map[string]string{actorAttacker: "A", actorVictim: "V", actorApplication: "S"}
	lines := []string{
		"sequenceDiagram",
		"    participant A as Attacker",
		"    participant V as Victim browser",
		"    participant S as Application",
	}
	for _, st := range steps {
		from, to := alias[st.From], alias[st.To]
		if from == "" || to == "" {
			continue
		}
		arrow := "->>"
		if st.From == actorApplication {
			arrow = "-->>"
		}
		lines = append(lines, "    "+from+arrow+to+": "+mermaidText(st.Message))
	}
	lines = append(lines, "    Note over A,S: the attacker is signed in as the victim")
	return mdBlock("mermaid", lines)
}

// mermaidText is s as the text of a Mermaid message: letters, digits,
// spaces and a few harmless marks stay; every other character (;, #, <,
// >, :, quotes, backticks, non-ASCII) becomes an entity code #NNN;, so
// nothing the target supplied can end the message, start another
// statement or carry HTML.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" ./=_,()-?", r)):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "#%d;", r)
		}
	}
	return b.String()
}
