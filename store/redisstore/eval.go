package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// eval runs one script in one round trip: EVALSHA, then EVAL if the server
// does not hold the script (after a restart, a failover or SCRIPT FLUSH),
// which caches it again.
func (s *Store) eval(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	return script.Run(ctx, s.client, keys, args...)
}

// A scriptCall is one script of a pipeline and, after evalAll, its reply.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// evalAll runs calls in one pipeline: one round trip, which a
// ClusterClient sends to the nodes owning the keys in parallel. Each call's
// reply and error are in its cmd. The calls a server did not hold the
// script for (after a restart, a failover or SCRIPT FLUSH) are run again
// with EVAL, in one more pipeline, which caches the scripts again.
func (s *Store) evalAll(ctx context.Context, calls []*scriptCall) {
	// Pipelined's error is the first failed command's, which is also in
	// that command's cmd, where the caller looks.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	var again []*scriptCall
	for _, c := range calls {
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			again = append(again, c)
		}
	}
	if len(again) == 0 {
		return
	}
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range again {
			c.cmd = c.script.Eval(ctx, p, c.keys, c.args...)
		}
		return nil
	})
}
