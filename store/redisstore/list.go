package redisstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// listBatch is the COUNT of each ZSCAN step of a listing: the most index
// entries one script of ListUser looks at (Redis may return a few more;
// an index small enough to be stored compactly, up to 128 entries with
// the default zset-max-listpack-entries, comes back whole in one step).
const listBatch = 128

// ListUser returns the live records of userID from the user's index,
// never by scanning the keyspace. It walks the index with ZSCAN, one
// bounded batch (about [listBatch] entries) per script, so that no single
// script runs over a large index:
//
//   - In the single-slot layout, each batch is one script and one round
//     trip: it reads the records of the entries it met and removes from
//     the index, in the same atomic step, every entry whose record is
//     missing, tombstoned, expired or now another user's, so a concurrent
//     write cannot be undone.
//   - In the sharded layout, each batch is two round trips: the entries,
//     then their records, read in one pipeline. Only entries of
//     tombstoned or expired records are removed (a third round trip). A
//     missing record, or one listed under another user, may be a write in
//     progress whose index entry came first; its entry stays until its
//     score (the record's deadline) passes. An entry a revocation selected
//     is never listed; if its record is still live (the revocation did
//     not finish), it is tombstoned now.
//
// An index of a hundred sessions, the session layer's default bound per
// user, is one batch. The listing is not a snapshot across batches: a
// record written while a large index is walked may or may not be listed.
// ListUser("") returns nothing: anonymous sessions belong to no one.
func (s *Store) ListUser(ctx context.Context, userID string) ([]*store.Record, error) {
	if userID == "" {
		return nil, nil
	}
	index, lineages := s.indexKey(userID), s.lineagesKey(userID)
	var recs []*store.Record
	seen := make(map[string]bool)
	cursor := "0"
	for {
		now := time.Now()
		var batch []*store.Record
		var err error
		if s.sharded {
			cursor, batch, err = s.scanSharded(ctx, userID, index, lineages, cursor, now)
		} else {
			cursor, batch, err = s.scanSingle(ctx, userID, index, lineages, cursor, now)
		}
		if err != nil {
			return nil, err
		}
		for _, rec := range batch {
			if !seen[rec.Key] { // ZSCAN may return an entry twice
				seen[rec.Key] = true
				recs = append(recs, rec)
			}
		}
		if cursor == "0" {
			return recs, nil
		}
	}
}

// scanSingle runs one batch of the single-slot listing.
func (s *Store) scanSingle(ctx context.Context, userID, index, lineages, cursor string, now time.Time) (string, []*store.Record, error) {
	reply, err := s.eval(ctx, listScript, []string{index, lineages}, ms(now), s.prefix, cursor, listBatch).Slice()
	if err != nil {
		return "", nil, s.fail("list", err)
	}
	if len(reply) < 1 || (len(reply)-1)%6 != 0 {
		return "", nil, s.fail("list", errBadReply)
	}
	next := str(reply[0])
	var recs []*store.Record
	for j := 1; j+5 < len(reply); j += 6 {
		if s.guard != nil && s.guard.ended(reply[j+5]) {
			continue // below the rollback floor: ended
		}
		rec, err := s.listed(str(reply[j]), userID, reply[j+1], reply[j+2], reply[j+3], reply[j+4], now)
		if err != nil {
			return "", nil, err
		}
		if rec != nil {
			recs = append(recs, rec)
		}
	}
	return next, recs, nil
}

// scanSharded runs one batch of the sharded listing: the entries, their
// records in one pipeline, and the pruning it can prove safe.
func (s *Store) scanSharded(ctx context.Context, userID, index, lineages, cursor string, now time.Time) (string, []*store.Record, error) {
	reply, err := s.eval(ctx, scanScript, []string{index, lineages}, ms(now), cursor, listBatch).StringSlice()
	if err != nil {
		return "", nil, s.fail("list", err)
	}
	if len(reply) < 1 || (len(reply)-1)%2 != 0 {
		return "", nil, s.fail("list", errBadReply)
	}
	next := reply[0]
	var members, entries []string
	for j := 1; j+1 < len(reply); j += 2 {
		// Entries that are not record keys cannot come from this store's
		// scripts; they are skipped.
		if validKey(reply[j]) {
			members = append(members, reply[j])
			entries = append(entries, reply[j+1])
		}
	}
	if len(members) == 0 {
		return next, nil, nil
	}
	calls := make([]*scriptCall, len(members))
	for j, m := range members {
		calls[j] = &scriptCall{script: fieldsScript, keys: []string{s.recordKey(m)}, args: []any{"t", "v", "e", "i", "d", "s", "g"}}
	}
	s.evalAll(ctx, calls)
	var recs []*store.Record
	var prune []any
	var heal []*scriptCall
	nowMs := ms(now)
	for j, c := range calls {
		f, err := c.cmd.Slice()
		if err != nil {
			return "", nil, s.fail("list", err)
		}
		if len(f) != 7 {
			return "", nil, s.corrupt(members[j], "unexpected reply")
		}
		revoked, reason, created := parseEntry(entries[j])
		if f[0] != nil { // tombstoned: dead for good
			prune = append(prune, members[j])
			continue
		}
		if f[1] == nil { // missing: expired, or a Create in progress
			continue
		}
		exp, err := strconv.ParseInt(str(f[2]), 10, 64)
		if err != nil {
			return "", nil, s.corrupt(members[j], "bad expiry")
		}
		switch {
		case exp <= nowMs: // expired: no write can revive it
			prune = append(prune, members[j])
			continue
		case str(f[3]) != index: // another user's now, or a move in progress
			continue
		case revoked:
			// Selected by a revocation that has not tombstoned it (it
			// failed, or is under way): finish its work.
			heal = append(heal, &scriptCall{script: endScript, keys: []string{s.recordKey(members[j])},
				args: []any{ms(now), int(reason), s.floor(reason, now), created, index}})
			continue
		}
		rec, err := s.listed(members[j], userID, f[1], f[4], f[5], f[6], now)
		if err != nil {
			return "", nil, err
		}
		if rec != nil {
			recs = append(recs, rec)
		}
	}
	if len(prune) > 0 {
		heal = append(heal, &scriptCall{script: pruneScript, keys: []string{index, lineages}, args: prune})
	}
	if len(heal) > 0 {
		s.evalAll(ctx, heal)
		for _, c := range heal {
			if err := c.cmd.Err(); err != nil {
				return "", nil, s.fail("list: prune", err)
			}
		}
	}
	return next, recs, nil
}

// parseEntry reads a lineage entry: whether a revocation selected the
// record, with which reason, and the Expires the record was created with.
func parseEntry(e string) (revoked bool, reason store.Reason, created string) {
	head, created, _ := strings.Cut(e, "|")
	if created == "" {
		created = "0"
	}
	if r, ok := strings.CutPrefix(head, "-"); ok {
		n, _ := strconv.ParseUint(r, 10, 8)
		return true, store.Reason(n), created
	}
	return false, store.ReasonNone, created
}

// listed decodes a record found through userID's index. A record that
// decodes to another user or key means the index and the records disagree
// in a way the scripts never produce: it is reported as corrupt rather
// than shown, or revoked, under the wrong user.
func (s *Store) listed(key, userID string, v, d, succ, grace any, now time.Time) (*store.Record, error) {
	if !validKey(key) {
		return nil, s.corrupt(key, "bad index reply")
	}
	rec, err := s.decode(key, v, d, succ, grace)
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
