package audit

import "slices"

// fixationChecks are the checks a new session ID at sign-in (and IDs
// taken from the cookie only) repairs.
var fixationChecks = []string{IDFixation, IDFixationURL, IDAdoptsUnknownID}

// frameworkFix is one remedy of a framework, for the checks it repairs.
type frameworkFix struct {
	checks []string
	fix    Fix
}

var (
	refCVE202225896 = Reference{"CVE-2022-25896", "https://github.com/advisories/GHSA-v923-w3x8-wh69"}
	refPHPSecIni    = Reference{"PHP manual: Securing Session INI Settings", "https://www.php.net/manual/en/session.security.ini.php"}
	refPHPRegen     = Reference{"PHP manual: session_regenerate_id", "https://www.php.net/manual/en/function.session-regenerate-id.php"}
	refDjangoLogin  = Reference{"Django: How to log a user in", "https://docs.djangoproject.com/en/stable/topics/auth/default/#how-to-log-a-user-in"}
	refSpringFix    = Reference{"Spring Security: session fixation attack protection", "https://docs.spring.io/spring-security/reference/servlet/authentication/session-management.html"}
	refRailsGuide   = Reference{"Rails Security Guide: session fixation", "https://guides.rubyonrails.org/security.html#session-fixation-countermeasures"}
	refLaravelAuth  = Reference{"Laravel: manually authenticating users", "https://laravel.com/docs/authentication#authenticating-users"}
	refSessionguard = Reference{"sessionguard: Session.Login", "https://pkg.go.dev/github.com/sessionguard/sessionguard/session#Session.Login"}
	refScs          = Reference{"scs: RenewToken", "https://pkg.go.dev/github.com/alexedwards/scs/v2#SessionManager.RenewToken"}
	refRackSession  = Reference{"Rack::Session::Abstract::Persisted (:renew)", "https://rack.github.io/rack/2.2/Rack/Session/Abstract/Persisted.html"}
	refFlaskSession = Reference{"Flask-Session", "https://flask-session.readthedocs.io/"}
	refOWASPSess    = Reference{"OWASP Session Management Cheat Sheet: renew the session ID", "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#renew-the-session-id-after-any-privilege-level-change"}
)

