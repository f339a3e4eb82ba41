// Package auditcmd is the command line of "sessionguard audit": flag
// parsing, the choice of report format, messages and the exit status. The
// audit itself is [audit.Run], whose package documentation describes every
// check and report format in the terms of its [audit.Target] fields; this
// package maps each flag to a field, and says the library's advice (an
// [audit.Hint] such as "set Target.LogoutPath") with the flag that does it
// ("pass --logout PATH"), in every output format and on stderr.
//
// # Command line
//
//	sessionguard audit [flags] BASE_URL
//
// Flags may come before or after BASE_URL. PATH values are joined to
// BASE_URL's path ("/login" under "https://h/app" is "https://h/app/login");
// a URL on the target's host is also accepted.
//
//	--login PATH          the login form page (default /login)
//	--login-json PATH     sign in with a JSON API at PATH instead of the form (needs --check)
//	--csrf-header NAME    the header for a meta-tag or double-submit CSRF token (default: the framework's)
//	--browser             sign in through headless Chromium (a form built by script; needs --check)
//	--chrome PATH         with --browser: the Chromium to run (default: chromium on PATH)
//	--user NAME           the test account's user name (required)
//	--password PASSWORD   its password (default $SESSIONGUARD_PASSWORD)
//	--check PATH          a page only a signed-in user sees
//	                      (default: the page the sign-in lands on)
//	--expect TEXT         text that page shows when signed in (default: NAME)
//	--no-wrong-password-probe  skip the sign-in with a wrong password (accounts that lock)
//	--logout PATH         where logging out happens (default: found on the check page)
//	--logout-method M     force GET or POST for logging out
//	--cookie NAME         a session cookie (repeatable; default: detected)
//	--format F            text, json, sarif or markdown (default text)
//	--fail-on S           critical, high, medium, low or none (default high)
//	-v                    text output: also the evidence of checks that passed
//	--samples N           tokens for token-randomness (default 200; 0 skips it)
//	--idle-wait DURATION  run idle-timeout, waiting that long (default: not run)
//	--absolute-wait DURATION  run absolute-timeout, using the session that long (default: not run)
//	--user-field NAME     the login form's user-name field (default: detected)
//	--password-field NAME the login form's password field (default: detected)
//	--timeout DURATION    per request (default 10s)
//	--max-time DURATION   the whole audit, --idle-wait and --absolute-wait not included (default 10m)
//	--max-sign-ins N      at most N sign-ins, the wrong-password probe included (default 25)
//	--concurrency N       requests in flight while sampling (default 4)
//	--allow-password-in-url  submit a login form sent by GET (noted in the report)
//	--allow-origin ORIGIN    trust ORIGIN with the credentials, as the application's sign-in service (repeatable)
//	--allow-load-from ORIGIN with --browser: the login page may load scripts and styles from ORIGIN, trusted with nothing typed (repeatable)
//	-H 'Name: value'      a header for every request (repeatable; never shown)
//	--ca-cert FILE        trust the CAs in this PEM file for an https:// target
//	--insecure            do not verify TLS certificates (warned on stderr and in the report)
//	--proxy URL           send every request through this proxy (http, https, socks5)
//
// This list is the one place the flags are documented besides
// "sessionguard audit -h" and the README; a test holds all three
// together.
//
// # Exit status
//
//	0  no failed check at or above --fail-on (always 0 with --fail-on none,
//	   unless the audit could not be done)
//	1  at least one failed check at or above --fail-on
//	2  the audit could not be done (unreachable, no login form, sign-in
//	   failed, session cookie not found, bad flags), or a check could not
//	   be performed and nothing else made the status 1
//
// Findings win: a fixation that was shown gives 1 even if another check
// could not be performed. See [audit.Report.ExitCode].
//
// The audit has --max-time (default 10 minutes, plus --idle-wait and
// --absolute-wait), and each
// check a share of it. When the time is up, or on SIGINT or SIGTERM, the
// report holds every check that finished and marks the others as errors
// ("not finished"); the exit status is then 1 if a finished check has a
// finding at or above --fail-on, else 2. The sessions signed in so far are
// still signed out, for a few seconds at most.
package auditcmd
