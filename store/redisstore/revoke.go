package redisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// errBadReply is returned (wrapped) when a script answers in a shape it
// never produces.
var errBadReply = errors.New("redisstore: unexpected reply from a script")

// RevokeUser tombstones with reason every record of userID whose lineage
// is not keepLineage ("" keeps none), and writes the user's revocation
// mark in the same step: the server's clock (TIME, in microseconds), kept
// an hour ([store.MarkTTL]) in {prefix}m:{…} beside the user's index. It
// returns how many live records it ended, the mark and the prior mark. In
// the single-slot layout it is one atomic script and one round trip; in
// the sharded layout it is the two steps of the package documentation
// (see "Revocation on a sharded cluster"), two round trips, the mark
// written in the first. Its work is proportional to the number of entries
// in the user's index, which the session layer bounds (a hundred
// sessions per user by default).
func (s *Store) RevokeUser(ctx context.Context, userID, keepLineage string, reason store.Reason) (store.Revocation, error) {
	return s.revoke(ctx, "revoke user", userID, "keep", keepLineage, reason)
}

// RevokeLineage tombstones with reason every record of userID whose
// lineage is lineage, as [Store.RevokeUser] does but without a mark, and
// returns how many live records it ended.
func (s *Store) RevokeLineage(ctx context.Context, userID, lineage string, reason store.Reason) (int, error) {
	rev, err := s.revoke(ctx, "revoke lineage", userID, "only", lineage, reason)
	return rev.Ended, err
}

// revocation reads the mark and prior a revocation script answered, in
// microseconds ("" for none).
func revocation(n int, mark, prior string) (store.Revocation, error) {
	rev := store.Revocation{Ended: n}
	for _, f := range []struct {
		v string
		t *time.Time
	}{{mark, &rev.Mark}, {prior, &rev.Prior}} {
		if f.v == "" {
			continue
		}
		us, err := strconv.ParseInt(f.v, 10, 64)
		if err != nil {
			return store.Revocation{}, errBadReply
		}
		*f.t = time.UnixMicro(us)
	}
	return rev, nil
}

func (s *Store) revoke(ctx context.Context, op, userID, mode, lineage string, reason store.Reason) (store.Revocation, error) {
	if userID == "" {
		return store.Revocation{}, nil
	}
	now := time.Now()
	index, lineages, mark := s.indexKey(userID), s.lineagesKey(userID), s.markKey(userID)
	if !s.sharded {
		r, err := s.evalEnding(ctx, revokeScript, []string{index, lineages, mark},
			ms(now), s.prefix, mode, lineage, int(reason), s.floor(reason, now)).Slice()
		if err != nil {
			return store.Revocation{}, s.fail(op, err)
		}
		if len(r) != 3 {
			return store.Revocation{}, s.fail(op, errBadReply)
		}
		n, _ := r[0].(int64)
		return revocation(int(n), str(r[1]), str(r[2]))
	}

	// Step one, in the index's slot: select and mark. From here on no
	// selected record can be rotated into a new one, and no sign-in that
	// began before it can register a record.
	reply, err := s.eval(ctx, selectScript, []string{index, lineages, mark}, ms(now), mode, lineage, int(reason)).StringSlice()
	if err != nil {
		return store.Revocation{}, s.fail(op, err)
	}
	if len(reply) < 2 || (len(reply)-2)%3 != 0 {
		return store.Revocation{}, s.fail(op, errBadReply)
	}
	rev, err := revocation(0, reply[0], reply[1])
	if err != nil {
		return store.Revocation{}, s.fail(op, err)
	}
	reply = reply[2:]
	if len(reply) == 0 {
		return rev, nil
	}
	// Step two: tombstone every selected record in its own slot, in one
	// pipeline. A key whose record is not written yet gets a tombstone
	// that makes its creation fail.
	calls := make([]*scriptCall, 0, len(reply)/3)
	for j := 0; j+2 < len(reply); j += 3 {
		if !validKey(reply[j]) {
			continue
		}
		_, r, _ := parseEntry("-" + reply[j+1])
		calls = append(calls, &scriptCall{script: endScript, keys: []string{s.recordKey(reply[j])},
			args: []any{ms(now), reply[j+1], s.floor(r, now), reply[j+2], index, reply[j]}})
	}
	s.evalAll(ctx, calls)
	selected := make(map[string]bool, len(calls))
	for _, c := range calls {
		selected[c.args[len(c.args)-1].(string)] = true
	}
	n := 0
	var errs []error
	for _, c := range calls {
		switch v, err := c.cmd.Result(); {
		case err != nil:
			errs = append(errs, err)
		case v == int64(1):
			n++
		case v == int64(0):
		default:
			// A record renewed since step one. If its new key was
			// selected, that record is the one counted.
			if next, ok := v.(string); !ok || !selected[next] {
				n++
			}
		}
	}
	if len(errs) > 0 {
		// The records not tombstoned stay selected: they can be neither
		// rotated nor listed, and the next ListUser or revocation of the
		// user tombstones them.
		rev.Ended = n
		return rev, s.fail(op, errors.Join(errs...))
	}
	rev.Ended = n
	return rev, nil
}
