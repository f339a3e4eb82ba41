package redisstore

import (
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/store"
)

// Status codes the scripts return; [statusErr] maps them to the errors of
// package store. A tombstone's reason is added to stGone and stPreempted.
const (
	stOK        = 0
	stExists    = 1 // store.ErrExists
	stNotFound  = 3 // store.ErrNotFound
	stConflict  = 4 // store.ErrConflict
	stNeedIndex = 5 // sharded layout: add the index entry first, then retry

	stGone      = 256 // + reason: a tombstone holds the key (store.Gone)
	stPreempted = 512 // + reason: a revocation tombstoned the key before its record was written
	stRevoked   = 768 // + reason: the user's mark refuses the sign-in (store.RevokedSince)

	// A script that adds an index entry also answers the size of the
	// index after it, times countUnit, added to its status (stOK, or
	// registerScript's 0 or 1).
	countUnit = 1024
)

// splitCount separates a script's status from the index size it reports.
func splitCount(code int64) (status int64, count int) {
	if code < countUnit {
		return code, 0
	}
	return code % countUnit, int(code / countUnit)
}

// luaPrelude holds the helpers every script shares. A record is a hash:
//
//	v  version, decimal
//	d  the record, store.Record.MarshalBinary; its Version is v, or less
//	   than v when s is set
//	e  Expires, Unix milliseconds (rounded down)
//	i  the user index key the record is listed under, "" if anonymous
//	x  the score of the record in that index: max(Deadline, Expires), ms
//	s  set by a rotation with a grace time: the successor's key
//	g  with s: GraceUntil, Unix nanoseconds
//	w  when the record's lineage was first written, Unix ms by the
//	   server's clock (a rotation keeps it): the rollback watch ends a
//	   record whose w is below its floor
//
// s and g override what d holds, so that a rotation can turn a record into
// a forwarder without decoding it; the next Update writes a whole d again
// and drops them.
//
// A tombstone is a hash with t = 1, e (the dead record's Expires), r (the
// reason it ended), a (when it was written: every script's ARGV[1] is the
// time) and, when a revocation wrote it before the record existed, p = 1.
//
// A user index is two keys in one slot: a sorted set (the record keys,
// scored by max(Deadline, Expires)) and a hash from each record key to
// "LINEAGE|EXPIRES" (its lineage and the Expires it was created with) or,
// once a sharded revocation has selected it, "-REASON|EXPIRES". The same
// hash maps "g:LINEAGE" to the lineage's indexed record keys, ",KEY,KEY,"
// (record keys are hex, so no field of one kind is of the other); a
// lineage listed by an earlier version has its list in a hash of its own,
// g, which records_of still reads, and which the lineage leaves when it
// next gains a record.
//
// A record's times (Expires, scores) are the application's clock in Unix
// milliseconds, passed in ARGV, so that a script and [Store.Get] agree on
// whether a record is past its Expires. The server's clock (TIME) is read
// only for what every instance must compare on one clock: revocation
// marks, last uses and the rollback watch's stamp (w). Numbers that
// go back to Redis are passed through as the strings the client sent; Lua
// only compares them, so no float formatting can change a timestamp.
var luaPrelude = "local MARK_TTL = " + strconv.FormatInt(store.MarkTTL.Microseconds(), 10) + `
local function state(k, now)
  local f = redis.call('HMGET', k, 't', 'v', 'e', 'r', 'p', 'i', 'w', 'x', 's')
  if f[1] then return 'gone', f end
  if not f[2] then return 'none', f end
  if tonumber(f[3]) <= now then return 'none', f end
  return 'live', f
end

local function gone(f)
  return 256 + (tonumber(f[4]) or 0)
end

local function bury(k, e, reason, floor, pre)
  local keep = e
  if tonumber(e) < tonumber(floor) then keep = floor end
  redis.call('DEL', k)
  redis.call('HSET', k, 't', '1', 'e', e, 'r', reason, 'a', ARGV[1])
  if pre then redis.call('HSET', k, 'p', '1') end
  redis.call('PEXPIREAT', k, keep)
end

-- fresh checks that nothing but an expired record holds k, which it
-- removes, so that a record can be written there from scratch.
local function fresh(k, now)
  if redis.call('EXISTS', k) == 0 then return true end
  if state(k, now) ~= 'none' then return false end
  redis.call('DEL', k)
  return true
end

-- stamp is the server's clock in Unix ms: a new record's w, which the
-- rollback watch compares with its floor (rollback.go). A script that has
-- read the clock (clock, in µs) passes it, which saves a TIME.
local function stamp(us)
  if us then return string.format('%d', math.floor(us / 1000)) end
  local t = redis.call('TIME')
  return string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
end

-- put writes a record at a key fresh has cleared, stamped w: the stamp of
-- the record it replaces (a rotation keeps its lineage's age, so that a
-- rotation cannot lift a record above a rollback floor), or now.
local function put(k, d, e, i, x, w)
  redis.call('HSET', k, 'v', '1', 'd', d, 'e', e, 'i', i, 'x', x, 'w', w or stamp())
  redis.call('PEXPIREAT', k, e)
end

-- sib is the key beside the user index ik named by letter c: the
-- lineages by last use (r), the records of each lineage (g), the
-- revocation mark (m). They share the index's hash tag, so its slot.
local function sib(ik, c)
  return string.sub(ik, 1, #ik - 68) .. c .. string.sub(ik, -67)
end

-- clock is the server's clock in Unix microseconds: marks and last uses.
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function fmt(n) return string.format('%d', n) end

-- write_mark writes the user's revocation mark in hash mk: the server's
-- clock in microseconds, above the mark it replaces, with the reason,
-- kept MARK_TTL. It returns the mark and the prior mark ("" when none
-- younger than MARK_TTL).
local function write_mark(mk, reason)
  local now = clock()
  local raw = tonumber(redis.call('HGET', mk, 't') or '')
  local mark = now
  if raw and mark <= raw then mark = raw + 1 end
  local prior = ''
  if raw and raw > now - MARK_TTL then prior = fmt(raw) end
  redis.call('HSET', mk, 't', fmt(mark), 'r', reason)
  redis.call('PEXPIRE', mk, fmt(MARK_TTL / 1000))
  return fmt(mark), prior
end

-- revoked_since refuses (768 + reason, or 768) a sign-in whose request
-- began at start (server microseconds) if the user's mark in mk is at or
-- after it and is not own, or if own_prior is. used is the server's clock
-- (clock) as the script read it.
local function own_prior_since(own_prior, start)
  if own_prior ~= '' and tonumber(own_prior) >= start then return 768 end
  return nil
end

local function revoked_since(mk, start, own, own_prior, used)
  local f = redis.call('HMGET', mk, 't', 'r')
  local t = tonumber(f[1] or '')
  if t and t > used - MARK_TTL and t >= start and f[1] ~= own then
    return 768 + (tonumber(f[2]) or 0)
  end
  return own_prior_since(own_prior, start)
end

-- lineage_of reads a lineage entry's lineage; nil for one a sharded
-- revocation selected (its lineage already left the last-use index).
local function lineage_of(v)
  if not v or string.sub(v, 1, 1) == '-' then return nil end
  return string.match(v, '^([^|]*)')
end

-- records_of reads lineage lin's record list ",KEY,KEY,": the field
-- "g:LIN" of the lineages hash l beside index ik, or, for a lineage listed
-- before that field existed, the field LIN of the former hash g. It
-- returns the list (nil when none) and the hash and field holding it.
local function records_of(ik, lin)
  local lk, f = sib(ik, 'l'), 'g:' .. lin
  local v = redis.call('HGET', lk, f)
  if v then return v, lk, f end
  local gk = sib(ik, 'g')
  v = redis.call('HGET', gk, lin)
  if v then return v, gk, lin end
  return nil, lk, f
end

-- forget takes member out of its lineage's record list, and the lineage
-- out of r once no record of it is indexed.
local function forget(ik, lin, member)
  local v, h, f = records_of(ik, lin)
  if v then
    v = string.gsub(v, ',' .. member .. ',', ',', 1)
    if v ~= ',' then
      redis.call('HSET', h, f, v)
      return
    end
    redis.call('HDEL', h, f)
  end
  redis.call('ZREM', sib(ik, 'r'), lin)
end

local function unindex(ik, lk, members)
  if #members > 0 then
    local ents = redis.call('HMGET', lk, unpack(members))
    for j, m in ipairs(members) do
      local lin = lineage_of(ents[j])
      if lin then forget(ik, lin, m) end
    end
    redis.call('ZREM', ik, unpack(members))
    redis.call('HDEL', lk, unpack(members))
  end
end

-- touch records a use of lineage lin at used (server microseconds): only
-- of a lineage still indexed (a use never brings back an ended one).
local function touch(ik, lin, used)
  redis.call('ZADD', sib(ik, 'r'), 'XX', 'GT', fmt(used), lin)
end

-- expire_with keeps key k until at least at (Unix ms): the later of its
-- expiry and at, or at when it has none. One command when the guess is
-- right: new says k likely has no expiry yet (it was just made).
local function expire_with(k, at, new)
  local first, second = 'GT', 'NX'
  if new then first, second = 'NX', 'GT' end
  if redis.call('PEXPIREAT', k, at, first) == 0 then
    redis.call('PEXPIREAT', k, at, second)
  end
end

-- index_add lists member in index ik and lineages hash lk, its lineage
-- used at used (server µs; now if nil), and keeps the keys until score.
-- blank says the script found none of the user's index keys: they are
-- made here, with no count to read and nothing stale to prune.
local function index_add(ik, lk, member, score, lin, now, used, blank)
  local added = redis.call('ZADD', ik, 'GT', score, member)
  local l = lineage_of(lin)
  if l == member then
    -- The first record of its lineage (every sign-in's): the lineage is
    -- named after this key, which was free, so it lists no other record.
    redis.call('HSET', lk, member, lin, 'g:' .. l, ',' .. member .. ',')
  else
    redis.call('HSET', lk, member, lin)
    if l then
      local v, h, f = records_of(ik, l)
      v = v or ','
      if not string.find(v, ',' .. member .. ',', 1, true) then
        redis.call('HSET', lk, 'g:' .. l, v .. member .. ',')
      end
      -- A list found in the former hash g moves beside the others.
      if h ~= lk then redis.call('HDEL', h, f) end
    end
  end
  local n = 1
  if not blank then n = redis.call('ZCARD', ik) end
  -- A new index, whose one entry is this one: its keys are new too (or
  -- hold only what no indexed record needs), and have no expiry yet.
  local new = n == 1 and added == 1
  if l then
    local rk = sib(ik, 'r')
    redis.call('ZADD', rk, 'GT', fmt(used or clock()), l)
    expire_with(rk, score, new)
  end
  if new then
    redis.call('PEXPIREAT', ik, score)
    redis.call('PEXPIREAT', lk, score)
    return 1
  end
  for _, k in ipairs({ik, lk}) do expire_with(k, score) end
  local stale = redis.call('ZRANGEBYSCORE', ik, '-inf', now, 'LIMIT', 0, 64)
  unindex(ik, lk, stale)
  return n - #stale
end

local function dead_mark(v)
  if v and string.sub(v, 1, 1) == '-' then
    return tonumber(string.match(v, '^%-(%d+)')) or 0
  end
  return nil
end

-- preempted answers 256 + the reason if a sharded revocation selected
-- old (when not "") or member in lineages hash lk; otherwise nil and
-- member's entry (nil when not listed).
local function preempted(lk, old, member)
  if old ~= '' then
    local r = dead_mark(redis.call('HGET', lk, old))
    if r then return 256 + r end
  end
  local cur = redis.call('HGET', lk, member)
  local r = dead_mark(cur)
  if r then return 256 + r end
  return nil, cur
end
`

