package audit

import (
	"context"
	"net/url"
	"time"
)

// cleanupTime is how long closing the audit's sessions may take once the
// audit was interrupted or ran out of time.
const cleanupTime = 5 * time.Second

// closeAll closes every session still open. An interrupt does not stop
// it; once ctx is done it has a few seconds.
func (a *auditor) closeAll(ctx context.Context) {
	limit := 10 * cleanupTime
	if ctx.Err() != nil {
		limit = cleanupTime
	}
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	a.closeSessions(c)
}

// track registers a browser that submitted the login form: its session,
// if signed in, is closed when the audit no longer needs it.
func (a *auditor) track(b *browser) {
	a.liveMu.Lock()
	defer a.liveMu.Unlock()
	a.live = append(a.live, b)
}

// closeSessions signs out every tracked browser. It runs after each check
// and when the audit ends, also when it was interrupted (then with a
// context of its own, for a few seconds).
func (a *auditor) closeSessions(ctx context.Context) {
	a.liveMu.Lock()
	live := a.live
	a.live = nil
	a.liveMu.Unlock()
	for i, b := range live {
		if ctx.Err() != nil {
			// Out of time: whatever was signed in stays open.
			for _, b := range live[i:] {
				if b.signedIn {
					a.created.Add(1)
					a.leftOpen.Add(1)
				}
			}
			return
		}
		a.closeOne(ctx, b)
	}
}

// closeOne signs b out if it is signed in, and counts the session.
func (a *auditor) closeOne(ctx context.Context, b *browser) {
	if a.checkURL == nil || b.closed {
		return // the audit stopped before it knew how to tell, or done
	}
	b.closed = true
	// Signing out is not interrupted: it gets a few seconds of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTime)
	defer cancel()
	alive, p, err := a.signedIn(ctx, b)
	if err != nil {
		if b.signedIn {
			a.created.Add(1)
			a.leftOpen.Add(1)
		}
		return
	}
	if !alive && !b.signedIn {
		return // never signed in
	}
	a.created.Add(1)
	if !alive {
		return // already signed out (logout check, renewal)
	}
	var act *logoutAction
	if p != nil && p.status < 400 {
		var want *url.URL
		if a.t.LogoutPath != "" {
			want, _ = a.env.resolve(a.t.LogoutPath)
		}
		act, _ = findLogout(p.body, p.url, want)
		if act == nil && want != nil {
			act = &logoutAction{link: want}
		}
	}
	if act == nil {
		a.leftOpen.Add(1)
		a.noLogout.Store(true)
		return
	}
	if _, err := a.logout(ctx, b, act); err != nil {
		a.leftOpen.Add(1)
		return
	}
	if still, _, err := a.signedIn(ctx, b); err != nil || still {
		a.leftOpen.Add(1)
	}
}