// frameworkFixes are the remedies in each framework's own terms.
var frameworkFixes = map[string][]frameworkFix{
	"php": {{checks: fixationChecks, fix: Fix{
		Text: "Call session_regenerate_id(true) right after the password is verified (true deletes the old session), and harden php.ini: session.use_strict_mode=1 refuses IDs PHP did not issue, session.use_only_cookies=1 and session.use_trans_sid=0 stop IDs in URLs and forms.",
		Snippet: `if (password_verify($password, $user['password_hash'])) {
    session_regenerate_id(true);   // new ID, old session deleted
    $_SESSION['user_id'] = $user['id'];
}

; php.ini
session.use_strict_mode = 1
session.use_only_cookies = 1
session.use_trans_sid = 0`,
		Language:   "php",
		References: []Reference{refPHPRegen, refPHPSecIni},
	}}},
	"express": {{checks: fixationChecks, fix: Fix{
		Text: "Call req.session.regenerate before setting the user on the session. With passport, upgrade to 0.6.0 or later (CVE-2022-25896): from that version req.login() regenerates the session itself.",
		Snippet: `// after checking the password:
req.session.regenerate((err) => {
  if (err) return next(err)
  req.session.user = user.id
  req.session.save((err) => err ? next(err) : res.redirect('/'))
})`,
		Language:   "js",
		References: []Reference{refCVE202225896, refOWASPSess},
	}}},
	"flask-session": {{checks: fixationChecks, fix: Fix{
		Text: "With Flask-Session 0.7 or later, call app.session_interface.regenerate(session) when the user signs in: it gives the session a new ID and deletes the old one from the store.",
		Snippet: `from flask import current_app, session

# after checking the password:
session.clear()
current_app.session_interface.regenerate(session)
session["user_id"] = user.id`,
		Language:   "python",
		References: []Reference{refFlaskSession, refOWASPSess},
	}}},
	"flask": {
		{checks: fixationChecks, fix: Fix{
			Text: "Flask's default session is a signed cookie holding the data itself: clear it when the user signs in so nothing an attacker prepared survives. It has no ID to renew; for server-side sessions use Flask-Session (0.7 or later) and its app.session_interface.regenerate(session).",
			Snippet: `from flask import session

# after checking the password:
session.clear()
session["user_id"] = user.id`,
			Language:   "python",
			References: []Reference{refFlaskSession, refOWASPSess},
		}},
		{checks: []string{IDLogoutInvalidation}, fix: Fix{
			Text:       "Flask's signed cookie session cannot be revoked at logout: session.clear() only makes the browser drop it, and a copy stays valid until the signature's max age. Keep sessions on the server (Flask-Session), or store a per-user session version in the database, put it in the session at sign-in and refuse a session whose version is stale; logout increments it.",
			References: []Reference{refFlaskSession},
		}},
	},
	"django": {{checks: fixationChecks, fix: Fix{
		Text: "django.contrib.auth.login() cycles the session key: sign users in with it. A hand-made sign-in that writes the user into request.session must call request.session.cycle_key() first.",
		Snippet: `from django.contrib.auth import authenticate, login

user = authenticate(request, username=username, password=password)
if user is not None:
    login(request, user)   # cycles the session key

# a hand-made sign-in instead:
request.session.cycle_key()
request.session["user_id"] = user.pk`,
		Language:   "python",
		References: []Reference{refDjangoLogin},
	}}},
	"servlet": {
		{checks: []string{IDFixation, IDAdoptsUnknownID}, fix: Fix{
			Text: "Call request.changeSessionId() (Servlet 3.1) right after the user is authenticated, before storing the user in the session.",
			Snippet: `// after checking the password:
request.changeSessionId();
request.getSession().setAttribute("user", user);`,
			Language:   "java",
			References: []Reference{refOWASPSess},
		}},
		{checks: []string{IDFixationURL}, fix: Fix{
			Text: "Track sessions by cookie only, so that ;jsessionid= in a link is never honoured, and renew the ID at sign-in (request.changeSessionId()).",
			Snippet: `<!-- web.xml -->
<session-config>
  <tracking-mode>COOKIE</tracking-mode>
</session-config>`,
			Language:   "xml",
			References: []Reference{refOWASPSess},
		}},
	},
	"spring-security": {
		{checks: []string{IDFixation, IDAdoptsUnknownID}, fix: Fix{
			Text: "Keep Spring Security's session fixation protection on: sessionFixation().changeSessionId() (the default on Servlet 3.1+) changes the ID at authentication. Check that no configuration sets it to none(), and that a custom authentication filter runs the SessionAuthenticationStrategy.",
			Snippet: `http.sessionManagement((session) -> session
    .sessionFixation((fixation) -> fixation.changeSessionId()));`,
			Language:   "java",
			References: []Reference{refSpringFix},
		}},
		{checks: []string{IDFixationURL}, fix: Fix{
			Text: "Track sessions by cookie only, so that ;jsessionid= in a link is never honoured.",
			Snippet: `<!-- web.xml -->
<session-config>
  <tracking-mode>COOKIE</tracking-mode>
</session-config>`,
			Language:   "xml",
			References: []Reference{refSpringFix},
		}},
	},
	"rack": {{checks: fixationChecks, fix: Fix{
		Text: "Ask Rack's session middleware for a new session ID when the user signs in: set :renew in the request's session options.",
		Snippet: `post '/login' do
  # after checking the password:
  env['rack.session.options'][:renew] = true
  session[:user_id] = user.id
  redirect '/'
end`,
		Language:   "ruby",
		References: []Reference{refRackSession},
	}}},
	"rails": {
		{checks: fixationChecks, fix: Fix{
			Text: "Call reset_session when the user signs in, then write the user into the new session (Devise does this itself; a hand-written sign-in must).",
			Snippet: `def create
  # after checking the password:
  reset_session
  session[:user_id] = user.id
  redirect_to root_path
end`,
			Language:   "ruby",
			References: []Reference{refRailsGuide},
		}},
		{checks: []string{IDLogoutInvalidation}, fix: Fix{
			Text:       "Rails' default cookie store keeps the whole session in the cookie: reset_session at logout only makes the browser drop it, and a copy stays valid. Use a server-side session store (such as config.session_store :cache_store, or activerecord-session_store), or keep a per-user session version in the database that logout changes.",
			References: []Reference{refRailsGuide},
		}},
	},
	"laravel": {{checks: fixationChecks, fix: Fix{
		Text: "Regenerate the session after a successful Auth::attempt, as Laravel's documentation shows.",
		Snippet: `if (Auth::attempt($credentials)) {
    $request->session()->regenerate();
    return redirect()->intended('dashboard');
}`,
		Language:   "php",
		References: []Reference{refLaravelAuth},
	}}},
	"scs": {{checks: fixationChecks, fix: Fix{
		Text:       "Call RenewToken before putting the user into the session (and again at logout). RenewToken keeps the session's data: remove what the anonymous visitor put there unless you mean to keep it.",
		Snippet:    goScsSnippet,
		Language:   "go",
		References: []Reference{refScs},
	}}},
	"sessionguard": {{checks: fixationChecks, fix: Fix{
		Text:       "sessionguard renews the token on every Session.Login and honours only tokens it issued, read from the cookie alone: a fixation here means the sign-in does not go through Session.Login (a hand-made sign-in that writes the user into the session), or another cookie or URL parameter carries the session beside __Host-sid. sign in with Session.Login, name with Carry only what may follow into the account, and let the session rest on __Host-sid alone.",
		Snippet:    goSessionguardSnippet,
		Language:   "go",
		References: []Reference{refSessionguard, refOWASPSess},
	}}},
	"go": {
		{checks: fixationChecks, fix: Fix{
			Text:       "With sessionguard (github.com/sessionguard/sessionguard/session), signing in is a renewal: Session.Login issues a new token and kills the old one in the same store operation, honours only tokens it issued, reads them from the cookie alone, and carries nothing of the anonymous session into the signed-in one except the values named with Carry.",
			Snippet:    goSessionguardSnippet,
			Language:   "go",
			References: []Reference{refSessionguard, refOWASPSess},
		}},
		{checks: fixationChecks, fix: Fix{
			Text:       "With alexedwards/scs, call RenewToken before putting the user into the session (and again at logout), and remove from the session what the anonymous visitor put there unless you mean to keep it.",
			Snippet:    goScsSnippet,
			Language:   "go",
			References: []Reference{refScs},
		}},
	},
	"gorilla": {
		{checks: append([]string{IDLogoutInvalidation}, fixationChecks...), fix: Fix{
			Text:       "gorilla/sessions' CookieStore keeps the session in the signed cookie itself: there is no ID to regenerate at sign-in and nothing on the server to revoke at logout (MaxAge -1 only asks the browser to drop it; a copy stays valid until securecookie's max age). Move to a server-side session manager that renews the ID at sign-in and deletes the record at logout, such as alexedwards/scs with RenewToken.",
			References: []Reference{refScs, refOWASPSess},
		}},
	},
}