// createScript adds a record at version 1 unless the key holds a live
// record or a tombstone. A record already past its Expires is not written:
// it would be dead on arrival.
//
//	KEYS: record [, index, lineages]     (index only in the single-slot layout)
//	ARGV: now, d, e, i, x, member, lineage entry
//	With the index, a success answers its size times countUnit.
var createScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
if not fresh(KEYS[1], now) then
  local st, f = state(KEYS[1], now)
  if st == 'gone' and f[5] == '1' then return 512 + (tonumber(f[4]) or 0) end
  return 1
end
if tonumber(ARGV[3]) <= now then return 0 end
put(KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if #KEYS > 1 then
  return 1024 * index_add(KEYS[2], KEYS[3], ARGV[6], ARGV[5], ARGV[7], ARGV[1])
end
return 0
`)

// updateScript replaces a live record at the expected version. When the
// record joins an index it is not yet covered by (a new user, or a later
// deadline), the single-slot layout adds the entry in the same script; the
// sharded layout cannot reach the index key and answers stNeedIndex, so
// that the client adds the entry first and retries with indexed = "1":
// a record is never listed nowhere, even for a moment.
//
//	KEYS: record [, index, lineages]
//	ARGV: now, expected v, new v, d, e, i, x, member, indexed, lineage entry
var updateScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'gone' then return gone(f) end
if st == 'none' then return 3 end
if f[2] ~= ARGV[2] then return 4 end
local x = ARGV[7]
if ARGV[6] ~= '' then
  local cur = f[8]
  if f[6] == ARGV[6] and (tonumber(cur) or 0) >= tonumber(x) then
    x = cur
  elseif #KEYS > 1 then
    index_add(KEYS[2], KEYS[3], ARGV[8], x, ARGV[10], ARGV[1])
  elseif ARGV[9] ~= '1' then
    return 5
  end
end
-- A forwarder (s and g set by a rotation) becomes a record again.
if f[9] then redis.call('HDEL', KEYS[1], 's', 'g') end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'd', ARGV[4], 'e', ARGV[5], 'i', ARGV[6], 'x', x)
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
if #KEYS > 1 and ARGV[6] ~= '' then
  local lin = lineage_of(ARGV[10])
  if lin then touch(KEYS[2], lin, clock()) end
end
return 0
`)

