package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/store"
)

// The rollback watch (I14). Redis can go back in time: restarted from its
// last snapshot after a crash, or failed over to a replica that missed the
// last writes, it brings back every session signed out or revoked since.
// The watch keeps, beside the records, an epoch hash ({prefix}epoch):
//
//	run    the run_id of the server whose data the store has accepted
//	floor  a time on the server's clock, in Unix ms: a live record whose
//	       stamp w (set by the server when the record was created, and
//	       carried over by a rotation) is below it is ended
//
// and one counter per watched store ({prefix}w:ID, ID random per Open),
// which the store's ending writes (logouts, revocations, rotations) bump,
// in the same pipeline, right after their script: no extra round trip.
// Only that store bumps it, so it must hold at least the number of bumps
// the store saw acknowledged. Each watched store checks the server every
// interval (one round trip) and remembers the run it saw. The data went
// back in time when:
//
//   - the store's counter is below its acknowledged bumps: this process is
//     a witness of a lost write, whatever the persistence;
//   - the run changed, nobody has accepted the new run yet, and this
//     process cannot vouch for it (it did not watch the old run), unless
//     the server persists every write before acknowledging it (AOF with
//     appendfsync always, and not a promoted replica) or it is a replica
//     promoted with Options.WaitReplicas covering every ending write.
//
// Then the floor is raised to the server's time: every record written
// before it, rolled back or not, is treated as ended. A witness that finds
// nothing lost accepts the new run, so a clean restart (SHUTDOWN saves
// everything) signs nobody out when a running instance watched it.

// epochKey is the epoch hash: {prefix}epoch, in the prefix's slot.
func (s *Store) epochKey() string { return s.prefix + "epoch" }

// A guard is a store's rollback watch.
type guard struct {
	s        *Store
	interval time.Duration
	log      *slog.Logger

	counter string       // this store's counter key
	floor   atomic.Int64 // the floor in force, server ms; 0 for none
	acked   atomic.Int64 // the bumps of the counter ending writes saw acknowledged

	mu     sync.Mutex // serialises checks; guards run and policy
	run    string     // the run_id this process last checked, "" before the first check
	policy string     // the maxmemory-policy last reported, "" for noeviction or unknown

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newGuard(s *Store, interval time.Duration, log *slog.Logger) *guard {
	return &guard{s: s, interval: interval, log: log, counter: s.prefix + "w:" + rand.Text(),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// counterTTL is how long a store's counter outlives its last check: long
// enough that a live store's counter never expires (which would read as a
// loss, and sign everyone out), short enough that the counters of stores
// gone for good do not pile up.
func (g *guard) counterTTL() time.Duration { return max(24*time.Hour, 100*g.interval) }

// start runs a check every interval until close.
func (g *guard) start() {
	go func() {
		defer close(g.done)
		t := time.NewTicker(g.interval)
		defer t.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), max(g.interval, 5*time.Second))
			if err := g.check(ctx); err != nil {
				g.log.Warn("redisstore: rollback check failed; will retry", "err", err)
			}
			cancel()
		}
	}()
}

func (g *guard) close() {
	g.closeOnce.Do(func() {
		close(g.stop)
		<-g.done
	})
}

// ended reports whether a live record stamped w (its "w" field; nil for a
// record written before stamps existed) is below the floor.
func (g *guard) ended(w any) bool {
	f := g.floor.Load()
	if f == 0 {
		return false
	}
	n, err := strconv.ParseInt(str(w), 10, 64)
	return err != nil || n < f
}

// acknowledged counts a bump of the counter an ending write saw
// acknowledged.
func (g *guard) acknowledged() { g.acked.Add(1) }

// raiseTo makes f the floor in force if it is above the current one.
func (g *guard) raiseTo(f int64) {
	for {
		cur := g.floor.Load()
		if f <= cur || g.floor.CompareAndSwap(cur, f) {
			return
		}
	}
}

// An observation is one check's reading of the primary and the epoch.
type observation struct {
	addr      string
	run       string // the server's run_id now
	nowMs     int64  // the server's clock
	startMs   int64  // when the server started, by its clock (to the second)
	promoted  bool   // a replica promoted during this run (second_repl_offset set)
	lossless  bool   // AOF with appendfsync always, and not promoted
	policy    string // maxmemory-policy, "" when CONFIG is refused
	exists    bool   // the epoch hash exists
	storedRun string
	floor     int64
	counter   int64 // this store's counter
}

