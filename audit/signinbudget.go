package audit

import (
	"errors"
	"fmt"
)

// DefaultMaxSignIns is the default of Target.MaxSignIns.
const DefaultMaxSignIns = 25

// ErrSignInBudget is returned, wrapped, when the audit needs a sign-in
// beyond Target.MaxSignIns. Before any request it means the fixation
// checks alone need more sign-ins than allowed: the audit is not done.
// During a check it ends that check: the fixation checks become errors
// (and the verdict could-not-audit), any other check is skipped with the
// reason; no check passes for want of sign-ins.
var ErrSignInBudget = errors.New("sign-in budget spent")

// A sign-in is every request that carries the credentials: the form or
// JSON submission, a sign-in driver's run, the wrong-password probe and
// login-csrf's cross-site submission alike. Each one can trip a rate
// limit, lock the account, raise an alert or send a one-time code.

// spendSignIn takes one sign-in from the budget, or says why it cannot.
func (a *auditor) spendSignIn() error {
	for {
		n := a.signIns.Load()
		if n >= int64(a.t.MaxSignIns) {
			return fmt.Errorf("%w: all %d sign-ins allowed (Target.MaxSignIns) were made", ErrSignInBudget, a.t.MaxSignIns)
		}
		if a.signIns.CompareAndSwap(n, n+1) {
			return nil
		}
	}
}

// signInsLeft is how many sign-ins the budget still allows.
func (a *auditor) signInsLeft() int {
	return max(a.t.MaxSignIns-int(a.signIns.Load()), 0)
}

// fixationSignIns is the most sign-ins the audit makes before the
// fixation checks are decided: setting up (the sign-in, the
// wrong-password probe, a second sign-in), the fixation probes (a fresh
// browser, an invented ID, a browser that signed in before: one, one and
// two) and one for each link of fixation-url, plus one for all the
// session cookies together.
func (a *auditor) fixationSignIns() int {
	n := 2 + 4
	if !a.t.NoWrongPasswordProbe {
		n++
	}
	if a.usesForm() {
		// the session cookie's own name, the usual names, ;jsessionid=,
		// and every session cookie at once
		n += 1 + len(urlCarrierNames) + 1 + 1
	}
	return n
}

// checkBudget refuses, before any request, an audit whose budget cannot
// cover the fixation checks.
func (a *auditor) checkBudget() error {
	if need := a.fixationSignIns(); a.t.MaxSignIns < need {
		return fmt.Errorf("%w: the fixation checks need up to %d sign-ins and Target.MaxSignIns is %d; set Target.MaxSignIns (%d or more)",
			ErrSignInBudget, need, a.t.MaxSignIns, need)
	}
	return nil
}
