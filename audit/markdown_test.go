package audit

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// evil is the marker of everything the hostile fixture supplies.
const evil = "EVIL"

// hostileMarkdownApp is a vulnerable application whose every visible value
// tries to inject Markdown, HTML, links, images and Mermaid statements
// into a report.
var hostileMarkdownApp = app{
	cookie: "EVIL`|sid", anonSession: true, adopt: true, urlParam: "session", urlAdopted: true,
	token:         tokenHex(16),
	loginRedirect: "/dashboard?next=EVIL<img/src=x/onerror=alert(1)>[a](https://evil.example/)![i](https://evil.example/i.png);S->>A:pwned%0A#35;`x`<script>alert(1)</script>",
	headers: map[string]string{
		"X-Powered-By": "PHP EVIL<script>alert(1)</script> [click](https://evil.example/) ![img](https://evil.example/i.png) ``` # ;S->>A: x",
		"Server":       "EVIL</code></pre><a href=https://evil.example/>x</a> www.evil.example",
	},
	logoutMethod: "POST", logoutLink: true,
}

// outsideCode returns the Markdown with fenced code blocks and inline code
// spans removed, as CommonMark delimits them: what is left is read as
// Markdown by any renderer.
func outsideCode(md string) string {
	var out []string
	fence := ""
	for _, line := range strings.Split(md, "\n") {
		if fence != "" {
			if strings.HasPrefix(strings.TrimLeft(line, " "), fence) && strings.Trim(strings.TrimSpace(line), "`") == "" {
				fence = ""
			}
			continue
		}
		if t := strings.TrimLeft(line, " "); len(line)-len(t) <= 3 && strings.HasPrefix(t, "```") {
			fence = t[:len(t)-len(strings.TrimLeft(t, "`"))]
			continue
		}
		out = append(out, stripCodeSpans(line))
	}
	return strings.Join(out, "\n")
}

// stripCodeSpans removes inline code spans: a run of n backticks up to the
// next run of exactly n.
func stripCodeSpans(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		closed := -1
		for j := i + n; j < len(s); {
			if s[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(s) && s[j+m] == '`' {
				m++
			}
			if m == n {
				closed = j
				break
			}
			j += m
		}
		if closed < 0 {
			b.WriteString(s[i : i+n]) // a lone run is literal text
			i += n
			continue
		}
		i = closed + n
	}
	return b.String()
}

// mermaidBlocks returns the lines of every mermaid block.
func mermaidBlocks(md string) [][]string {
	var out [][]string
	for _, part := range strings.Split(md, "```mermaid\n")[1:] {
		body, _, _ := strings.Cut(part, "\n```")
		out = append(out, strings.Split(body, "\n"))
	}
	return out
}

var (
	mermaidLineRE = regexp.MustCompile(`^    (participant [AVS] as [A-Za-z ]+|[AVS](->>|-->>)[AVS]: (.*)|Note over A,S: [a-z ]+)$`)
	entityRE      = regexp.MustCompile(`#\d+;`)
	mermaidSafeRE = regexp.MustCompile(`^[A-Za-z0-9 ./=_,()?-]*$`)
)

// TestMarkdownEscapesTheTarget audits the hostile application and checks
// that nothing it supplied is read as Markdown, HTML or Mermaid: outside
// code spans and blocks no trace of it is left, and every diagram line is
// one statement whose text has only harmless characters and entity codes.
func TestMarkdownEscapesTheTarget(t *testing.T) {
	t.Parallel()
	srv := newApp(t, hostileMarkdownApp)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, auditTarget(srv.URL, Target{Samples: -1}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	// The hostile values did reach the report, so the test can fail.
	if c, _ := rep.Check(IDFixation); c.Status != StatusFail || len(c.Flow) == 0 {
		t.Fatalf("fixation %s, flow %d steps: the hostile app should be vulnerable", c.Status, len(c.Flow))
	}
	if !strings.Contains(out, "<script>alert(1)</script>") || !strings.Contains(out, "EVIL`|sid") || rep.Framework == nil {
		t.Fatalf("the hostile values did not reach the report:\n%s", out)
	}
	if rest := outsideCode(out); strings.Contains(rest, evil) {
		for _, l := range strings.Split(rest, "\n") {
			if strings.Contains(l, evil) {
				t.Errorf("target content outside code: %q", l)
			}
		}
	}
	blocks := mermaidBlocks(out)
	if len(blocks) < 2 {
		t.Fatalf("%d mermaid diagrams, want one per proven hijack (fixation, fixation-url)", len(blocks))
	}
	for _, lines := range blocks {
		if lines[0] != "sequenceDiagram" {
			t.Errorf("diagram starts with %q", lines[0])
		}
		for _, l := range lines[1:] {
			m := mermaidLineRE.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("diagram line is not one plain statement: %q", l)
				continue
			}
			if text := entityRE.ReplaceAllString(m[3], ""); !mermaidSafeRE.MatchString(text) {
				t.Errorf("diagram text carries raw characters: %q", l)
			}
		}
	}
	for _, raw := range []string{"<img", "<script", "<a href", "](https://evil", "![", "\n```\n#"} {
		if strings.Contains(outsideCode(out), raw) {
			t.Errorf("markdown carries %q outside code", raw)
		}
	}
	if t.Failed() {
		t.Logf("markdown:\n%s", out)
	}
}

// TestMarkdownCodeHelpers: a code span or block cannot be closed from
// inside, whatever backticks the value holds.
func TestMarkdownCodeHelpers(t *testing.T) {
	for _, v := range []string{"plain", "a`b", "``x``", "` lead", "trail `", "```", "line\nbreak\r\n```\nafter"} {
		span := mdCode(v)
		if got := stripCodeSpans("x " + span + " y"); got != "x  y" {
			t.Errorf("mdCode(%q) = %s: leaves %q outside the span", v, span, got)
		}
		block := mdBlock("text", []string{v, "EVIL " + v})
		if rest := outsideCode(block); strings.Contains(rest, "EVIL") || strings.Contains(rest, "after") {
			t.Errorf("mdBlock(%q) lets content out:\n%s", v, block)
		}
	}
	if got := mermaidText("a;b#c:d<e>`f` g…"); !mermaidSafeRE.MatchString(entityRE.ReplaceAllString(got, "")) || strings.ContainsAny(got, ";#") && !entityRE.MatchString(got) {
		t.Errorf("mermaidText = %q", got)
	}
}
