package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// TestSARIFStructure checks the SARIF 2.1.0 logs against the parts of the
// OASIS schema a consumer relies on: required properties, the version and
// $schema, one rule per check with help and references, and results that
// point at their rule by id and index.
func TestSARIFStructure(t *testing.T) {
	t.Parallel()
	srv := newApp(t, vulnerableApp)
	vuln, err := Run(context.Background(), auditTarget(srv.URL, Target{Samples: -1}))
	if err != nil {
		t.Fatal(err)
	}
	failed, _ := Run(context.Background(), auditTarget("http://127.0.0.1:1", Target{}))
	for name, rep := range map[string]*Report{"vulnerable": vuln, "could not audit": failed} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteSARIF(&buf, rep); err != nil {
				t.Fatal(err)
			}
			var log map[string]any
			if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			for _, msg := range validateSARIF(log) {
				t.Error(msg)
			}
			runs := log["runs"].([]any)
			results := runs[0].(map[string]any)["results"].([]any)
			if got, want := len(results), len(rep.Findings(SeverityNone)); got != want {
				t.Errorf("%d results, want one per failed check (%d)", got, want)
			}
			inv := runs[0].(map[string]any)["invocations"].([]any)[0].(map[string]any)
			if ok := inv["executionSuccessful"].(bool); ok != (rep.Verdict != VerdictCouldNotAudit) {
				t.Errorf("executionSuccessful = %v with verdict %s", ok, rep.Verdict)
			}
		})
	}
}

// validateSARIF returns what is wrong with a SARIF log, by the 2.1.0
// schema's rules for the objects sessionguard writes.
func validateSARIF(log map[string]any) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	str := func(m map[string]any, key, where string) string {
		s, ok := m[key].(string)
		if !ok || s == "" {
			bad("%s: %q missing or not a non-empty string", where, key)
		}
		return s
	}
	obj := func(m map[string]any, key, where string) map[string]any {
		o, ok := m[key].(map[string]any)
		if !ok {
			bad("%s: %q missing or not an object", where, key)
			return map[string]any{}
		}
		return o
	}
	arr := func(m map[string]any, key, where string) []any {
		a, ok := m[key].([]any)
		if !ok {
			bad("%s: %q missing or not an array", where, key)
		}
		return a
	}
	message := func(m map[string]any, where string) {
		msg := obj(m, "message", where)
		if _, ok := msg["text"].(string); !ok {
			if _, ok := msg["id"].(string); !ok {
				bad("%s.message: neither text nor id", where)
			}
		}
	}
	levels := map[string]bool{"none": true, "note": true, "warning": true, "error": true}
	kinds := map[string]bool{"notApplicable": true, "pass": true, "fail": true, "review": true, "open": true, "informational": true}

	if str(log, "$schema", "sarifLog") != sarifSchema {
		bad("$schema is not %s", sarifSchema)
	}
	if log["version"] != "2.1.0" {
		bad("version %v, want 2.1.0", log["version"])
	}
	runs := arr(log, "runs", "sarifLog")
	if len(runs) != 1 {
		bad("%d runs, want 1", len(runs))
		return errs
	}
	run := runs[0].(map[string]any)
	driver := obj(obj(run, "tool", "run"), "driver", "run.tool")
	str(driver, "name", "driver")
	rules := arr(driver, "rules", "driver")
	if len(rules) != len(catalog) {
		bad("%d rules, want one per check (%d)", len(rules), len(catalog))
	}
	ruleIDs := map[string]int{}
	for i, r := range rules {
		rule := r.(map[string]any)
		where := fmt.Sprintf("rules[%d]", i)
		id := str(rule, "id", where)
		if _, dup := ruleIDs[id]; dup {
			bad("%s: duplicate rule id %q", where, id)
		}
		ruleIDs[id] = i
		if id != catalog[i].id {
			bad("%s: id %q, want %q", where, id, catalog[i].id)
		}
		str(obj(rule, "shortDescription", where), "text", where+".shortDescription")
		str(obj(rule, "fullDescription", where), "text", where+".fullDescription")
		help := obj(rule, "help", where)
		str(help, "text", where+".help")
		str(help, "markdown", where+".help")
		str(rule, "helpUri", where)
		if l := obj(rule, "defaultConfiguration", where)["level"]; !levels[fmt.Sprint(l)] {
			bad("%s: defaultConfiguration.level %v", where, l)
		}
		if s := str(obj(rule, "properties", where), "security-severity", where+".properties"); s == "" {
			bad("%s: no security-severity", where)
		}
	}
	for i, r := range arr(run, "results", "run") {
		res := r.(map[string]any)
		where := fmt.Sprintf("results[%d]", i)
		id := str(res, "ruleId", where)
		idx, ok := res["ruleIndex"].(float64)
		if !ok {
			bad("%s: no ruleIndex", where)
		} else if want, ok := ruleIDs[id]; !ok || int(idx) != want {
			bad("%s: ruleIndex %v does not point at rule %q", where, idx, id)
		}
		if !levels[fmt.Sprint(res["level"])] {
			bad("%s: level %v", where, res["level"])
		}
		if !kinds[fmt.Sprint(res["kind"])] {
			bad("%s: kind %v", where, res["kind"])
		}
		message(res, where)
		locs := arr(res, "locations", where)
		if len(locs) == 0 {
			bad("%s: no locations", where)
		}
		for j, l := range locs {
			pl := obj(l.(map[string]any), "physicalLocation", where)
			str(obj(pl, "artifactLocation", fmt.Sprintf("%s.locations[%d]", where, j)), "uri", where)
		}
	}
	for i, inv := range arr(run, "invocations", "run") {
		m := inv.(map[string]any)
		where := fmt.Sprintf("invocations[%d]", i)
		if _, ok := m["executionSuccessful"].(bool); !ok {
			bad("%s: executionSuccessful is required", where)
		}
		for j, n := range arr(m, "toolExecutionNotifications", where) {
			nm := n.(map[string]any)
			nw := fmt.Sprintf("%s.toolExecutionNotifications[%d]", where, j)
			message(nm, nw)
			if !levels[fmt.Sprint(nm["level"])] {
				bad("%s: level %v", nw, nm["level"])
			}
			if ar, ok := nm["associatedRule"].(map[string]any); ok {
				id := str(ar, "id", nw+".associatedRule")
				if idx, ok := ar["index"].(float64); !ok || int(idx) != ruleIDs[id] {
					bad("%s: associatedRule index does not point at %q", nw, id)
				}
			}
		}
	}
	return errs
}
