package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrUnsafeConfig is returned (wrapped) by [Open] when a Redis primary is
// configured in a way that could lose sessions' index entries or bring
// ended sessions back: an evicting maxmemory-policy, a configuration Open
// cannot read, or, on a layout the rollback watch cannot cover, a
// persistence that can lose acknowledged writes. The error names the
// server, the setting and how to fix it.
var ErrUnsafeConfig = errors.New("redisstore: unsafe Redis configuration")

// Open returns a store as [New] does, after checking the server, and
// watches it for as long as the store is open:
//
//   - Every primary (each master of a Cluster, each shard of a Ring, the
//     current primary behind Sentinel) must run with maxmemory-policy
//     noeviction; any other policy, or a server that refuses CONFIG GET,
//     fails Open with an error wrapping [ErrUnsafeConfig], unless
//     opts.InsecureSkipEvictionPolicyCheck is set.
//   - Unless opts.InsecureSkipRollbackCheck is set, the store watches for
//     a Redis that went back in time (see the package documentation): a
//     first check runs before Open returns, then one every
//     opts.RollbackCheckInterval, until [Store.Close]. On a layout the
//     watch cannot cover (a ClusterClient or Ring without a hash tag in
//     Prefix), Open requires appendonly yes and appendfsync always on
//     every primary instead.
//
// Open fails, without starting anything, on an invalid option, when Redis
// cannot be reached, or when a check refuses the server. Close the store
// when done; it does not close client.
func Open(ctx context.Context, client redis.UniversalClient, opts Options) (*Store, error) {
	if opts.RollbackCheckInterval < 0 {
		return nil, fmt.Errorf("redisstore: Options.RollbackCheckInterval must not be negative, got %v", opts.RollbackCheckInterval)
	}
	s, err := newStore(client, opts)
	if err != nil {
		return nil, err
	}
	if !opts.InsecureSkipEvictionPolicyCheck {
		if err := s.eachPrimary(ctx, checkEvictionPolicy); err != nil {
			return nil, err
		}
	}
	if opts.InsecureSkipRollbackCheck {
		return s, nil
	}
	if !s.watchable() {
		if err := s.eachPrimary(ctx, checkLossless); err != nil {
			return nil, err
		}
		return s, nil
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	interval := opts.RollbackCheckInterval
	if interval == 0 {
		interval = DefaultRollbackCheckInterval
	}
	s.guard = newGuard(s, interval, logger)
	if err := s.guard.check(ctx); err != nil {
		return nil, err
	}
	s.guard.start()
	return s, nil
}

// Close stops the rollback watch Open started; it does not close the
// client. It is safe to call more than once, and on a store from New,
// where it does nothing. A closed store still serves calls, without the
// watch.
func (s *Store) Close() error {
	if s.guard != nil {
		s.guard.close()
	}
	return nil
}

// watchable reports whether the rollback watch can cover the layout: one
// server (or Sentinel's primary), or a Cluster whose every key shares the
// Prefix's hash tag, so that the epoch key lives beside the records on one
// primary and an ending write can bump it in the same pipeline.
func (s *Store) watchable() bool {
	switch s.client.(type) {
	case *redis.Client:
		return true
	case *redis.ClusterClient:
		return s.tagged
	}
	return false
}

// eachPrimary runs check on every primary: the client itself for a
// *redis.Client, every master of a Cluster, every shard of a Ring.
func (s *Store) eachPrimary(ctx context.Context, check func(context.Context, *redis.Client) error) error {
	switch c := s.client.(type) {
	case *redis.Client:
		return check(ctx, c)
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, check)
	case *redis.Ring:
		return c.ForEachShard(ctx, check)
	}
	return fmt.Errorf("redisstore: cannot check a client of type %T; use a *redis.Client, *redis.ClusterClient or *redis.Ring", s.client)
}

// configGet returns the value of one CONFIG GET parameter of c.
func configGet(ctx context.Context, c *redis.Client, name string) (string, error) {
	m, err := c.ConfigGet(ctx, name).Result()
	if err != nil {
		return "", err
	}
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("CONFIG GET %s returned nothing", name)
	}
	return v, nil
}

// checkEvictionPolicy refuses a primary whose maxmemory-policy is not
// noeviction. Every session key has a TTL, so every volatile-* policy can
// evict it as surely as an allkeys-* one; and the per-user index, evicted,
// leaves sessions no revocation can find.
func checkEvictionPolicy(ctx context.Context, c *redis.Client) error {
	addr := c.Options().Addr
	policy, err := configGet(ctx, c, "maxmemory-policy")
	switch {
	case err != nil && isRedisError(err):
		return fmt.Errorf("%w: Redis at %s refuses CONFIG GET maxmemory-policy (%v), so Open cannot check that it never evicts session keys; "+
			"if your provider hides CONFIG, make sure maxmemory-policy is noeviction and set Options.InsecureSkipEvictionPolicyCheck",
			ErrUnsafeConfig, addr, err)
	case err != nil:
		return fmt.Errorf("redisstore: checking maxmemory-policy of %s: %w", addr, err)
	case policy != "noeviction":
		return fmt.Errorf("%w: Redis at %s has maxmemory-policy %q, which can evict a user's session index under memory pressure, "+
			"so that revoking the user's sessions misses some; set maxmemory-policy noeviction "+
			"(CONFIG SET maxmemory-policy noeviction, and in redis.conf), and give the sessions a Redis, or a maxmemory, of their own if Redis is also a cache",
			ErrUnsafeConfig, addr, policy)
	}
	return nil
}

// checkLossless refuses a primary that can lose a write it acknowledged
// in a crash: anything but appendonly yes with appendfsync always.
func checkLossless(ctx context.Context, c *redis.Client) error {
	addr := c.Options().Addr
	var vals [2]string
	for i, name := range []string{"appendonly", "appendfsync"} {
		v, err := configGet(ctx, c, name)
		if err != nil {
			return fmt.Errorf("%w: Redis at %s: cannot read %s (%v); on a Cluster or Ring without a hash tag in Options.Prefix, "+
				"Open needs appendonly yes and appendfsync always, or Options.InsecureSkipRollbackCheck", ErrUnsafeConfig, addr, name, err)
		}
		vals[i] = v
	}
	if vals[0] != "yes" || vals[1] != "always" {
		return fmt.Errorf("%w: Redis at %s has appendonly %s, appendfsync %s: a crash can bring back sessions that were signed out; "+
			"on a Cluster or Ring without a hash tag in Options.Prefix the rollback watch cannot cover the store, so Open needs "+
			"appendonly yes and appendfsync always (or a hash tag in Prefix, or Options.InsecureSkipRollbackCheck)",
			ErrUnsafeConfig, addr, vals[0], vals[1])
	}
	return nil
}

// isRedisError reports whether err is an answer of the server (an error
// reply such as "ERR unknown command"), rather than a failure to reach it.
func isRedisError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !strings.HasPrefix(err.Error(), "redis: ")
}
