package redisstore

import (
	"context"
	"fmt"

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

// evalEnding runs a script that ends sessions (a tombstone, a forwarder)
// as eval does, followed, in the same pipeline on the same connection (one
// round trip):
//
//   - when the rollback watch is on, by INCR of the store's own counter,
//     which only this store bumps: the watch counts the bumps it saw
//     acknowledged, and a counter below that count proves a lost write;
//   - when Options.WaitReplicas is set, by WAIT, which returns once
//     enough replicas hold the write (and the q) or the wait timed out.
//
// The script's reply is in the returned cmd; a wait that fell short sets
// its error to one wrapping ErrNotReplicated (the write stands on the
// primary).
func (s *Store) evalEnding(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	return s.evalEndingWith(ctx, s.guard != nil, script, keys, args...)
}

// evalEndingWith is evalEnding, with the INCR only when bump is set: a
// script that bumps the counter itself, in the step that ends sessions
// (the single-slot sign-in), needs only the WAIT.
func (s *Store) evalEndingWith(ctx context.Context, bump bool, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	if s.waitReplicas == 0 && !bump {
		return s.eval(ctx, script, keys, args...)
	}
	var cmd, wait *redis.Cmd
	var incr *redis.IntCmd
	run := func(load bool) {
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			if load {
				cmd = script.Eval(ctx, p, keys, args...)
			} else {
				cmd = script.EvalSha(ctx, p, keys, args...)
			}
			if bump {
				incr = p.Incr(ctx, s.guard.counter)
			}
			if s.waitReplicas > 0 {
				wait = p.Do(ctx, "WAIT", s.waitReplicas, s.waitTimeout.Milliseconds())
			}
			return nil
		})
		if incr != nil && incr.Err() == nil {
			// Every bump that landed counts, that of a pipeline whose
			// script the server did not hold (NOSCRIPT) too: counting
			// fewer than landed would let a loss of as many go unseen.
			s.guard.acknowledged()
		}
	}
	run(false)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		run(true)
	}
	if cmd.Err() != nil {
		return cmd
	}
	if incr != nil {
		if err := incr.Err(); err != nil {
			// The write stands, but the watch could not count it: fail
			// the call, as a lost reply would.
			cmd.SetErr(fmt.Errorf("redisstore: counting an ending write: %w", err))
			return cmd
		}
	}
	if wait == nil {
		return cmd
	}
	n, err := wait.Int64()
	switch {
	case err != nil:
		cmd.SetErr(fmt.Errorf("%w: WAIT: %w", ErrNotReplicated, err))
	case n < int64(s.waitReplicas):
		cmd.SetErr(fmt.Errorf("%w: %d of %d replicas within %v", ErrNotReplicated, n, s.waitReplicas, s.waitTimeout))
	}
	return cmd
}
