package redisstore

import "github.com/redis/go-redis/v9"

// Status codes the scripts return. They map to the sentinel errors of
// package session in [status.err].
const (
	stOK        = 0
	stExists    = 1 // session.ErrExists
	stGone      = 2 // session.ErrGone
	stNotFound  = 3 // session.ErrNotFound
	stConflict  = 4 // session.ErrConflict
	stNeedIndex = 5 // sharded layout: add the index entry first, then retry
)

// luaPrelude holds the helpers every script shares. A record is a hash:
//
//	v  version, decimal
//	d  the record, session.Record.MarshalBinary, its Version equal to v
//	e  Expires, Unix milliseconds (rounded down)
//	i  the user index key the record is listed under, "" if anonymous
//	x  the score of the record in that index: max(Deadline, Expires), ms
//
// A tombstone is a hash with t = 1 and e, the dead record's Expires.
//
// Every time is the application's clock in Unix milliseconds, passed in
// ARGV: scripts never read the server's clock, so a script and
// [Store.Get] agree on whether a record is past its Expires. Numbers that
// go back to Redis are passed through as the strings the client sent; Lua
// only compares them, so no float formatting can change a timestamp.
const luaPrelude = `
local function state(k, now)
  local f = redis.call('HMGET', k, 't', 'v', 'e', 'i', 'x')
  if f[1] then return 'gone', f end
  if not f[2] then return 'none', f end
  if tonumber(f[3]) <= now then return 'none', f end
  return 'live', f
end

local function bury(k, e, until_min)
  local keep = e
  if tonumber(e) < tonumber(until_min) then keep = until_min end
  redis.call('DEL', k)
  redis.call('HSET', k, 't', '1', 'e', e)
  redis.call('PEXPIREAT', k, keep)
end

local function put(k, v, d, e, i, x)
  redis.call('DEL', k)
  redis.call('HSET', k, 'v', v, 'd', d, 'e', e, 'i', i, 'x', x)
  redis.call('PEXPIREAT', k, e)
end

local function index_add(ik, member, score, now)
  redis.call('ZADD', ik, 'GT', score, member)
  redis.call('PEXPIREAT', ik, score, 'NX')
  redis.call('PEXPIREAT', ik, score, 'GT')
  redis.call('ZREMRANGEBYSCORE', ik, '-inf', now)
end
`

// createScript adds a record at version 1 unless the key holds a live
// record or a tombstone. A record already past its Expires is not written:
// it would be dead on arrival.
//
//	KEYS: record [, index]     (index only in the single-slot layout)
//	ARGV: now, d, e, i, x, member
var createScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
if state(KEYS[1], now) ~= 'none' then return 1 end
if tonumber(ARGV[3]) <= now then
  redis.call('DEL', KEYS[1])
  return 0
end
put(KEYS[1], '1', ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if #KEYS > 1 then index_add(KEYS[2], ARGV[6], ARGV[5], ARGV[1]) end
return 0
`)

// updateScript replaces a live record at the expected version. When the
// record joins an index it is not yet covered by (a new user, or a later
// deadline), the single-slot layout adds the entry in the same script; the
// sharded layout cannot reach the index key and answers stNeedIndex, so
// that the client adds the entry first and retries with indexed = "1":
// a record is never listed nowhere, even for a moment.
//
//	KEYS: record [, index]
//	ARGV: now, expected v, new v, d, e, i, x, member, indexed
var updateScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'gone' then return 2 end
if st == 'none' then return 3 end
if f[2] ~= ARGV[2] then return 4 end
local x = ARGV[7]
if ARGV[6] ~= '' then
  if f[4] == ARGV[6] and tonumber(f[5]) >= tonumber(x) then
    x = f[5]
  elseif #KEYS > 1 then
    index_add(KEYS[2], ARGV[8], x, ARGV[1])
  elseif ARGV[9] ~= '1' then
    return 5
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'd', ARGV[4], 'e', ARGV[5], 'i', ARGV[6], 'x', x)
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return 0
`)

// rotateScript is the single-slot rotation: it checks the old record and
// the new key, then tombstones the old record and creates the new one, all
// or nothing. When old and new share a user index, the old entry leaves it.
//
//	KEYS: old, new [, new index]
//	ARGV: now, old v, tombstone keep-until minimum, d, e, i, x, new member, old member
var rotateScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'gone' then return 2 end
if st == 'none' then return 3 end
if f[2] ~= ARGV[2] then return 4 end
if state(KEYS[2], now) ~= 'none' then return 1 end
bury(KEYS[1], f[3], ARGV[3])
if tonumber(ARGV[5]) <= now then
  redis.call('DEL', KEYS[2])
  return 0
end
put(KEYS[2], '1', ARGV[4], ARGV[5], ARGV[6], ARGV[7])
if #KEYS > 2 then
  index_add(KEYS[3], ARGV[8], ARGV[7], ARGV[1])
  if f[4] == KEYS[3] then redis.call('ZREM', KEYS[3], ARGV[9]) end
end
return 0
`)

// buryScript is the first step of the sharded rotation: it tombstones the
// old record if it is live at the expected version, and nothing else.
//
//	KEYS: old
//	ARGV: now, old v, tombstone keep-until minimum
var buryScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'gone' then return 2 end
if st == 'none' then return 3 end
if f[2] ~= ARGV[2] then return 4 end
bury(KEYS[1], f[3], ARGV[3])
return 0
`)

// deleteScript tombstones a live record. A tombstone is left as it is; a
// record already past its Expires is removed without a tombstone, since it
// could not be used again anyway.
//
//	KEYS: record
//	ARGV: now, tombstone keep-until minimum
var deleteScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'live' then
  bury(KEYS[1], f[3], ARGV[2])
elseif st == 'none' then
  redis.call('DEL', KEYS[1])
end
return 0
`)

// Reads go through scripts too, rather than plain HMGET and ZRANGEBYSCORE,
// so that they always run on a primary: a client configured to read from
// replicas (ClusterOptions.ReadOnly, RouteByLatency, RouteRandomly) would
// otherwise serve a record that was just logged out or renewed, or miss a
// session that was just created and so leave it out of a RevokeAll, until
// the replica caught up.

// fieldsScript returns the hash fields named in ARGV.
//
//	KEYS: record
//	ARGV: field...
var fieldsScript = redis.NewScript(`return redis.call('HMGET', KEYS[1], unpack(ARGV))`)

// membersScript returns the members of an index whose score is above now.
//
//	KEYS: index
//	ARGV: now
var membersScript = redis.NewScript(`return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')`)

// indexAddScript is the sharded layout's index write: it runs on the
// index's own slot before the record it lists is written.
//
//	KEYS: index
//	ARGV: member, score, now
var indexAddScript = redis.NewScript(luaPrelude + `
index_add(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 0
`)

// listScript is the single-slot listing: it returns member, v and d of
// every live record among KEYS[2:] that is still listed under KEYS[1], and
// removes the other entries from the index in the same atomic step, so
// that pruning can never race a write that lists the record again.
//
//	KEYS: index, record...
//	ARGV: now, member...
var listScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local out = {}
for j = 2, #KEYS do
  local f = redis.call('HMGET', KEYS[j], 't', 'v', 'e', 'i', 'd')
  if (not f[1]) and f[2] and tonumber(f[3]) > now and f[4] == KEYS[1] then
    out[#out + 1] = ARGV[j]
    out[#out + 1] = f[2]
    out[#out + 1] = f[5]
  else
    redis.call('ZREM', KEYS[1], ARGV[j])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return out
`)
