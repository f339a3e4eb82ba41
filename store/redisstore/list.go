package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/sessionguard/sessionguard/session"
)

// ListUser returns the live records of userID from the user's index,
// never by scanning the keyspace: two round trips (the index's members,
// then their records). Entries whose records are dead are never returned,
// and are removed from the index as they are found:
//
//   - In the single-slot layout, one script reads the records and removes
//     every entry whose record is missing, tombstoned, expired or now
//     another user's, atomically, so a concurrent write cannot be undone.
//   - In the sharded layout the records are read in one pipeline and only
//     entries of tombstoned or expired records are removed (a third round
//     trip). A missing record, or one listed under another user, may be a
//     write in progress whose index entry came first; its entry stays
//     until its score (the record's deadline) passes.
//
// ListUser("") returns nothing: anonymous sessions belong to no one.
func (s *Store) ListUser(ctx context.Context, userID string) ([]*session.Record, error) {
	if userID == "" {
		return nil, nil
	}
	index := s.indexKey(userID)
	now := time.Now()
	members, err := s.eval(ctx, membersScript, []string{index}, ms(now)).StringSlice()
	if err != nil {
		return nil, s.fail("list", err)
	}
	// Entries that are not record keys cannot come from this store's
	// scripts; they are skipped (and dropped by the next prune).
	valid := members[:0]
	for _, m := range members {
		if validKey(m) {
			valid = append(valid, m)
		}
	}
	if len(valid) == 0 {
		return nil, nil
	}
	if s.sharded {
		return s.listSharded(ctx, userID, index, valid, now)
	}
	keys := make([]string, 0, 1+len(valid))
	args := make([]any, 0, 1+len(valid))
	keys = append(keys, index)
	args = append(args, ms(now))
	for _, m := range valid {
		keys = append(keys, s.recordKey(m))
		args = append(args, m)
	}
	reply, err := s.eval(ctx, listScript, keys, args...).Slice()
	if err != nil {
		return nil, s.fail("list", err)
	}
	recs := make([]*session.Record, 0, len(reply)/3)
	for j := 0; j+2 < len(reply); j += 3 {
		key, _ := reply[j].(string)
		rec, err := s.listed(key, userID, reply[j+1], reply[j+2], now)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// listSharded reads the records of members one script each, in one
// pipeline, and prunes the entries it can prove dead.
func (s *Store) listSharded(ctx context.Context, userID, index string, members []string, now time.Time) ([]*session.Record, error) {
	calls := make([]*scriptCall, len(members))
	for j, m := range members {
		calls[j] = &scriptCall{script: fieldsScript, keys: []string{s.recordKey(m)}, args: []any{"t", "v", "e", "i", "d"}}
	}
	s.evalAll(ctx, calls)
	var recs []*session.Record
	var prune []any
	nowMs := ms(now)
	for j, c := range calls {
		f, err := c.cmd.Slice()
		if err != nil {
			return nil, s.fail("list", err)
		}
		if len(f) != 5 {
			return nil, s.corrupt(members[j], "unexpected reply")
		}
		switch {
		case f[0] != nil: // tombstoned: dead for good
			prune = append(prune, members[j])
			continue
		case f[1] == nil: // missing: expired, or a Create in progress
			continue
		}
		exp, err := strconv.ParseInt(str(f[2]), 10, 64)
		if err != nil {
			return nil, s.corrupt(members[j], "bad expiry")
		}
		switch {
		case exp <= nowMs: // expired: no write can revive it
			prune = append(prune, members[j])
			continue
		case str(f[3]) != index: // another user's now, or a move in progress
			continue
		}
		rec, err := s.listed(members[j], userID, f[1], f[4], now)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			recs = append(recs, rec)
		}
	}
	if len(prune) > 0 {
		if err := s.client.ZRem(ctx, index, prune...).Err(); err != nil {
			return nil, s.fail("list: prune", err)
		}
	}
	return recs, nil
}

// listed decodes a record found through userID's index. A record that
// decodes to another user or key means the index and the records disagree
// in a way the scripts never produce: it is reported as corrupt rather
// than shown, or revoked, under the wrong user.
func (s *Store) listed(key, userID string, v, d any, now time.Time) (*session.Record, error) {
	if !validKey(key) {
		return nil, s.corrupt(key, "bad index reply")
	}
	rec, err := s.decode(key, v, d)
	if err != nil {
		return nil, err
	}
	if rec.UserID != userID {
		return nil, s.corrupt(key, "listed under another user")
	}
	if dead(rec.Expires, now) {
		return nil, nil
	}
	return rec, nil
}

// str returns a reply element as a string, "" for nil.
func str(v any) string {
	s, _ := v.(string)
	return s
}
