package sessiontest

import "time"

// IdleTimeout returns the Manager's effective Config.IdleTimeout.
func (m *Manager) IdleTimeout() time.Duration { return m.idle }

// AbsoluteTimeout returns the Manager's effective Config.AbsoluteTimeout.
func (m *Manager) AbsoluteTimeout() time.Duration { return m.absolute }

// ExpireIdle advances the Clock by the idle timeout: every session not used
// since is past it and loads as ended (session.EndTimeout). Sessions signed in
// with session.RememberMe have a longer idle timeout; advance the Clock by
// Config.RememberIdleTimeout for those.
func (m *Manager) ExpireIdle() { m.Clock.Advance(m.idle) }

// KeepActive advances the Clock by d as a user who keeps using the
// application would see it: in steps short enough that no session used at
// each step reaches its idle timeout (the idle timeout less twice the touch
// interval), calling use after each step. use typically sends a request
// with the session's cookie; it must not be nil.
func (m *Manager) KeepActive(d time.Duration, use func()) {
	step := m.idle - 2*m.touch
	for d > 0 {
		s := min(step, d)
		m.Clock.Advance(s)
		d -= s
		use()
	}
}

// ExpireAbsolute advances the Clock through the absolute timeout while
// calling use as [Manager.KeepActive] does: a session kept busy all along
// has still ended, by its absolute deadline (session.EndTimeout), at the
// last call of use.
func (m *Manager) ExpireAbsolute(use func()) { m.KeepActive(m.absolute, use) }
