package audit

import (
	"regexp"
	"strings"
)

// A Hint is a reference to a setting in a message of this package: an
// error, a line of evidence, a warning, the report's error and summary.
// The setting is a [Target] field or a field of a sign-in driver's own
// configuration, which a [SignInDriver] names the same way with the type
// name Driver (package auditbrowser's Driver.AllowLoadFrom). In the text
// it reads "Target.LogoutPath" (the field named), "set Target.LogoutPath"
// (advice to give the field a value) or "add VALUE to Target.AllowOrigins"
// (advice to add VALUE to a list field). A program with settings of its
// own, such as a command line with flags, finds the hints with [Hints] and
// renames them with [RenameHints] and [Report.RenameHints], so that its
// users read its own names.
type Hint struct {
	// Type is the type whose field is named: "Target", or "Driver" for a
	// sign-in driver's configuration. The zero value means "Target".
	Type string
	// Field is the name of the field, such as "LogoutPath".
	Field string
	// Verb is "set" (give the field a value), "add" (add Value to the
	// list field) or "" (the field is only named).
	Verb string
	// Value is what to add, for Verb "add".
	Value string
}

// String is the hint as this package writes it.
func (h Hint) String() string {
	name := h.Type
	if name == "" {
		name = "Target"
	}
	name += "." + h.Field
	switch h.Verb {
	case "set":
		return "set " + name
	case "add":
		return "add " + h.Value + " to " + name
	}
	return name
}

var hintRE = regexp.MustCompile(`(?:\b(set) |\b(add) (\S+) to )?\b(Target|Driver)\.([A-Z][A-Za-z]*)`)

// Hints returns the hints in s, in order.
func Hints(s string) []Hint {
	var out []Hint
	for _, m := range hintRE.FindAllStringSubmatch(s, -1) {
		out = append(out, hintOf(m))
	}
	return out
}

func hintOf(m []string) Hint {
	h := Hint{Type: m[4], Field: m[5], Verb: m[1]}
	if m[2] != "" {
		h.Verb, h.Value = "add", m[3]
	}
	return h
}

// RenameHints returns s with every hint replaced by rename's text for it.
func RenameHints(s string, rename func(Hint) string) string {
	if rename == nil || !strings.Contains(s, "Target.") && !strings.Contains(s, "Driver.") {
		return s
	}
	return hintRE.ReplaceAllStringFunc(s, func(m string) string {
		return rename(hintOf(hintRE.FindStringSubmatch(m)))
	})
}

// RenameHints renames the hints in every message of the report (error,
// summary, warnings, signed-in signal, evidence), and in the check
// descriptions the writers add (SARIF rules), with rename. It is how a
// command line makes the report name its flags.
func (r *Report) RenameHints(rename func(Hint) string) {
	if rename == nil {
		return
	}
	r.rename = rename
	ren := func(s string) string { return RenameHints(s, rename) }
	r.Error, r.Summary, r.SignedInSignal = ren(r.Error), ren(r.Summary), ren(r.SignedInSignal)
	for i := range r.Warnings {
		r.Warnings[i] = ren(r.Warnings[i])
	}
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Remediation = ren(c.Remediation)
		for j := range c.Evidence {
			c.Evidence[j] = ren(c.Evidence[j])
		}
	}
}

// text is s with the report's hints renamed, for the texts the writers
// add from the check catalogue.
func (r *Report) text(s string) string { return RenameHints(s, r.rename) }