// A verdict is what a check does about an observation.
type verdict int

const (
	keep   verdict = iota // nothing changed
	accept                // a new run whose data is whole: record it
	raise                 // the data went back in time: raise the floor
)

// judge decides what an observation means, given the run this process
// saw before and the bumps of its counter it saw acknowledged.
func (g *guard) judge(o observation, run string, acked int64) (verdict, string) {
	switch {
	case o.counter < acked:
		if run != o.run && o.floor >= o.startMs {
			return keep, "" // another instance raised the floor since the restart
		}
		return raise, fmt.Sprintf("%d of the ending writes (sign-outs, revocations, renewals) this instance saw acknowledged are lost", acked-o.counter)
	case run != "" && run != o.run:
		return accept, "the server changed (restart or failover) and every write this instance saw is there"
	case run != "":
		return keep, ""
	case !o.exists:
		return accept, "first use of this Redis by the store"
	case o.storedRun == o.run:
		return keep, ""
	case o.floor >= o.startMs:
		return accept, "another instance already raised the floor since the server started"
	case o.lossless:
		return accept, "the server restarted with appendonly yes and appendfsync always"
	case o.promoted && g.s.waitReplicas > 0:
		return accept, "a replica was promoted, and every ending write waited for Options.WaitReplicas replicas"
	}
	return raise, "the server restarted or failed over (its run_id changed) with persistence that can lose acknowledged writes, " +
		"and no running instance could vouch that nothing was lost"
}

// check reads the primary and the epoch, judges, and acts: one round trip,
// and one more when it accepts a new run or raises the floor.
func (g *guard) check(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	// Acknowledgements are read before the epoch: one that arrives after
	// the read may carry a q above it, and is no sign of a loss.
	acked := g.acked.Load()
	o, node, err := g.observe(ctx)
	if err != nil {
		return fmt.Errorf("redisstore: rollback check: %w", err)
	}
	v, why := g.judge(o, g.run, acked)
	floor := o.floor
	if v != keep {
		// A witness's evidence raises the floor whatever others did; an
		// instance without it raises only if nobody has acted on the new
		// run since it looked.
		if floor, err = g.update(ctx, node, o, v == raise, g.run != ""); err != nil {
			return fmt.Errorf("redisstore: rollback check: %w", err)
		}
	}
	switch {
	case v == raise && floor > o.floor:
		g.log.Error("redisstore: Redis went back in time; every session written before now is treated as ended",
			"server", o.addr, "run_id", o.run, "why", why, "floor", floor)
	case v == accept && o.exists && floor == o.floor:
		g.log.Info("redisstore: Redis changed and nothing was lost", "server", o.addr, "run_id", o.run, "why", why)
	case floor > g.floor.Load() && g.run != "":
		g.log.Error("redisstore: another instance found that Redis went back in time; every session written before the floor is treated as ended",
			"server", o.addr, "run_id", o.run, "floor", floor)
	}
	g.raiseTo(floor)
	g.checkPolicy(o)
	if o.counter < acked {
		// The lost bumps are covered by the floor: they are no evidence
		// against the data from now on. Bumps acknowledged since the read
		// stay counted.
		g.acked.Add(o.counter - acked)
	}
	g.run = o.run
	return nil
}

// checkPolicy reports, once per change, a primary whose eviction policy
// was changed after Open to one that can evict session keys: Open refused
// such a server, but cannot refuse it now.
func (g *guard) checkPolicy(o observation) {
	bad := o.policy
	if bad == "noeviction" {
		bad = ""
	}
	if bad != "" && bad != g.policy {
		g.log.Error("redisstore: Redis now has an evicting maxmemory-policy: it can drop a user's session index, "+
			"so that revoking the user's sessions misses some; set maxmemory-policy noeviction", "server", o.addr, "maxmemory-policy", bad)
	}
	g.policy = bad
}

// primary returns a client of the server holding the epoch key.
func (g *guard) primary(ctx context.Context) (*redis.Client, error) {
	switch c := g.s.client.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, g.s.epochKey())
	}
	return nil, fmt.Errorf("no rollback watch for a %T", g.s.client)
}

