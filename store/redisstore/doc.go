// Package redisstore keeps sessions in Redis, for applications that run
// several instances behind a load balancer: a sign-in, sign-out or
// revocation on one instance is in force on every other at once.
//
// It implements [store.Store] on github.com/redis/go-redis/v9 and takes
// any redis.UniversalClient: a single server, Sentinel
// (redis.NewFailoverClient), Redis Cluster (redis.NewClusterClient) or a
// Ring. Conditional writes, renewals and revocations run server-side as
// Lua scripts, so no lost update and no resurrection depends on the
// application's locks; expiry is Redis's own (TTLs), so nothing needs
// sweeping. It needs Redis 7.0 or later.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	st, err := redisstore.Open(ctx, client, redisstore.Options{})
//	if err != nil {
//		log.Fatal(err) // for instance an evicting maxmemory-policy
//	}
//	defer st.Close()
//	m, err := session.New(st, session.Config{})
//
// [Open] checks the server before it returns and watches it afterwards
// (see "Checks at start-up" and "Redis going back in time"); [New] does
// neither, and is for tests and benchmarks.
//
// # Key layout
//
// With the default prefix "sg:":
//
//	sg:s:{KEY}    one session: a hash, or its tombstone
//	sg:u:{USER}   one user's index: a sorted set of record keys
//	sg:l:{USER}   beside it, in the same slot: each listed record's lineage,
//	              and each lineage's indexed record keys (fields "g:LINEAGE")
//	sg:r:{USER}   the user's lineages, scored by last use (Redis's clock, µs)
//	sg:m:{USER}   the user's revocation mark, kept an hour
//
// KEY is [store.Record.Key], the hex SHA-256 of the token: Redis never
// holds a token, so a dump, a replica or a backup yields no usable cookie
// (invariant I4). A record hash has the fields
//
//	v  version, decimal
//	d  the record as store.Record.MarshalBinary encodes it
//	e  Expires, in Unix milliseconds
//	i  the name of the user index the record is listed in ("" when anonymous)
//	x  the record's score in that index
//	s  set by a rotation with a grace time: the successor's key
//	g  with s: GraceUntil, in Unix nanoseconds
//	w  when the record's lineage was first written, in Unix milliseconds
//	   by Redis's clock; a rotation keeps it (see "Redis going back in
//	   time")
//
// A rotation with a grace time turns the old record into a forwarder by
// setting v, s and g without rewriting d, whose version is then below v;
// the next Update writes d whole again. The record's key is inside d as
// well, and [Store.Get] checks it against the key it read, and d's version
// against v: a record copied to another key, or written around the
// scripts, is reported as [store.ErrCorrupt], which the session layer
// turns into a refused request, never an anonymous one.
//
// A tombstone has the fields t (always 1), e (the dead record's Expires),
// r (the [store.Reason] it ended for), a (when it was written) and, for a
// key a revocation reached before its record was written, p. A renewal's
// tombstone also keeps the new key in n.
//
// USER is the hex SHA-256 of the user ID, so user IDs (which may be e-mail
// addresses, or hold braces) never appear in key names. The index holds
// the record keys of the user's sessions, scored by the latest moment each
// may live, max(Deadline, Expires) in Unix milliseconds. The lineage hash
// maps each of them to "LINEAGE|EXPIRES": its [store.Record.LineageKey]
// and the Expires it was created with, or, once a revocation on a sharded
// layout has selected it, "-REASON|EXPIRES". [Store.ListUser],
// [Store.RevokeUser] and [Store.RevokeLineage] read only these two keys
// and the records they name: the store never sends KEYS or SCAN. An
// entry with no lineage (written by an earlier version of this package,
// which kept none) counts as its own lineage.
//
// The sign-in write ([Store.SignIn]) needs two more keys per user, in the
// same slot, and more fields in the lineage hash. The sorted set r holds
// the user's lineages, each scored by its last use: Redis's clock (TIME,
// in microseconds) at the latest Create, Update, Rotate or SignIn that
// wrote one of its records, set by the script that writes the record, in
// the same round trip (a sharded Update sends it in the same pipeline).
// The lineage hash also maps "g:LINEAGE" to ",KEY1,KEY2,", the lineage's
// record keys in the index (forwarders included), so that a lineage can be
// ended whole without reading the others (record keys are hex: no record
// key is ever a "g:" field). A lineage leaves r and its list when its last
// record leaves the index. The hash m holds the user's revocation mark: t,
// Redis's clock in microseconds when [Store.RevokeUser] last ran (always
// above the mark it replaced), and r, its reason; it expires
// [store.MarkTTL] after it was written.
//
// Earlier versions of this package: an index written before r existed
// has its lineages counted, and ended by the bound, from the first Create
// or Rotate that lists one of their records again, and otherwise left to
// expire. One written while the lists were kept in a hash of their own
// (g, beside the index, LINEAGE → ",KEY1,"), is read as it is: the scripts
// look there for a lineage with no "g:" field, and a lineage's list moves
// into the lineage hash when it next gains a record. During a rolling
// upgrade, an instance still on that version does not see the lists the
// new one writes, so its bound can take a new lineage out of r without
// ending its records (which then live to their own timeouts); sign-outs
// and revocations read the index and the lineage entries, not the lists,
// and are not affected.
//
// # Hash slots, and what is atomic where
//
// The braces are Redis Cluster hash tags: a record's slot is decided by its
// key alone, a user's index by the user alone. Sessions therefore spread
// over every shard of a cluster, but the two keys of a renewal, the old
// token's and the new one's, are in unrelated slots, and neither is the
// slot of the user's index. This cannot be helped by giving the keys of one
// user a common tag: [store.Store.Get] is asked for a key and nothing else
// (the cookie is all a request has), so the key alone must name the
// record, and the new key is the hash of a random token, whose slot nobody
// chooses.
//
// The store therefore has two layouts, chosen by [New]:
//
//   - Single-slot, for a *redis.Client (one server or Sentinel), or for any
//     client when Options.Prefix holds a hash tag ("sg{sessions}:"), which
//     puts every key of the store in that one slot. Every operation is one
//     atomic script over all the keys it touches: Rotate retires the old
//     record, creates the new one and updates the user index in one step,
//     or fails having changed nothing; RevokeUser and RevokeLineage
//     tombstone every selected record and update the index in one step. The
//     whole [store.Store] contract holds as written. On a cluster, pinning
//     the prefix keeps this at the price of holding every session on one
//     shard (and its replicas): fine for most session volumes, and the
//     simplest reasoning.
//
//   - Sharded, for a *redis.ClusterClient or a *redis.Ring with an untagged
//     prefix. Every script touches the keys of one slot only, so a
//     rotation and a revocation are each two ordered steps, with the
//     user's index as the authority between them; see the next section.
//
// A client that wraps a ClusterClient behind another type is taken for a
// single server; its multi-key scripts then fail with CROSSSLOT, closed.
// Pass the ClusterClient itself, or pin the prefix. Sentinel with
// RouteByLatency or RouteRandomly gives a ClusterClient
// (redis.NewFailoverClusterClient), hence the sharded layout, which is
// correct there too; pin the prefix to have single-slot scripts.
//
// # Revocation on a sharded cluster
//
// In the sharded layout no script can reach a user's index and their
// records at once, so the guarantee that no session escapes a revocation
// by being renewed at the same moment is kept by ordering, with the index
// slot deciding:
//
//   - A signed-in record is always registered in its user's index, with
//     its lineage, before it is written. A Create registers, then writes.
//     A Rotate registers the new key, in a script that refuses if a
//     revocation has selected the old key, while another script retires
//     the old record (tombstone, or forwarder) if it is live at the
//     expected version; only when both succeed is the new record written.
//   - A revocation first selects, in one script in the index slot, the
//     entries of the lineages it ends and marks them revoked there. From
//     that moment no selected record can be rotated into a new one (the
//     registration is refused), and every record made by a rotation that
//     registered earlier is among the selected. It then tombstones each
//     selected record in its own slot, in one pipeline. A selected key
//     whose record is not written yet (a rotation between its two steps)
//     gets a tombstone first, which makes that record's creation fail.
//
// So, on a sharded Redis Cluster, when RevokeUser or RevokeLineage returns
// without error, no record it selected, nor any record made from one by a
// rotation within the same user, is live, as the contract says. What is
// missing is the single step: while the call runs, a selected record may
// still be read, and the count it returns is an estimate under races (it
// counts a record that a racing rotation retired after the selection, and
// a key registered by a rotation that failed, while that key's record
// could have lived). What it does not give, unlike the single-slot
// layout:
//
//   - If the revocation fails, or the process dies, between its two steps,
//     the selected records that were not yet tombstoned stay readable (and
//     writable by Update) until they expire, but they can no longer be
//     rotated, nor be listed: the next ListUser of the user tombstones
//     every selected record it finds still live, and the next revocation
//     of the user tombstones them again. RevokeUser returns the error.
//   - A sign-in that switches a session from one user to another (a
//     rotation whose old record is listed under another user) is checked
//     against the new user's index only: a revocation of the first user
//     that runs during it ends the old record, but not the new user's.
//   - A Rotate that fails between its steps loses the new record: the
//     request fails, closed, and the user signs in again; the old record is
//     never left live beside it except as a forwarder that names it, and a
//     forwarder whose successor could not be written is tombstoned.
//
// A prefix with a hash tag ("sg{sessions}:") gives the single-slot layout
// on a cluster, with every operation atomic, at the price described above.
//
// # The sign-in write
//
// In the single-slot layout, [Store.SignIn] is one script, one round
// trip: it reads TIME; refuses, writing nothing, a sign-in whose request
// began (TIME minus Elapsed minus [store.SignInMargin]) at or before the
// user's mark, unless the mark is the request's own revocation's; checks
// and tombstones the old record; writes the new one with its index, l and
// r entries; and, while r holds more lineages than the bound, ends the
// least recently used lineage last used before the request began (ZRANGE
// BYSCORE with LIMIT 0 1 at the low end of r), every record of it, with
// the bound's reason. It reads the lineages it ends and nothing else of
// the user's: a sign-in at the bound costs a few commands more than one
// within it, whatever the number of the user's sessions. A sign-in that
// began before a concurrent one reached Redis never ends it (its last use
// is after the earlier one's start), so two sign-ins at once, at a bound
// of one, leave the user both sessions rather than none. A user's first
// session costs the fewest commands: one EXISTS over the new key, the
// mark and the user's three index keys tells the script that there is no
// mark to read, no key to clear and no index to extend.
//
// In the sharded layout the sign-in is ordered steps, like a rotation:
//
//  1. In the user's slot, one script checks the mark and refuses if a
//     revocation selected the old record, then lists the new record (its
//     index, r and g entries, its lineage scored an hour ahead, so that
//     no other sign-in's bound ends it before its record exists), and
//     answers the user's lineage count and the request's start on Redis's
//     clock. The new key's fields are read
//     in the same pipeline, so that a taken key fails here. From this
//     step on, a revocation selects the new record.
//  2. In one pipeline, the old record is retired, the new one written
//     (refused if a revocation selected it meanwhile), and its lineage's
//     last use set to Redis's clock. If the old record
//     cannot be retired, the new record, whose token no client has, is
//     ended and its entry taken back.
//  3. Only past the bound: in the user's slot, one script picks the
//     lineages to end as the single-slot script does, marks their entries
//     as a revocation's selection does (none of them can be rotated from
//     then on), and takes them out of r and g; then their records are
//     tombstoned, each in its slot, in one pipeline.
//
// A failure between the steps of 3 leaves the selected records readable
// until the next ListUser or revocation of the user tombstones them, as
// after an interrupted sharded revocation.
//
// # Bounded work
//
// No script's work grows with the store. Get and Update touch one record.
// [Store.ListUser] walks the user's index with ZSCAN, one batch of about a
// hundred entries (listBatch) per script, so that a very large index costs
// more round trips, never one long script; a hundred sessions, the session
// layer's default bound per user, are one batch. The listing is not a
// snapshot across batches. RevokeUser and RevokeLineage read the whole of
// the user's index in one script, which they need to be atomic: their work
// is proportional to the user's entries, which the session layer's bound
// keeps small (about one entry per session, plus the renewals not yet
// pruned). A write that adds an index entry also removes at most 64
// entries whose score has passed.
//
// # Round trips
//
// Counted by TestRoundTrips with a go-redis hook (a pipeline counts once:
// a ClusterClient sends it to the nodes in parallel):
//
//	                            single-slot   sharded
//	Get                              1            1
//	Create, anonymous                1            1
//	Create, signed in                1            2
//	Update                           1            1
//	Rotate                           1            2
//	Delete                           1            1
//	ListUser, per batch              1           2-3 (3 when it prunes)
//	RevokeUser, RevokeLineage        1            2
//	SignIn                           1            2
//	SignIn, past the bound           1            4
//
// A store from [Open] adds one round trip per RollbackCheckInterval (two
// seconds by default) and per instance, from a goroutine, never on a
// request; and each write that ends sessions (Delete, Rotate, RevokeUser,
// RevokeLineage) carries one more command, an INCR, in its own pipeline.
// The single-slot SignIn makes its INCR inside its script, and only when
// it ended a session (the one it replaces, or one past the bound): a
// user's first sign-in makes none.
//
// A request that only reads its session costs one round trip; one that
// writes, two (Get, Update). A sign-in is one SignIn (no cookie), or a Get
// and a SignIn (from an anonymous session): the same round trips at the
// bound as within it, since the bound is kept inside the sign-in's script
// (sharded: two more past the bound). A sign-out of a signed-in session
// revokes its lineage. A SignIn that replaces an old record or bounds the
// user counts as a write that ends sessions (the INCR above, and
// Options.WaitReplicas).
// An Update that moves a record to another user or past the deadline it is
// indexed under costs three when sharded; the session layer never makes
// one. After Redis restarts or fails over, each script costs one more
// round trip once per server (EVALSHA, then EVAL, which caches it again).
//
// Reads always run on a primary. A *redis.Client (one server, or
// Sentinel's current primary through NewFailoverClient) sends every command
// there, so Get is a plain HMGET. (A failover client made with
// FailoverOptions.ReplicaOnly talks to a replica only, where every write of
// the store fails: do not give it one.) On a ClusterClient or a Ring, reads are
// scripts, which go to primaries: a client set to read from replicas
// (ReadOnly, RouteByLatency, RouteRandomly) would otherwise serve a
// session a moment after it was signed out.
//
// # Expiry
//
// The record key expires at the record's Expires (PEXPIREAT), moved by
// every Update, so Redis forgets an idle or finished session by itself.
// [Store.Get] answers [store.ErrNotFound] for it then, and a
// [*store.GoneError] with [store.ReasonExpired] in the moment between the
// application's clock passing Expires and Redis dropping the key. A
// tombstone expires at the dead record's Expires, never sooner than
// Options.TombstoneTTL from its creation and, for a reason above
// [store.ReasonExpired] (a sign-out, a revocation), never sooner than
// [store.ReasonTTL]. A user index and its lineage hash expire with the
// latest score in them. Scoring by max(Deadline, Expires) rather than by
// Expires lets idle refreshes leave the index alone: the index needs a
// write only when a record joins it.
//
// The application's clock decides: every script is given the current time
// and treats a record whose e has passed as absent, and Get does the same,
// so a record is never returned after its Expires even before Redis has
// dropped it. Keep the clocks of the application servers and of Redis in
// step (NTP): a Redis clock far ahead ends sessions and tombstones early.
//
// # Pruning the index
//
// An entry can outlive its record: the record expired while idle, was
// signed out, renewed, or moved to another user. ListUser never returns
// such entries and removes what it can prove dead. In the single-slot
// layout, the records are read and the dead entries removed in one atomic
// script. In the sharded layout, only entries of tombstoned or expired
// records are removed: a missing record may be a Create whose index entry
// was written first and whose record is on its way, and an entry under the
// wrong user may be an Update in progress, so those stay until their score
// passes. Either way the index of a user holds at most the sessions started
// within one absolute timeout.
//
// # Failures
//
// Every failure of Redis or of the context is returned wrapped, with the
// operation named; the session layer then answers the request through
// Config.ErrorHandler (503 by default) and raises EventStoreError: a
// request is never served as anonymous because Redis could not say
// (invariant I9). Set the client's DialTimeout, ReadTimeout, WriteTimeout
// and PoolTimeout to what a request may wait, and consider DialerRetries
// and MaxRetries: their defaults retry for a while before giving up.
//
// go-redis resends a command whose connection failed (MaxRetries), so a
// write whose reply was lost may run twice. The scripts are conditional, so
// the second run changes nothing and answers as the contract says for the
// state the first run left: store.ErrExists for a Create, ErrConflict
// for an Update, ErrGone for a Rotate (ErrConflict for one with a grace
// time). The session layer recognises a Create or Rotate whose new record
// is there all the same (its key comes from a fresh 256-bit token, so it
// can only be that request's) and carries on as if the write had answered
// (never after ErrNotReplicated, see Failover); a retried Update of the
// idle deadline is a harmless conflict. MaxRetries set to -1 avoids the second run altogether, at the
// price of failing the first request on a connection Redis has dropped.
//
// # Failover
//
// Redis replication is asynchronous: a primary that fails over can lose
// its last writes, including a tombstone, which brings a signed-out
// session back. A store from [Open] notices the promoted replica and
// ends every session written before it (see "Redis going back in time";
// TestI14FailoverWithoutWaitEndsSessions shows it with a real Sentinel):
// safe, but everyone signs in again. Options.WaitReplicas avoids that for the writes that end
// sessions: a logout, a revocation (and so the session limit and reuse
// detection, which revoke), and a rotation's tombstone or forwarder are
// each followed by WAIT on the same connection, in the same pipeline, and
// fail with [ErrNotReplicated] unless that many replicas acknowledged them
// within Options.WaitTimeout; the session layer then fails the request
// closed, so a user is never told "signed out" about a sign-out a
// failover could undo. The cost is on those writes only: no extra client
// round trip, but the wait for the replicas' acknowledgement (a round
// trip between primary and replica, more when a replica lags). Sign-ins,
// value changes and idle refreshes never wait: a failover may lose one,
// which signs the user out or loses the change, never brings a dead
// session back. TestFailoverKeepsLogoutWithWait runs the failover with a
// primary, a replica held back with SIGSTOP and a Sentinel on loopback.
//
// A rotation that fails this way has been made on the primary, but
// ErrNotReplicated wraps store.ErrNotDurable, so the session layer does
// not take it for a write that landed: the sign-in or renewal fails closed
// (503), and no cookie is issued for a record a failover could lose. With an fsync'ed append-only file, sessions and tombstones
// survive a restart (TestSessionsSurviveRestart).
//
// # Checks at start-up
//
// Every session key has a TTL, and a user's index is an ordinary key: a
// Redis allowed to evict keys under memory pressure (any allkeys-* or
// volatile-* maxmemory-policy, common when Redis is also a cache) can drop
// a user's index while the sessions stay, and revoking that user's
// sessions (a password change, "sign out everywhere") then misses them,
// a stolen one included. [Open] reads maxmemory-policy with CONFIG GET on
// every primary (each master of a Cluster, each shard of a Ring, the
// primary behind Sentinel) and refuses anything but noeviction with an
// error wrapping [ErrUnsafeConfig] that names the server, the setting and
// the fix. A server that refuses CONFIG (managed services often rename
// it) is refused too, unless Options.InsecureSkipEvictionPolicyCheck says
// that you have checked the policy yourself (TestI14EvictionPolicy). A
// policy changed later cannot be refused: the rollback watch reads it at
// each check and logs an error when it becomes an evicting one
// (TestI14EvictionPolicyChangedLater).
//
// # Redis going back in time
//
// Redis can lose writes it acknowledged: restarted after a crash from its
// last snapshot (Debian's default configuration: save points, no
// append-only file), or failed over to a replica that had not received the
// last writes. Every sign-out and revocation made in the lost window comes
// back, and with it the sessions they ended. A store from [Open] watches
// for this (invariant I14) and fails closed:
//
//   - Redis keeps, beside the records, an epoch hash ({prefix}epoch) with
//     the run_id of the server whose data the store accepted and a floor,
//     a time by Redis's clock, and each store a counter of its own
//     ({prefix}w:ID) that each of its ending writes increments in the
//     same pipeline. Every record is stamped (w) with the time its lineage
//     was first written; a rotation keeps the stamp, so a rotation cannot
//     lift a session above the floor.
//   - Every Options.RollbackCheckInterval, each store reads the primary's
//     INFO (run_id, persistence, replication), appendfsync, the epoch and
//     its counter, in one round trip. The data went back in time when the
//     counter is below the ending writes the store saw acknowledged (this
//     instance witnessed the loss, whatever the configuration), or when
//     the run_id changed, no instance has accepted the new server, and
//     the instance checking did not watch the old one, unless the new
//     server is a restart with appendonly yes and appendfsync always or a
//     replica promoted while Options.WaitReplicas was set.
//   - Then the floor is raised to Redis's time, in Redis, and every live
//     record stamped below it is ended: [Store.Get] answers a
//     [*store.GoneError] with [store.ReasonRolledBack] (the session layer
//     treats the cookie as a dead token and raises an event), ListUser
//     leaves it out, and the store logs the rollback (Options.Logger). An
//     instance started later reads the floor at Open.
//
// The cost is a mass sign-out: after such a crash or failover every user
// signs in again, since any session could have been signed out in the
// lost window. It is what fail closed means here; to avoid it, run Redis
// with appendonly yes and appendfsync always (each write on disk before
// it is acknowledged; a restart then loses nothing and signs nobody out),
// and, with replicas, set Options.WaitReplicas. A clean restart
// (SHUTDOWN, which saves everything) signs nobody out when a running
// instance watched it and finds every ending write it saw; but a store
// that starts after a restart it did not watch cannot tell a clean
// restart from a crash without those settings, and fails closed
// (TestI14Rollback shows each case with a real redis-server).
//
// What the watch does not cover: a rollback is acted on within one
// interval (a signed-out cookie brought back by it can be used until
// then); an ending write whose instance died with Redis, while another
// instance that saw nothing lost vouched for the restart, is not seen;
// a store from [New] neither watches nor honours the floor. On a Cluster
// or Ring without a hash tag in the prefix, the epoch cannot sit beside
// the records, so Open requires appendonly yes and appendfsync always on
// every primary instead, or Options.InsecureSkipRollbackCheck.
package redisstore
