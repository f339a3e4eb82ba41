package audit

import (
	"fmt"
	"io"
	"strings"
)

// SARIF 2.1.0 (OASIS), the format code-scanning dashboards read.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	toolURI      = "https://github.com/sessionguard/sessionguard"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  sarifRunProps     `json:"properties"`
}

type sarifRunProps struct {
	Target           string     `json:"target"`
	Verdict          Verdict    `json:"verdict"`
	Summary          string     `json:"summary"`
	SessionCookie    string     `json:"sessionCookie,omitempty"`
	SessionCookies   []string   `json:"sessionCookies,omitempty"`
	SignedInSignal   string     `json:"signedInSignal,omitempty"`
	SessionsCreated  int        `json:"sessionsCreated"`
	SessionsLeftOpen int        `json:"sessionsLeftOpen"`
	Framework        *Framework `json:"framework,omitempty"`
	Requests         int        `json:"requests"`
	SignIns          int        `json:"signIns"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifMultiformat struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRule struct {
	ID                   string           `json:"id"`
	Name                 string           `json:"name"`
	ShortDescription     sarifText        `json:"shortDescription"`
	FullDescription      sarifText        `json:"fullDescription"`
	Help                 sarifMultiformat `json:"help"`
	HelpURI              string           `json:"helpUri"`
	DefaultConfiguration sarifConfig      `json:"defaultConfiguration"`
	Properties           sarifRuleProps   `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	Precision        string   `json:"precision"`
	SecuritySeverity string   `json:"security-severity"`
}

type sarifResult struct {
	RuleID     string            `json:"ruleId"`
	RuleIndex  int               `json:"ruleIndex"`
	Kind       string            `json:"kind"`
	Level      string            `json:"level"`
	Message    sarifText         `json:"message"`
	Locations  []sarifLocation   `json:"locations"`
	Properties sarifResultsProps `json:"properties"`
}

type sarifResultsProps struct {
	Severity Severity `json:"severity"`
	Evidence []string `json:"evidence"`
	Fixes    []Fix    `json:"fixes,omitempty"` // in the framework's terms
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level          string        `json:"level"`
	Message        sarifText     `json:"message"`
	AssociatedRule *sarifRuleRef `json:"associatedRule,omitempty"`
}

type sarifRuleRef struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

func sarifLevel(s Severity) string {
	switch s {
	case SeverityCritical, SeverityHigh:
		return "error"
	case SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is the CVSS-like score code-scanning dashboards use to
// rank rules (9.0+ critical, 7.0+ high, 4.0+ medium, else low).
func securitySeverity(s Severity) string {
	return map[Severity]string{SeverityCritical: "9.5", SeverityHigh: "8.0", SeverityMedium: "5.5", SeverityLow: "3.0"}[s]
}

func sarifRules(rep *Report) []sarifRule {
	rules := make([]sarifRule, 0, len(catalog))
	for _, ci := range catalog {
		var refText, refMD []string
		for _, r := range ci.refs {
			refText = append(refText, "- "+r.ID+": "+r.URL)
			refMD = append(refMD, fmt.Sprintf("- [%s](%s)", r.ID, r.URL))
		}
		tags := []string{"security", "session-management"}
		for _, r := range ci.refs {
			if strings.HasPrefix(r.ID, "CWE-") {
				tags = append(tags, "external/cwe/cwe-"+strings.TrimPrefix(r.ID, "CWE-"))
			}
		}
		rules = append(rules, sarifRule{
			ID:               ci.id,
			Name:             ci.name,
			ShortDescription: sarifText{ci.title},
			FullDescription:  sarifText{rep.text(ci.description)},
			Help: sarifMultiformat{
				Text:     rep.text(ci.description) + "\n\nRemediation: " + rep.text(ci.remediation) + "\n\nReferences:\n" + strings.Join(refText, "\n"),
				Markdown: rep.text(ci.description) + "\n\n**Remediation:** " + rep.text(ci.remediation) + "\n\n**References:**\n" + strings.Join(refMD, "\n"),
			},
			HelpURI:              ci.refs[0].URL,
			DefaultConfiguration: sarifConfig{Level: sarifLevel(ci.severity)},
			Properties: sarifRuleProps{
				Tags:             tags,
				Precision:        "high",
				SecuritySeverity: securitySeverity(ci.severity),
			},
		})
	}
	return rules
}

// WriteSARIF writes the report as a SARIF 2.1.0 log with one run: one
// rule per check (whether it failed or not), one result per failed check,
// and one tool-execution notification per check that was skipped or could
// not be performed. executionSuccessful is false when the verdict is
// [VerdictCouldNotAudit].
func WriteSARIF(w io.Writer, rep *Report) error {
	rules := sarifRules(rep)
	index := map[string]int{}
	for i, r := range rules {
		index[r.ID] = i
	}
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "sessionguard", InformationURI: toolURI, Rules: rules}},
		Results: []sarifResult{},
		Properties: sarifRunProps{
			Target: rep.Target, Verdict: rep.Verdict, Summary: rep.Summary,
			SessionCookie: rep.SessionCookie, SessionCookies: rep.SessionCookies, SignedInSignal: rep.SignedInSignal,
			SessionsCreated: rep.SessionsCreated, SessionsLeftOpen: rep.SessionsLeftOpen, Framework: rep.Framework, Requests: rep.Requests, SignIns: rep.SignIns,
		},
	}
	inv := sarifInvocation{ExecutionSuccessful: rep.Verdict != VerdictCouldNotAudit, ToolExecutionNotifications: []sarifNotification{}}
	if rep.Verdict == VerdictCouldNotAudit {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{Level: "error", Message: sarifText{rep.Summary}})
	}
	for _, w := range rep.Warnings {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{Level: "warning", Message: sarifText{w}})
	}
	for _, c := range rep.Checks {
		i, ok := index[c.ID]
		if !ok {
			return fmt.Errorf("audit: no SARIF rule for check %q", c.ID)
		}
		switch c.Status {
		case StatusFail:
			msg := c.Title
			if len(c.Evidence) > 0 {
				msg += ". " + c.Evidence[len(c.Evidence)-1]
			}
			run.Results = append(run.Results, sarifResult{
				RuleID: c.ID, RuleIndex: i, Kind: "fail", Level: sarifLevel(c.Severity),
				Message:    sarifText{msg},
				Locations:  []sarifLocation{{sarifPhysical{sarifArtifact{rep.Target}}}},
				Properties: sarifResultsProps{Severity: c.Severity, Evidence: c.Evidence, Fixes: c.Fixes},
			})
		case StatusSkip, StatusError:
			level := "note"
			if c.Status == StatusError {
				level = "error"
			}
			reason := string(c.Status)
			if len(c.Evidence) > 0 {
				reason = c.Evidence[0]
			}
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
				Level: level, Message: sarifText{c.ID + " " + string(c.Status) + ": " + reason},
				AssociatedRule: &sarifRuleRef{ID: c.ID, Index: i},
			})
		}
	}
	run.Invocations = []sarifInvocation{inv}
	return writeJSON(w, sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}
