package auditcmd

import (
	"strings"

	"github.com/sessionguard/sessionguard/audit"
)

// fieldFlags names the flag, with its value's placeholder, that sets each
// [audit.Target] field. The audit library speaks of its Target fields; the
// command's users read its flags.
var fieldFlags = map[string]struct{ flag, arg string }{
	"LoginPath":            {"--login", "PATH"},
	"LoginJSONPath":        {"--login-json", "PATH"},
	"CSRFHeader":           {"--csrf-header", "NAME"},
	"SignIn":               {"--browser", ""},
	"User":                 {"--user", "NAME"},
	"Password":             {"--password", "PASSWORD"},
	"CheckPath":            {"--check", "PATH"},
	"Expect":               {"--expect", "TEXT"},
	"NoWrongPasswordProbe": {"--no-wrong-password-probe", ""},
	"LogoutPath":           {"--logout", "PATH"},
	"LogoutMethod":         {"--logout-method", "M"},
	"Cookies":              {"--cookie", "NAME"},
	"Samples":              {"--samples", "N"},
	"IdleWait":             {"--idle-wait", "DURATION"},
	"AbsoluteWait":         {"--absolute-wait", "DURATION"},
	"UserField":            {"--user-field", "NAME"},
	"PasswordField":        {"--password-field", "NAME"},
	"Timeout":              {"--timeout", "DURATION"},
	"MaxTime":              {"--max-time", "DURATION"},
	"Concurrency":          {"--concurrency", "N"},
	"MaxSignIns":           {"--max-sign-ins", "N"},
	"AllowPasswordInURL":   {"--allow-password-in-url", ""},
	"AllowOrigins":         {"--allow-origin", "ORIGIN"},
	"Header":               {"-H", "'Name: value'"},
	"RootCAs":              {"--ca-cert", "FILE"},
	"Insecure":             {"--insecure", ""},
	"Proxy":                {"--proxy", "URL"},
}

// flagHint is how the command says a hint of the audit library: with the
// flag that sets the field ("set Target.LogoutPath" is "pass --logout
// PATH"). A field with no flag keeps the library's words.
func flagHint(h audit.Hint) string {
	f, ok := fieldFlags[h.Field]
	if !ok {
		return h.String()
	}
	switch h.Verb {
	case "set":
		if f.arg == "" {
			return "pass " + f.flag
		}
		return "pass " + f.flag + " " + f.arg
	case "add":
		return "pass " + f.flag + " " + h.Value
	}
	return f.flag
}

// flagText is s with the library's hints said with flags, the browser
// driver's setting included.
func flagText(s string) string {
	s = strings.NewReplacer("set Driver.Chrome", "pass --chrome PATH", "Driver.Chrome", "--chrome").Replace(s)
	return audit.RenameHints(s, flagHint)
}
