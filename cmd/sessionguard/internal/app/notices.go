package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/sessionguard/sessionguard/session"
)

// What the pages tell the user about their session: why a session ended
// (shown on the sign-in page), and what the session layer ignored in the
// request (shown calmly on any page).

// endedMessages says why the session of the request's cookie ended.
var endedMessages = map[session.EndReason]string{
	session.EndSignedOut:          "You have signed out.",
	session.EndSignedOutElsewhere: "You were signed out from another of your sessions (on the Sessions page).",
	session.EndCredentialsChanged: "You were signed out because your password was changed on another device.",
	session.EndAllSessionsEnded:   "You were signed out: all sessions of your account were ended.",
	session.EndTimeout:            "Your session expired. Please sign in again.",
	session.EndReuse: "You were signed out because your session was used from two places at once, " +
		"which can mean that someone copied it. If this happens again, change your password.",
	session.EndLimit: "You were signed out because your account is signed in on too many devices; this one had been used least recently.",
}

// reasonByName maps EndReason.String() back to the reason, for the query
// parameter that carries it across a redirect.
var reasonByName = func() map[string]session.EndReason {
	m := map[string]session.EndReason{}
	for r := range endedMessages {
		m[r.String()] = r
	}
	return m
}()

// The calm notes for what the session layer ignored.
const (
	noticeLink   = "A session ID in the link you followed was ignored: this site never takes one from a link."
	noticeCookie = "Your browser sent a session cookie this site does not know (an old one, or one set by someone else); it was ignored and removed."
)

// Query parameters that carry the sign-in page's messages across the
// redirect that brings a signed-out request there. The response to that
// request removes the dead cookie from the browser, so the sign-in page
// could not ask the session layer itself.
const (
	paramEnded   = "ended"   // an EndReason name
	paramSig     = "sig"     // MAC of paramEnded, so that a link cannot claim a reason that did not happen
	paramIgnored = "ignored" // "link" or "cookie", possibly both (repeated)
)

// endedSig authenticates a reason carried in a URL. A forged "your password
// was changed" would be a phishing aid; the notices need no MAC: they only
// say that something was ignored, which anyone can cause for real.
func (a *App) endedSig(reason string) string {
	mac := hmac.New(sha256.New, a.key[:])
	mac.Write([]byte("ended:" + reason))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:12])
}

// carryMessages adds to q what the request's session layer reported, for
// the sign-in page after a redirect.
func (a *App) carryMessages(r *http.Request, q url.Values) {
	s := session.From(r)
	if why := s.Ended(); why != session.EndNone {
		if _, ok := endedMessages[why]; ok {
			q.Set(paramEnded, why.String())
			q.Set(paramSig, a.endedSig(why.String()))
		}
	}
	n := s.Notices()
	if n&session.NoticeTokenInURL != 0 {
		q.Add(paramIgnored, "link")
	}
	if n&session.NoticeUnknownCookie != 0 {
		q.Add(paramIgnored, "cookie")
	}
}

// signInMessages returns why the user's session ended, if known, from the
// session layer or from the redirect's verified parameters.
func (a *App) endedMessage(r *http.Request) string {
	if why := session.From(r).Ended(); why != session.EndNone {
		return endedMessages[why]
	}
	q := r.URL.Query()
	name := q.Get(paramEnded)
	why, ok := reasonByName[name]
	if !ok || !hmac.Equal([]byte(q.Get(paramSig)), []byte(a.endedSig(name))) {
		return ""
	}
	return endedMessages[why]
}

// notices returns the calm notes for what was ignored: in this request, and
// (on the sign-in page) in the request that was redirected there.
func notices(r *http.Request, fromQuery bool) []string {
	n := session.From(r).Notices()
	link, cookie := n&session.NoticeTokenInURL != 0, n&session.NoticeUnknownCookie != 0
	if fromQuery {
		for _, v := range r.URL.Query()[paramIgnored] {
			link = link || v == "link"
			cookie = cookie || v == "cookie"
		}
	}
	var out []string
	if link {
		out = append(out, noticeLink)
	}
	if cookie {
		out = append(out, noticeCookie)
	}
	return out
}
