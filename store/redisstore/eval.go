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
// reply and error are in its cmd; the calls are independent, so a call the
// server did not hold the script for is run again on its own with EVAL.
func (s *Store) evalAll(ctx context.Context, calls []*scriptCall) {
	// Pipelined's error is the first failed command's, which is also in
	// that command's cmd, where the caller looks.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	for _, c := range calls {
		if redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			c.cmd = c.script.Eval(ctx, s.client, c.keys, c.args...)
		}
	}
}
