// Package migrate signs in, with sessionguard, the users of another session
// library, so that switching libraries signs nobody out.
//
// A [Migrator] sits inside session.Manager.Handler. A request that carries
// the legacy library's cookie and is not signed in with sessionguard is
// looked up in the legacy store through a [Source] (store adapters live in
// modules of their own: migrate/scsmigrate for alexedwards/scs,
// migrate/gorillamigrate for gorilla/sessions). If the legacy store still
// holds a signed-in session, and no request has used it before:
//
//   - the user is signed in with session.Session.Login, which issues a fresh
//     sessionguard token: the legacy value never becomes a sessionguard
//     token (invariant I3), so a legacy cookie an attacker fixed is worth
//     nothing afterwards;
//   - the sign-in does not count as recent (session.NotRecent):
//     RequireRecentAuth asks for the password before sensitive actions;
//   - the legacy session is destroyed in its store, and the legacy cookie
//     is expired in the response;
//   - an [Event] with [Migrated] says so.
//
// Whatever else the outcome, a request with a legacy cookie gets it
// expired; only when the migration failed ([Failed]: the legacy store or
// the Ledger could not answer) is the cookie left for a later request.
// Nothing of the legacy session but the user is carried over: read what you
// need in the Source's user function.
//
// # Each legacy session once
//
// Every legacy session that is migrated is claimed in a [Ledger] under a
// hash of its cookie, until the legacy library would have stopped honouring
// the cookie. Of concurrent requests bearing one legacy cookie, only the
// first to claim it is signed in; the others are served anonymous, with a
// [Replayed] event. This matters most for stores that keep nothing on the
// server (gorilla's CookieStore), where a copied cookie would otherwise
// stay valid until its MaxAge. The default Ledger is in memory: with
// several instances, give every instance the same [StoreLedger] over the
// shared sessionguard store.
//
// # What it cannot stop
//
// A migration honours legacy cookies, with what they were worth before: a
// legacy cookie stolen before the switch signs its thief in, once, as it
// would have in the legacy library; a legacy cookie an attacker planted in
// a victim's browser (their own, to have the victim act in the attacker's
// account) signs the victim in as the attacker. sessionguard's revocations
// (RevokeOthers after a password change, RevokeAll) do not reach sessions
// still in the legacy store: the user function of a Source should refuse
// (return no user for) accounts disabled or whose credentials changed
// since the switch. Nothing the request's
// anonymous sessionguard session held is kept (invariant I13), and the
// cut-off bounds the window.
//
// # The cut-off
//
// [Config.Cutoff] ends the migration: from then on, legacy cookies are
// only expired. Set it to the legacy library's longest session lifetime
// after the switch; users still signed in only there sign in again.
package migrate