// touchScript is the sharded Update's record of a use, in the index's
// slot, sent in the Update's pipeline: it moves the lineage up the
// last-use index if it is still there.
//
//	KEYS: index
//	ARGV: lineage
var touchScript = redis.NewScript(luaPrelude + `
touch(KEYS[1], ARGV[1], clock())
return 0
`)

// rotateScript is the single-slot rotation: it checks the old record and
// the new key, then tombstones the old record (or, given a grace time,
// makes it a forwarder) and creates the new one, all or nothing. A
// tombstoned old record leaves its index.
//
//	KEYS: old, new [, new index, new lineages]
//	ARGV: now, old v, tombstone floor, d, e, i, x, new member, old member,
//	      lineage entry, grace (Unix ns, "" for none), old v + 1
//	With the index, a success answers its size times countUnit.
var rotateScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'gone' then return gone(f) end
if st == 'none' then return 3 end
if f[2] ~= ARGV[2] then return 4 end
if not fresh(KEYS[2], now) then return 1 end
if ARGV[11] == '' then
  bury(KEYS[1], f[3], '1', ARGV[3])
  if #KEYS > 2 and f[6] == KEYS[3] then unindex(KEYS[3], KEYS[4], {ARGV[9]}) end
else
  redis.call('HSET', KEYS[1], 'v', ARGV[12], 's', ARGV[8], 'g', ARGV[11])
