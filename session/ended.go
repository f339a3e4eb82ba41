package session

import "github.com/sessionguard/sessionguard/store"

// An EndReason says why a session ended. A request whose cookie names a
// session that has ended can ask [Session.Ended] for it, so that the
// application can tell its user ("You were signed out because your
// password was changed on another device") instead of showing a bare
// sign-in page. Reasons are kept with the ended session for a day
// ([store.ReasonTTL]) and hold nothing sensitive.
type EndReason uint8

// The reasons a session ends.
const (
	// EndNone: the request's session has not ended, or no reason is known.
	EndNone EndReason = iota
	_                 // store.ReasonRenewed: a renewed token is not an end
	// EndTimeout: the session passed its idle or absolute deadline.
	EndTimeout
	// EndSignedOut: the user signed out ([Session.Logout]).
	EndSignedOut
	// EndSignedOutElsewhere: the session was ended from another of the
	// user's sessions ([Session.RevokeOthers], [Manager.Revoke]).
	EndSignedOutElsewhere
	// EndCredentialsChanged: every session of the user was ended because
	// the password or another credential changed.
	EndCredentialsChanged
	// EndAllSessionsEnded: every session of the user was ended, for
	// instance by an administrator ([Manager.RevokeAll]).
	EndAllSessionsEnded
	// EndReuse: a token replaced by a periodic rotation was used after its
	// grace window while a later token of the session had been presented
	// too, so two parties held the session; all of it was ended.
	EndReuse
	// EndLimit: the user signed in on more devices than
	// [Config.MaxSessionsPerUser] allows; the least recently used session
	// was ended.
	EndLimit
	// EndStoreRolledBack: the store lost writes it had acknowledged (a
	// Redis restarted from an older snapshot, a failover to a replica
	// that missed the last writes), and this session may have been signed
	// out or revoked in the lost window, so it was treated as ended
	// rather than brought back (invariant I14).
	EndStoreRolledBack
	endReasons // the number of reasons
)

var endReasonNames = [...]string{
	EndNone:               "none",
	1:                     "renewed",
	EndTimeout:            "timeout",
	EndSignedOut:          "signed-out",
	EndSignedOutElsewhere: "signed-out-elsewhere",
	EndCredentialsChanged: "credentials-changed",
	EndAllSessionsEnded:   "all-sessions-ended",
	EndReuse:              "token-reuse",
	EndLimit:              "session-limit",
	EndStoreRolledBack:    "store-rolled-back",
}

// String returns the reason's stable name, such as "signed-out".
func (r EndReason) String() string {
	if int(r) < len(endReasonNames) {
		return endReasonNames[r]
	}
	return "unknown"
}

// EndTimeout is the reason stores report for expired records.
var _ = [1]int{}[EndTimeout-EndReason(store.ReasonExpired)]

// storeReason is r as a store keeps it.
func (r EndReason) storeReason() store.Reason {
	if r == EndStoreRolledBack {
		return store.ReasonRolledBack
	}
	return store.Reason(r)
}

// endReasonOf maps what a store kept to an EndReason. A renewal is not an
// end: the browser was given the new token.
func endReasonOf(r store.Reason) EndReason {
	if r == store.ReasonRolledBack {
		return EndStoreRolledBack
	}
	if r == store.ReasonRenewed || int(r) >= int(endReasons) {
		return EndNone
	}
	return EndReason(r)
}

// Ended returns why the user's session has ended, or [EndNone] when it
// has not (or the request had no cookie, or the store no longer
// remembers). On a sign-in refused because the user's sessions were
// revoked while it ran ([ErrSignInRevoked], as the error handler sees it),
// it returns that revocation's reason, or [EndAllSessionsEnded] when the
// store kept none. A sign-in page can use it to tell the user what
// happened:
//
//	switch session.From(r).Ended() {
//	case session.EndCredentialsChanged:
//		msg = "You were signed out because your password was changed."
//	case session.EndTimeout:
//		msg = "Your session timed out. Please sign in again."
//	}
//
// The reason outlives the redirect (invariant I15). The request that
// still carries the dead cookie usually redirects to the sign-in page
// ([Manager.RequireSignIn]); its response then sets a second cookie, named
// after the session cookie with "-ended" appended and with the same
// attributes, that carries the reason for [EndedNoteTTL]. Ended reads it
// on the pages that follow, with no work by the application, until it is
// read once (the response removes it), or the user signs in. The cookie is
// set only for a session the store reported as ended, never for an
// unknown or invented token, so a flood of such requests writes nothing
// anywhere; it holds the reason, an expiry and the ended session's
// [store.Fingerprint], signed with a key derived from [Config.Keys].
// Without Keys each Manager signs with a random key of its own, so a note
// set by one instance of the application is not readable by another (nor
// after a restart): set Keys when several instances serve one site. No
// one can make a note without the key; one copied into another browser
// (by someone who can set its cookies, which the default __Host- name
// keeps sibling subdomains from doing) reads there only for the rest of
// its few minutes, and says no more than one of the fixed reasons above.
//
// Calling Ended on the request that carries the dead cookie reads the
// reason there; it is then not handed on.
func (s *Session) Ended() EndReason {
	if s == nil {
		return EndNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended != EndNone {
		s.noteRead = true
		return s.ended
	}
	if !s.noteParsed {
		s.noteParsed = true
		s.fromNote = s.endedNote()
	}
	return s.fromNote
}

// A Notice reports something the session layer ignored in the current
// request, so that the application can tell its user calmly. Notices are
// bits; test them with &.
type Notice uint8

const (
	// NoticeTokenInURL: the URL carried a session-like parameter (the
	// classic fixation link), which was ignored.
	NoticeTokenInURL Notice = 1 << iota
	// NoticeUnknownCookie: the request carried a session cookie this server
	// never issued (planted, invented, or long forgotten); it was ignored,
	// and a session started now replaces it.
	NoticeUnknownCookie
)

// Notices returns what the session layer ignored in the request.
func (s *Session) Notices() Notice {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notices
}
