package audit

import (
	"context"
	"time"
)

// keepAlive is how often the absolute-timeout check uses the session: every
// minute, or every tenth of the wait if that is shorter, so that an idle
// timeout does not end the session first.
func keepAlive(wait time.Duration) time.Duration {
	return min(time.Minute, max(wait/10, 10*time.Millisecond))
}

// checkAbsolute is the opt-in absolute-timeout check (WSTG-SESS-07, ASVS
// 3.3.2): the session is kept busy for the whole wait and must not survive
// it.
func (a *auditor) checkAbsolute(ctx context.Context) Check {
	c := newCheck(IDAbsoluteTimeout)
	wait := a.t.AbsoluteWait
	if wait <= 0 {
		c.skip("not run: set Target.AbsoluteWait (longer than the application's absolute timeout, e.g. 12h1m) to test it")
		return c
	}
	victim, res, ok := a.signInVictim(ctx, &c)
	if !ok {
		return c
	}
	start := time.Now()
	every := keepAlive(wait)
	c.add("victim signs in: %s; %s", res.submit.describe(), a.signedInNote(res.ok, res.check))
	c.add("the victim uses the session every %v for %v", every, wait)
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.NewTimer(wait)
	defer end.Stop()
	uses, failed := 0, 0
	for {
		select {
		case <-ctx.Done():
			c.errorf("interrupted after %v of the wait: %v", time.Since(start).Round(time.Millisecond), ctx.Err())
			return c
		case <-tick.C:
			ok, p, err := a.signedIn(ctx, victim)
			if err != nil {
				// One refused or lost request does not end the test.
				failed++
				continue
			}
			uses++
			if !ok {
				c.add("after %v and %d uses: %s", time.Since(start).Round(time.Second/10), uses, a.signedInNote(ok, p))
				c.add("the session ended while in use, within %v", wait)
				c.result(StatusPass)
				return c
			}
			continue
		case <-end.C:
		}
		break
	}
	ok, p, err := a.signedIn(ctx, victim)
	if err != nil {
		c.errorf("after the wait: %v", err)
		return c
	}
	c.add("after %v and %d uses (%d not answered): %s", wait, uses, failed, a.signedInNote(ok, p))
	if ok {
		c.fail(SeverityMedium)
		c.add("the session outlived %v of continuous use", wait)
		return c
	}
	c.result(StatusPass)
	return c
}