end
if tonumber(ARGV[5]) <= now then return 0 end
put(KEYS[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], f[7] or '0')
if #KEYS > 2 then
  return 1024 * index_add(KEYS[3], KEYS[4], ARGV[8], ARGV[7], ARGV[10], ARGV[1])
end
return 0
`)

// retireScript is the sharded rotation's step on the old record: if it is
// live at the expected version it is tombstoned with ReasonRenewed (the
// tombstone keeps the new key in n when both are in the same user index),
// or, given a grace time, made a forwarder to the new key.
//
//	KEYS: old
//	ARGV: now, old v, tombstone floor, grace (Unix ns, "" for none), new member, old v + 1, new index
var retireScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'gone' then return gone(f) end
if st == 'none' then return 3 end
if f[2] ~= ARGV[2] then return 4 end
if ARGV[4] == '' then
  bury(KEYS[1], f[3], '1', ARGV[3])
  if f[6] == ARGV[7] then redis.call('HSET', KEYS[1], 'n', ARGV[5]) end
else
  redis.call('HSET', KEYS[1], 'v', ARGV[6], 's', ARGV[5], 'g', ARGV[4])
end
return 0
`)

// registerScript is the sharded layout's index write, made in the index's
// slot before the record it lists is written. It refuses (stGone + the
// reason) when a revocation has selected the record being rotated away
// (old member) or the member itself; otherwise it adds or refreshes the
// entry and answers 1 if it added it, 0 if it was there, plus the index's
// size after it times countUnit.
//
//	KEYS: index, lineages
//	ARGV: now, member, score, lineage entry, old member ("" for none)
var registerScript = redis.NewScript(luaPrelude + `
local refused, cur = preempted(KEYS[2], ARGV[5], ARGV[2])
if refused then return refused end
local n = 1024 * index_add(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[1])
if cur then return n end
return n + 1
`)

