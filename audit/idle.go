package audit

import (
	"context"
	"time"
)

// checkIdle is the opt-in idle-timeout check (WSTG-SESS-07).
func (a *auditor) checkIdle(ctx context.Context) Check {
	c := newCheck(IDIdleTimeout)
	if a.t.IdleWait <= 0 {
		c.skip("not run: set Target.IdleWait (longer than the application's idle timeout, e.g. 31m) to test it")
		return c
	}
	victim, res, ok := a.signInVictim(ctx, &c)
	if !ok {
		return c
	}
	c.add("victim signs in: %s; %s", res.submit.describe(), a.signedInNote(res.ok, res.check))
	t := time.NewTimer(a.t.IdleWait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		c.errorf("interrupted while waiting: %v", ctx.Err())
		return c
	case <-t.C:
	}
	ok, p, err := a.signedIn(ctx, victim)
	if err != nil {
		c.errorf("after waiting: %v", err)
		return c
	}
	c.add("after %v without a request: %s", a.t.IdleWait, a.signedInNote(ok, p))
	if ok {
		c.fail(SeverityMedium)
		c.add("the session outlived %v of inactivity", a.t.IdleWait)
		return c
	}
	c.result(StatusPass)
	return c
}
