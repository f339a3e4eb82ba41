package auditcmd

import (
	"github.com/sessionguard/sessionguard/audit"
)

// fieldFlags names the flag, with its value's placeholder, that sets each
// [audit.Target] field. The audit library speaks of its Target fields; the
// command's users read its flags.
var fieldFlags = map[string]struct{ flag, arg string }{
	"BaseURL":              {"BASE_URL", ""}, // the argument, not a flag
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

// driverFlags names the flag that sets each auditbrowser.Driver field
// (the --browser sign-in), as fieldFlags does for audit.Target.
var driverFlags = map[string]struct{ flag, arg string }{
	"Chrome":        {"--chrome", "PATH"},
	"AllowLoadFrom": {"--allow-load-from", "ORIGIN"},
	"Proxy":         {"--proxy", "URL"},
	"Insecure":      {"--insecure", ""},
}

// flagHint is how the command says a hint of the audit library or of the
// browser driver: with the flag that sets the field ("set
// Target.LogoutPath" is "pass --logout PATH", "add ORIGIN to
// Driver.AllowLoadFrom" is "pass --allow-load-from ORIGIN"). A field with
// no flag keeps the library's words.
func flagHint(h audit.Hint) string {
	flags := fieldFlags
	if h.Type == "Driver" {
		flags = driverFlags
	}
	f, ok := flags[h.Field]
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

// flagText is s with the hints of the audit library and of the browser
// driver said with flags.
func flagText(s string) string {
	return audit.RenameHints(s, flagHint)
}