// unregisterScript takes back an entry registerScript added for a rotation
// that then failed, unless a revocation has selected it meanwhile.
//
//	KEYS: index, lineages
//	ARGV: member
var unregisterScript = redis.NewScript(luaPrelude + `
if dead_mark(redis.call('HGET', KEYS[2], ARGV[1])) then return 0 end
unindex(KEYS[1], KEYS[2], {ARGV[1]})
return 0
`)

// deleteScript tombstones a record with a reason. A tombstone is left as
// it is; a record already past its Expires is removed without a tombstone
// unless the reason is above ReasonExpired, which is kept for the user.
// Given the record's key (the single-slot layout, where the user's keys
// share the record's slot), it also takes the record out of its user's
// index, and its lineage out of the lineages by last use if no other
// record of it is indexed.
//
//	KEYS: record
//	ARGV: now, reason, tombstone floor [, member]
var deleteScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'live' or (st == 'none' and f[2] and tonumber(ARGV[2]) > 2) then
  bury(KEYS[1], f[3], ARGV[2], ARGV[3])
  if ARGV[4] and ARGV[4] ~= '' and f[6] and f[6] ~= '' then
    unindex(f[6], sib(f[6], 'l'), {ARGV[4]})
  end
elseif st == 'none' and f[2] then
  redis.call('DEL', KEYS[1])
end
return 0
`)

// revokeScript is the single-slot revocation: in one atomic step it
// tombstones every live record listed in the index whose lineage is
// selected (mode "keep": every lineage but ARGV[4]; mode "only": lineage
// ARGV[4]), removes their entries, and returns how many live records it
// ended. It reads the lineage hash whole, with one command rather than one
// per entry. The record keys are derived from the prefix: the layout puts them
// in the index's slot.
//
// In mode "keep" (RevokeUser) it also writes the user's revocation mark,
// and answers {ended, mark, prior}; mode "only" answers {ended, "", ""}.
//
//	KEYS: index, lineages, mark
//	ARGV: now, prefix, mode, lineage, reason, tombstone floor
var revokeScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local entries = {}
local all = redis.call('HGETALL', KEYS[2])
for j = 1, #all, 2 do entries[all[j]] = all[j + 1] end
local n = 0
local drop = {}
for _, m in ipairs(members) do
  local v = entries[m]
  local lin = m
  if v then lin = string.match(v, '^([^|]*)') end
  local sel
  if ARGV[3] == 'keep' then sel = (lin ~= ARGV[4]) else sel = (lin == ARGV[4]) end
  if sel then
    local rk = ARGV[2] .. 's:{' .. m .. '}'
    local st, f = state(rk, now)
    if st == 'live' and f[6] == KEYS[1] then
      bury(rk, f[3], ARGV[5], ARGV[6])
      n = n + 1
    end
    if st ~= 'live' or f[6] == KEYS[1] then drop[#drop + 1] = m end
  end
end
unindex(KEYS[1], KEYS[2], drop)
if ARGV[3] ~= 'keep' then return {n, '', ''} end
local mark, prior = write_mark(KEYS[3], ARGV[5])
return {n, mark, prior}
`)

