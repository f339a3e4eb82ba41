// Package redisstore keeps sessions in Redis, for applications that run
// several instances behind a load balancer: a sign-in, sign-out or
// revocation on one instance is in force on every other at once.
//
// It implements [session.Store] on github.com/redis/go-redis/v9 and takes
// any redis.UniversalClient: a single server, Sentinel
// (redis.NewFailoverClient), Redis Cluster (redis.NewClusterClient) or a
// Ring. Conditional writes and renewals run server-side as Lua scripts, so
// no lost update and no resurrection depends on the application's locks;
// expiry is Redis's own (TTLs), so nothing needs sweeping and nothing runs
// in the background. It needs Redis 7.0 or later.
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	m, err := session.New(redisstore.New(client, redisstore.Options{}), session.Config{})
//
// # Key layout
//
// With the default prefix "sg:":
//
//	sg:s:{KEY}    one session: a hash, or its tombstone
//	sg:u:{USER}   one user's index: a sorted set
//
// KEY is [session.Record.Key], the hex SHA-256 of the token: Redis never
// holds a token, so a dump, a replica or a backup yields no usable cookie
// (invariant I4). A record hash has the fields
//
//	v  version, decimal
//	d  the record as session.Record.MarshalBinary encodes it (its Version is v)
//	e  Expires, in Unix milliseconds
//	i  the name of the user index the record is listed in ("" when anonymous)
//	x  the record's score in that index
//
// and a tombstone the fields t (always 1) and e (the dead record's
// Expires). The record's key and version are inside d as well, and [Store.Get]
// checks them against the key it read and v: a record copied to another
// key, or written around the scripts, is reported as [session.ErrCorrupt],
// which the Manager turns into a refused request, never an anonymous one.
//
// USER is the hex SHA-256 of the user ID, so user IDs (which may be e-mail
// addresses, or hold braces) never appear in key names. The index holds the
// record keys of the user's sessions, scored by the latest moment each may
// live, max(Deadline, Expires) in Unix milliseconds. [Store.ListUser],
// and through it Manager.UserSessions, Revoke, RevokeAll and RevokeOthers,
// read only that index and the records it names: the store never sends
// KEYS or SCAN.
//
// # Hash slots, and what is atomic where
//
// The braces are Redis Cluster hash tags: a record's slot is decided by its
// key alone, a user index's by the user alone. Sessions therefore spread
// over every shard of a cluster, but the two keys of a renewal, the old
// token's and the new one's, are in unrelated slots, and neither is the
// slot of the user's index. This cannot be helped by giving the keys of one
// user a common tag: [session.Store.Get] is asked for a key and nothing
// else (the cookie is all a request has), so the key alone must name the
// record, and the new key is the hash of a random token, whose slot nobody
// chooses.
//
// The store therefore has two layouts, chosen by [New]:
//
//   - Single-slot, for a *redis.Client (one server or Sentinel), or for any
//     client when Options.Prefix holds a hash tag ("sg{sessions}:"), which
//     puts every key of the store in that one slot. Every write is one
//     atomic script over all the keys it touches: Rotate tombstones the old
//     record, creates the new one and updates the user index in one step,
//     or fails having changed nothing. On a cluster, pinning the prefix
//     keeps this at the price of holding every session on one shard (and
//     its replicas): fine for most session volumes, and the simplest
//     reasoning.
//
//   - Sharded, for a *redis.ClusterClient or a *redis.Ring with an untagged
//     prefix. Every script touches exactly one key. Rotate is the ordered
//     two-step the Store contract allows: first the old record is
//     tombstoned, only if it is live at the expected version (and, in
//     parallel, the new record's entry is added to its user's index); then
//     the new record is created. A failure in between loses the new record
//     (the request fails, closed, and the user signs in again) but never
//     leaves the old one live beside it (I3). A record is only ever written
//     for a user after its index entry exists, so no signed-in session can
//     escape a RevokeAll, even if the application dies between two steps.
//
// A client that wraps a ClusterClient behind another type is taken for a
// single server; its multi-key scripts then fail with CROSSSLOT, closed.
// Pass the ClusterClient itself, or pin the prefix. Sentinel with
// RouteByLatency or RouteRandomly gives a ClusterClient
// (redis.NewFailoverClusterClient), hence the sharded layout, which is
// correct there too; pin the prefix to have single-slot scripts.
//
// # Round trips
//
// Measured by TestRoundTrips with a go-redis hook (a pipeline counts once:
// a ClusterClient sends it to the nodes in parallel):
//
//	                            single-slot   sharded
//	Get                              1            1
//	Create, anonymous                1            1
//	Create, signed in                1            2
//	Update                           1            1
//	Rotate (sign-in, renewal)        1            2
//	Delete                           1            1
//	ListUser                         2           2-3 (3 when it prunes)
//
// A request that only reads its session costs one round trip; one that
// writes, two (Get, Update); a sign-in from an anonymous session two on a
// single slot, three when sharded. An Update that moves a record to another
// user or past the deadline it is indexed under costs three when sharded;
// the Manager never makes one. After Redis restarts or fails over, each
// script costs one more round trip once per server (EVALSHA, then EVAL,
// which caches it again).
//
// Reads are scripts too, so that they always run on a primary: a client
// set to read from replicas (ReadOnly, RouteByLatency, RouteRandomly) would
// otherwise serve a session a moment after it was signed out.
//
// # Expiry
//
// The record key expires at the record's Expires (PEXPIREAT), moved by
// every Update, so Redis forgets an idle or finished session by itself. A
// tombstone expires at the dead record's Expires, and never sooner than
// Options.TombstoneTTL from its creation. A user index expires with the
// latest score in it; entries whose score has passed are trimmed whenever
// one is added. Scoring by max(Deadline, Expires) rather than by Expires
// lets idle refreshes leave the index alone: the index needs a write only
// when a record joins it.
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
// operation named; the [session.Manager] then answers the request through
// Config.ErrorHandler (503 by default) and raises EventStoreError: a
// request is never served as anonymous because Redis could not say
// (invariant I9). Set the client's DialTimeout, ReadTimeout, WriteTimeout
// and PoolTimeout to what a request may wait, and consider DialerRetries
// and MaxRetries: their defaults retry for a while before giving up.
//
// go-redis resends a command whose connection failed (MaxRetries), so a
// write whose reply was lost may run twice. The scripts are conditional, so
// the second run changes nothing and answers as the contract says for the
// state the first run left: session.ErrExists for a Create, ErrConflict
// for an Update, ErrGone for a Rotate. The Manager recognises a Create or
// Rotate whose new record is there all the same (its key comes from a fresh
// 256-bit token, so it can only be that request's) and carries on as if the
// write had answered; a retried Update of the idle deadline is a harmless
// conflict. MaxRetries set to -1 avoids the second run altogether, at the
// price of failing the first request on a connection Redis has dropped.
//
// Redis replication is asynchronous: a primary that fails over can lose
// its last writes, including a tombstone, which would bring a signed-out
// session back. Where that matters, run with appendfsync always and no
// automatic failover, or accept the window. With an fsync'ed append-only
// file, sessions and tombstones survive a restart (TestSessionsSurviveRestart).
package redisstore
