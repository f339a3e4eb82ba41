package session

// NotRecent makes a sign-in that does not count as a recent one: the
// session records no sign-in time, so [Session.AuthenticatedWithin] is
// false and [Manager.RequireRecentAuth] asks for the password again before
// any sensitive action, however soon after. Use it for sign-ins that did
// not check a credential just now, such as a session carried over from
// another session library during a migration. [Session.AuthTime] and
// [Info].AuthTime are then zero; the absolute timeout runs from the
// sign-in as usual.
func NotRecent() LoginOption { return func(s *Session) { s.notRecent = true } }