// selectScript is the sharded revocation's first step, in the index's
// slot: it marks every entry whose lineage is selected (as revokeScript)
// as revoked with the reason, and returns member, reason and creation
// Expires of those and of every entry an earlier revocation marked, for
// the client to tombstone. From this step on, registerScript refuses to
// rotate a selected record, so nothing can be made from it.
//
// The selected lineages leave the last-use index. In mode "keep"
// (RevokeUser) it also writes the user's revocation mark; the reply
// starts with the mark and the prior ("" and "" in mode "only").
//
//	KEYS: index, lineages, mark
//	ARGV: now, mode, lineage, reason
var selectScript = redis.NewScript(luaPrelude + `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local out = {'', ''}
if ARGV[2] == 'keep' then out[1], out[2] = write_mark(KEYS[3], ARGV[4]) end
for _, m in ipairs(members) do
  local v = redis.call('HGET', KEYS[2], m)
  local r = dead_mark(v)
  local exp = '0'
  if v then exp = string.match(v, '|(%d+)$') or '0' end
  if r then
    out[#out + 1] = m
    out[#out + 1] = tostring(r)
    out[#out + 1] = exp
  else
    local lin = m
    if v then lin = string.match(v, '^([^|]*)') end
    local sel
    if ARGV[2] == 'keep' then sel = (lin ~= ARGV[3]) else sel = (lin == ARGV[3]) end
    if sel then
      forget(KEYS[1], lin, m)
      redis.call('HSET', KEYS[2], m, '-' .. ARGV[4] .. '|' .. exp)
      out[#out + 1] = m
      out[#out + 1] = ARGV[4]
      out[#out + 1] = exp
    end
  end
end
return out
`)

// endScript is the sharded revocation's second step, one per selected
// record, in the record's slot. A live record of the index is tombstoned
// with the reason (1). A key with no record yet is tombstoned too, marked
// p, so that the rotation on its way cannot create it; it counts (1) if
// the record it stands for could still be alive. A record a renewal
// retired in the last minute answers the renewal's new key, and its
// tombstone takes the reason: if the new key was not selected, the
// renewal was refused because this revocation selected the old record,
// which was therefore live when selected, and the client counts it; if it
// was, the new record counts instead. Any other tombstone is left as it
// is (0).
//
//	KEYS: record
//	ARGV: now (the first step's), reason, tombstone floor, creation Expires, index
var endScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local st, f = state(KEYS[1], now)
if st == 'gone' then
  local g = redis.call('HMGET', KEYS[1], 'a', 'n')
  if f[4] == '1' and g[2] and tonumber(g[1]) and tonumber(g[1]) >= now - 60000 then
    bury(KEYS[1], f[3], ARGV[2], ARGV[3])
    return g[2]
  end
  return 0
end
if st == 'live' then
  if f[6] ~= ARGV[5] then return 0 end
  bury(KEYS[1], f[3], ARGV[2], ARGV[3])
  return 1
end
if f[2] then
  bury(KEYS[1], f[3], ARGV[2], ARGV[3])
  return 0
end
bury(KEYS[1], ARGV[4], ARGV[2], ARGV[3], true)
if tonumber(ARGV[4]) > now then return 1 end
return 0
`)

// On a ClusterClient or a Ring, reads go through scripts too, rather than
// plain HMGET and ZSCAN, so that they always run on a primary (a
// *redis.Client sends everything to its one server, so its Get is a plain
// HMGET): a client configured to read from replicas
// (ClusterOptions.ReadOnly, RouteByLatency, RouteRandomly) would otherwise
// serve a record that was just logged out or renewed, or miss a session
// that was just created and so leave it out of a listing, until the
// replica caught up.

// fieldsScript returns the hash fields named in ARGV.
//
//	KEYS: record
//	ARGV: field...
var fieldsScript = redis.NewScript(`return redis.call('HMGET', KEYS[1], unpack(ARGV))`)

// listScript is one batch of the single-slot listing: one ZSCAN step over
// the index, returning the next cursor, then member, v, d, s, g and w of
// every live record it met that is still listed under the index; the
// other entries it met are removed in the same atomic step, so that
// pruning can never race a write that lists the record again.
//
//	KEYS: index, lineages
//	ARGV: now, prefix, cursor, count
var listScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local r = redis.call('ZSCAN', KEYS[1], ARGV[3], 'COUNT', ARGV[4])
local out = {r[1]}
local drop = {}
local kv = r[2]
for j = 1, #kv, 2 do
  local m = kv[j]
  local keep = false
  if tonumber(kv[j + 1]) > now then
    local f = redis.call('HMGET', ARGV[2] .. 's:{' .. m .. '}', 't', 'v', 'e', 'i', 'd', 's', 'g', 'w')
    if (not f[1]) and f[2] and tonumber(f[3]) > now and f[4] == KEYS[1] then
      keep = true
      out[#out + 1] = m
      out[#out + 1] = f[2]
      out[#out + 1] = f[5]
      out[#out + 1] = f[6] or ''
      out[#out + 1] = f[7] or ''
      out[#out + 1] = f[8] or ''
    end
  end
  if not keep then drop[#drop + 1] = m end
end
unindex(KEYS[1], KEYS[2], drop)
return out
`)

