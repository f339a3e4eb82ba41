package app

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	paramEnded   = "ended"   // a sealed EndReason name (seal)
	paramIgnored = "ignored" // "link" or "cookie", possibly both (repeated)
	paramNote    = "note"    // a sealed sessionsNotes code, for /sessions
)

// The purposes of the key sets the app derives from its keys
// (session.Keys.Derive): a value signed for one never passes for another.
const (
	purposeEnded        = "sessionguard-app/ended"
	purposeSessionsNote = "sessionguard-app/sessions-note"
	purposeLogUser      = "sessionguard-app/log-user"
)

// noticeMaxAge is how long a sealed value stays valid, either way: the
// redirect it rides is followed at once, and a link captured once cannot
// be handed round for long. Instances whose clocks differ by less than
// this honour each other's values.
const noticeMaxAge = 10 * time.Minute

// seal returns value (which holds no '.'), when it was sealed and a
// signature under the purpose's keys, for a URL. Signed values stop a
// link from claiming something that did not happen ("your password was
// changed"), a phishing aid; the page shows the fixed text the value
// names, never text from the URL.
func (a *App) seal(purpose, value string) string {
	at := strconv.FormatInt(a.cfg.Now().Unix(), 10)
	sig := a.signers[purpose].Sign([]byte(value + "\x00" + at))
	return value + "." + at + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// open returns the value of a sealed string that verifies under the
// purpose's keys (the current or an older key) and is recent enough.
func (a *App) open(purpose, sealed string) (string, bool) {
	value, rest, ok := strings.Cut(sealed, ".")
	at, sig64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return "", false
	}
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if err != nil || !a.signers[purpose].Verify([]byte(value+"\x00"+at), sig) {
		return "", false
	}
	unix, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return "", false
	}
	if age := a.cfg.Now().Sub(time.Unix(unix, 0)); age > noticeMaxAge || age < -noticeMaxAge {
		return "", false
	}
	return value, true
}

// sessionsNote returns the text a sealed /sessions note stands for:
// "revoked", "gone", or "others:N" for N other sessions signed out.
func (a *App) sessionsNote(sealed string) string {
	code, ok := a.open(purposeSessionsNote, sealed)
	switch {
	case !ok:
		return ""
	case code == "revoked":
		return "Signed out that session."
	case code == "gone":
		return "That session had already ended."
	}
	if n, found := strings.CutPrefix(code, "others:"); found {
		if k, err := strconv.Atoi(n); err == nil && k >= 0 {
			return "Signed out " + plural(k, "other session") + "."
		}
	}
	return ""
}

// carryMessages adds to q what the request's session layer reported, for
// the sign-in page after a redirect.
func (a *App) carryMessages(r *http.Request, q url.Values) {
	s := session.From(r)
	if why := s.Ended(); why != session.EndNone {
		if _, ok := endedMessages[why]; ok {
			q.Set(paramEnded, a.seal(purposeEnded, why.String()))
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

// endedMessage returns why the user's session ended, if known, from the
// session layer or from the redirect's verified parameters.
func (a *App) endedMessage(r *http.Request) string {
	if why := session.From(r).Ended(); why != session.EndNone {
		return endedMessages[why]
	}
	name, ok := a.open(purposeEnded, r.URL.Query().Get(paramEnded))
	if !ok {
		return ""
	}
	return endedMessages[reasonByName[name]]
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
