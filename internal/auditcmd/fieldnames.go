package auditcmd

import (
	"strings"

	"github.com/sessionguard/sessionguard/audit"
)

// flagNames turns the names the audit library uses in its messages (the
// fields of audit.Target and of auditbrowser.Driver) into the flags that
// set them, so that a message read on the command line names what the user
// can type. Longer names come first: Target.PasswordField before
// Target.Password.
var flagNames = strings.NewReplacer(
	"Target.AllowPasswordInURL", "--allow-password-in-url",
	"Target.NoWrongPasswordProbe", "--no-wrong-password-probe",
	"Target.LoginJSONPath", "--login-json",
	"Target.PasswordField", "--password-field",
	"Target.AllowOrigins", "--allow-origin",
	"Target.AbsoluteWait", "--absolute-wait",
	"Target.LogoutMethod", "--logout-method",
	"Target.Concurrency", "--concurrency",
	"Target.CSRFHeader", "--csrf-header",
	"Target.LogoutPath", "--logout",
	"Target.LoginPath", "--login",
	"Target.CheckPath", "--check",
	"Target.UserField", "--user-field",
	"Target.MaxSignIns", "--max-sign-ins",
	"Target.IdleWait", "--idle-wait",
	"Target.Password", "--password",
	"Target.Insecure", "--insecure",
	"Target.RootCAs", "--ca-cert",
	"Target.BaseURL", "BASE_URL",
	"Target.Cookies", "--cookie",
	"Target.Samples", "--samples",
	"Target.Timeout", "--timeout",
	"Target.MaxTime", "--max-time",
	"Target.Header", "-H",
	"Target.Expect", "--expect",
	"Target.SignIn", "--browser",
	"Target.Proxy", "--proxy",
	"Target.User", "--user",
	"Driver.AllowLoadFrom", "--allow-load-from",
	"Driver.Chrome", "--chrome",
)

// withFlagNames rewrites every message of rep (summary, error, warnings,
// evidence) with flag names in place of field names.
func withFlagNames(rep *audit.Report) {
	if rep == nil {
		return
	}
	rep.Summary = flagNames.Replace(rep.Summary)
	rep.Error = flagNames.Replace(rep.Error)
	for i, w := range rep.Warnings {
		rep.Warnings[i] = flagNames.Replace(w)
	}
	for i := range rep.Checks {
		for j, e := range rep.Checks[i].Evidence {
			rep.Checks[i].Evidence[j] = flagNames.Replace(e)
		}
	}
}