// genericFix is the advice when the framework is not recognised.
var genericFix = Fix{
	Text: "At sign-in, issue a new session ID and delete the old one on the server; honour only IDs the server issued and still holds; read the ID from the cookie only. Start the signed-in session empty and carry over only the values you name that are harmless whoever set them (a shopping cart): the anonymous session may have been prepared by the attacker, and whatever it holds (a return-to URL, a CSRF token, a flag) would follow the victim into the account. Most frameworks have one call for the renewal: PHP session_regenerate_id(true), Express req.session.regenerate, Django login() or request.session.cycle_key(), Servlet request.changeSessionId(), Rails reset_session, Laravel $request->session()->regenerate(), Go sessionguard Session.Login, Go scs RenewToken.",
	Snippet: `on a successful sign-in:
    old := the session ID from the cookie
    new := 32 bytes from a CSPRNG, base64url-encoded
    a new, empty session under new; delete old on the server
    copy over only the values you name (the cart), nothing else
    set the cookie to new (Secure; HttpOnly; SameSite=Lax; Path=/)`,
	Language:   "text",
	References: []Reference{refOWASPSess},
}

// fixesFor returns the remedies for a failed check: the framework's own
// when it has one for that check, else the generic advice for the
// fixation checks, else none (the check's remediation stands).
func fixesFor(fw *Framework, checkID string) []Fix {
	if fw != nil {
		var out []Fix
		for _, ff := range frameworkFixes[fw.ID] {
			if slices.Contains(ff.checks, checkID) {
				f := ff.fix
				f.Framework = fw.Name
				out = append(out, f)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	if slices.Contains(fixationChecks, checkID) {
		f := genericFix
		if fw != nil {
			f.Text = "No fix in " + fw.Name + "'s own terms is known to the audit. " + f.Text
		}
		return []Fix{f}
	}
	return nil
}

// The Go snippets, shared by the Go frameworks' fixes.
const (
	goSessionguardSnippet = `// once: mgr, err := session.New(memstore.New(memstore.Options{}), session.Config{})
// and serve mgr.Handler(mux)

// after checking the password:
s := session.FromContext(r.Context())
if err := s.Login(user.ID, session.Carry("cart")); err != nil { // a new token; only "cart" follows
	http.Error(w, "sign-in failed", http.StatusInternalServerError)
	return
}`
	goScsSnippet = `// after checking the password:
if err := sessionManager.RenewToken(r.Context()); err != nil {
	http.Error(w, err.Error(), http.StatusInternalServerError)
	return
}
sessionManager.Remove(r.Context(), "returnTo") // what the visitor set, unless named
sessionManager.Put(r.Context(), "userID", user.ID)`
)