// scanScript is one batch of the sharded listing: one ZSCAN step over the
// index, returning the next cursor, then member and lineage entry of every
// entry whose score has not passed. Entries whose score has passed are
// removed.
//
//	KEYS: index, lineages
//	ARGV: now, cursor, count
var scanScript = redis.NewScript(luaPrelude + `
local now = tonumber(ARGV[1])
local r = redis.call('ZSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[3])
local out = {r[1]}
local drop = {}
local kv = r[2]
for j = 1, #kv, 2 do
  if tonumber(kv[j + 1]) > now then
    out[#out + 1] = kv[j]
    out[#out + 1] = redis.call('HGET', KEYS[2], kv[j]) or ''
  else
    drop[#drop + 1] = kv[j]
  end
end
unindex(KEYS[1], KEYS[2], drop)
return out
`)

// pruneScript removes entries from an index.
//
//	KEYS: index, lineages
//	ARGV: member...
var pruneScript = redis.NewScript(luaPrelude + `
unindex(KEYS[1], KEYS[2], ARGV)
return 0
`)

// luaBound is the session bound of a sign-in, shared by both layouts'
// scripts: the user's lineages in r, least recently used first, last
// used before start (server microseconds), while there are more than
// limit. It reads only the lineages it ends (ZRANGE with a limit of one),
// never the user's other sessions. endfn ends one lineage and reports
// whether it was live; the lineage leaves r and its record list either
// way. It returns
// the number of lineages left and the ended ones.
const luaBound = `
local function bound(ik, limit, start, endfn)
  local rk = sib(ik, 'r')
  local n = redis.call('ZCARD', rk)
  local ended = {}
  while limit > 0 and n > limit do
    local c = redis.call('ZRANGE', rk, '-inf', '(' .. fmt(start), 'BYSCORE', 'LIMIT', 0, 1)
    if #c == 0 then break end
    local lin = c[1]
    local members = {}
    local v, h, f = records_of(ik, lin)
    for m in string.gmatch(v or '', '[^,]+') do
      members[#members + 1] = m
    end
    if endfn(lin, members) then ended[#ended + 1] = lin end
    redis.call('ZREM', rk, lin)
    redis.call('HDEL', h, f)
    n = n - 1
  end
  return n, ended
end
`

// signInScript is the single-slot sign-in (store.Store.SignIn), one
// atomic step: the user's mark against the request's start on the
// server's clock, the old record's check, the new record and its index
// entries (its lineage used now), the old record's tombstone, and the
// bound, which ends the least recently used lineages whole. A refusal
// answers a status; a success {0, lineages left, 1 if it bumped the
// rollback counter, ended lineage...}.
//
//	KEYS: new record, index, lineages, mark [, old record]
//	ARGV: now, d, e, i, x, member, lineage entry, back (Elapsed +
//	      SignInMargin, µs), own mark, own prior, old v, renewal floor,
//	      limit, limit reason, limit floor, prefix, old member, the
//	      rollback watch's counter ("" when not watched)
var signInScript = redis.NewScript(luaPrelude + luaBound + signInBody)