// observe reads, in one pipeline, the primary's INFO, its appendfsync
// (unknown, and so not lossless, where CONFIG is refused), its clock and
// the epoch hash.
func (g *guard) observe(ctx context.Context) (observation, *redis.Client, error) {
	node, err := g.primary(ctx)
	if err != nil {
		return observation{}, nil, err
	}
	var info *redis.StringCmd
	var fsync, policy *redis.MapStringStringCmd
	var epoch *redis.SliceCmd
	var tm *redis.TimeCmd
	var counter *redis.StringCmd
	var ttl *redis.BoolCmd
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		info = p.Info(ctx, "server", "persistence", "replication")
		fsync = p.ConfigGet(ctx, "appendfsync")
		policy = p.ConfigGet(ctx, "maxmemory-policy")
		epoch = p.HMGet(ctx, g.s.epochKey(), "run", "floor")
		counter = p.Get(ctx, g.counter)
		ttl = p.PExpire(ctx, g.counter, g.counterTTL())
		tm = p.Time(ctx)
		return nil
	})
	o := observation{addr: node.Options().Addr}
	if counter.Err() == redis.Nil {
		counter.SetErr(nil)
	}
	for _, err := range []error{info.Err(), epoch.Err(), counter.Err(), ttl.Err(), tm.Err()} {
		if err != nil {
			return o, nil, err
		}
	}
	fields := parseInfo(info.Val())
	now := tm.Val()
	o.run, o.nowMs = fields["run_id"], now.UnixMilli()
	if o.run == "" {
		return o, nil, fmt.Errorf("%s: INFO gave no run_id", o.addr)
	}
	up, _ := strconv.ParseInt(fields["uptime_in_seconds"], 10, 64)
	o.startMs = now.Add(-time.Duration(up+1) * time.Second).UnixMilli()
	o.promoted = fields["second_repl_offset"] != "" && fields["second_repl_offset"] != "-1"
	o.lossless = fields["aof_enabled"] == "1" && fsync.Err() == nil && fsync.Val()["appendfsync"] == "always" && !o.promoted
	if policy.Err() == nil {
		o.policy = policy.Val()["maxmemory-policy"]
	}
	e := epoch.Val()
	o.storedRun = str(e[0])
	o.floor, _ = strconv.ParseInt(str(e[1]), 10, 64)
	o.exists = e[0] != nil || e[1] != nil
	if v := counter.Val(); v != "" {
		if o.counter, err = strconv.ParseInt(v, 10, 64); err != nil {
			return o, nil, fmt.Errorf("%s: counter %s: %w", o.addr, g.counter, err)
		}
	}
	return o, node, nil
}

// update records o's run in the epoch hash, if it still holds the run o
// read (another instance may have acted meanwhile), and, with raise, sets
// the floor to the server's time, even if another instance has acted when
// force is set; it returns the floor in force.
func (g *guard) update(ctx context.Context, node *redis.Client, o observation, raise, force bool) (int64, error) {
	mode := "accept"
	switch {
	case raise && force:
		mode = "force"
	case raise:
		mode = "raise"
	}
	f, err := epochScript.Run(ctx, node, []string{g.s.epochKey()}, mode, o.storedRun, o.run).Int64()
	if err != nil {
		return 0, err
	}
	return f, nil
}

// epochScript updates the epoch hash. "accept" sets run to ARGV[3] if it
// is still ARGV[2]; "raise" does the same and moves the floor up to the
// server's time plus one millisecond, so that every record stamped until
// now is below it; "force" raises whatever run holds. It returns the
// floor.
//
//	KEYS: epoch
//	ARGV: mode, expected run, new run
var epochScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'run') or ''
local floor = tonumber(redis.call('HGET', KEYS[1], 'floor') or '0') or 0
if ARGV[1] == 'force' or (ARGV[1] == 'raise' and cur == ARGV[2]) then
  local t = redis.call('TIME')
  local f = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + 1
  if f > floor then floor = f end
  redis.call('HSET', KEYS[1], 'run', ARGV[3], 'floor', string.format('%d', floor))
elseif cur == ARGV[2] then
  redis.call('HSET', KEYS[1], 'run', ARGV[3])
end
return floor
`)

// parseInfo reads the "field:value" lines of an INFO reply.
func parseInfo(info string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// rolledBack is the error Get returns for a live record below the floor.
func rolledBack() error { return store.Gone(store.ReasonRolledBack) }