const signInBody = `
local now = tonumber(ARGV[1])
local used = clock()
local start = used - tonumber(ARGV[8])
-- One command answers the common case, a user with no sessions and no
-- recent revocation signing in: no mark to check, the new key free, and
-- an index to make from scratch.
local blank = redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[4], sib(KEYS[2], 'r')) == 0
local refused
if blank then
  refused = own_prior_since(ARGV[10], start)
else
  refused = revoked_since(KEYS[4], start, ARGV[9], ARGV[10], used)
end
if refused then return refused end
-- counted bumps the rollback watch's counter (ARGV[18], "" for none) in
-- the step that ends a session, and only then; it answers 1 if it did.
local ended_one = false
local function counted()
  if ended_one and ARGV[18] ~= '' then
    redis.call('INCR', ARGV[18])
    return 1
  end
  return 0
end
local f
if #KEYS > 4 then
  local st
  st, f = state(KEYS[5], now)
  if st == 'gone' then return gone(f) end
  if st == 'none' then return 3 end
  if f[2] ~= ARGV[11] then return 4 end
end
if not blank and not fresh(KEYS[1], now) then return 1 end
if #KEYS > 4 then
  bury(KEYS[5], f[3], '1', ARGV[12])
  ended_one = true
  if f[6] and f[6] ~= '' then unindex(f[6], sib(f[6], 'l'), {ARGV[17]}) end
end
if tonumber(ARGV[3]) <= now then return {0, 0, counted()} end
put(KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], stamp(used))
index_add(KEYS[2], KEYS[3], ARGV[6], ARGV[5], ARGV[7], ARGV[1], used, blank)
-- The user's first session: her one lineage, no bound to keep.
if blank and lineage_of(ARGV[7]) then return {0, 1, counted()} end
local n, ended = bound(KEYS[2], tonumber(ARGV[13]), start, function(lin, members)
  local live = false
  for _, m in ipairs(members) do
    local rk = ARGV[16] .. 's:{' .. m .. '}'
    local st, g = state(rk, now)
    if st == 'live' and g[6] == KEYS[2] then
      bury(rk, g[3], ARGV[14], ARGV[15])
      live = true
      ended_one = true
    end
  end
  unindex(KEYS[2], KEYS[3], members)
  return live
end)
local out = {0, n, counted()}
for _, l in ipairs(ended) do out[#out + 1] = l end
return out
`

// signInRegisterScript is the sharded sign-in's first step, in the
// index's slot: the user's mark against the request's start (as
// signInScript), a refusal if a revocation selected the old record, then
// the new record's index entries, its lineage used now. It answers a
// status, or {0, lineages in the index, the request's start (µs), 1 if
// it added the entry}.
//
//	KEYS: index, lineages, mark
//	ARGV: now, member ("" to check the marks only), score, lineage entry,
//	      old member ("" for none), back (µs), own mark, own prior
var signInRegisterScript = redis.NewScript(luaPrelude + `
local used = clock()
local refused = revoked_since(KEYS[3], used - tonumber(ARGV[6]), ARGV[7], ARGV[8], used)
if refused then return refused end
if ARGV[2] == '' then
  return {0, redis.call('ZCARD', sib(KEYS[1], 'r')), fmt(used - tonumber(ARGV[6])), 0}
end
local cur
refused, cur = preempted(KEYS[2], ARGV[5], ARGV[2])
if refused then return refused end
-- Used "an hour from now" until its record is written (settleScript):
-- no other sign-in's bound ends a lineage whose record is on its way.
index_add(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4], ARGV[1], used + MARK_TTL)
local added = 1
if cur then added = 0 end
return {0, redis.call('ZCARD', sib(KEYS[1], 'r')), fmt(used - tonumber(ARGV[6])), added}
`)

// settleScript is sent with the sharded sign-in's second step, in the
// same pipeline: the new lineage, registered as used in the future so
// that no bound ends it before its record exists, is used now.
//
//	KEYS: index
//	ARGV: lineage
var settleScript = redis.NewScript(luaPrelude + `
redis.call('ZADD', sib(KEYS[1], 'r'), 'XX', fmt(clock()), ARGV[1])
return 0
`)

// boundScript is the sharded sign-in's last step, in the index's slot,
// run when the first step found the user over the bound: it selects the
// lineages to end as signInScript's bound does, marks their entries as a
// revocation's selection does (so that none can be rotated any more), and
// answers {lineages left, then for each lineage: lineage, count, then
// member and creation Expires of each of its records}, for the client to
// tombstone them with endScript.
//
//	KEYS: index, lineages
//	ARGV: limit, start (µs, as the first step answered it), reason
var boundScript = redis.NewScript(luaPrelude + luaBound + `
local out = {0}
local n = bound(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), function(lin, members)
  out[#out + 1] = lin
  out[#out + 1] = #members
  for _, m in ipairs(members) do
    local v = redis.call('HGET', KEYS[2], m)
    out[#out + 1] = m
    out[#out + 1] = (v and string.match(v, '|(%d+)$')) or '0'
    if v and not dead_mark(v) then
      redis.call('HSET', KEYS[2], m, '-' .. ARGV[3] .. '|' .. out[#out])
    end
  end
  return false
end)
out[1] = n
return out
`)
