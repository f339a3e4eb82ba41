package boltstore

import (
	"bytes"
	"fmt"

	"github.com/sessionguard/sessionguard/store"
)

// indexLineage keeps the lineage buckets in step with a write of rec,
// which replaces old (nil for a new key): rec's key joins its lineage,
// whose last use becomes now, and old leaves its own if it was another.
func (t *txn) indexLineage(rec, old *store.Record) error {
	if old != nil && old.UserID != "" && (old.UserID != rec.UserID || old.LineageKey() != rec.LineageKey()) {
		if err := t.unindexLineage(old); err != nil {
			return err
		}
	}
	if rec.UserID == "" {
		return nil
	}
	lk := rec.LineageKey()
	if err := t.lineageKeys.Put(lineageRecordKey(rec.UserID, lk, rec.Key), []byte{}); err != nil {
		return fmt.Errorf("index lineage: %w", err)
	}
	key := lineageKey(rec.UserID, lk)
	if v := t.lineages.Get(key); len(v) == stampSize {
		if err := t.lineageUse.Delete(useKey(rec.UserID, readStamp(v), lk)); err != nil {
			return fmt.Errorf("unindex lineage use: %w", err)
		}
	}
	if err := t.lineages.Put(key, appendStamp(nil, t.now)); err != nil {
		return fmt.Errorf("index lineage: %w", err)
	}
	if err := t.lineageUse.Put(useKey(rec.UserID, t.now, lk), []byte{}); err != nil {
		return fmt.Errorf("index lineage use: %w", err)
	}
	return nil
}

// unindexLineage removes rec's key from its lineage, and the lineage with
// its last record.
func (t *txn) unindexLineage(rec *store.Record) error {
	if rec.UserID == "" {
		return nil
	}
	lk := rec.LineageKey()
	if err := t.lineageKeys.Delete(lineageRecordKey(rec.UserID, lk, rec.Key)); err != nil {
		return fmt.Errorf("unindex lineage: %w", err)
	}
	if len(t.lineageRecords(rec.UserID, lk)) > 0 {
		return nil
	}
	return t.dropLineage(rec.UserID, lk)
}

// dropLineage removes userID's lineage lk from the lineage buckets.
func (t *txn) dropLineage(userID, lk string) error {
	key := lineageKey(userID, lk)
	if v := t.lineages.Get(key); len(v) == stampSize {
		if err := t.lineageUse.Delete(useKey(userID, readStamp(v), lk)); err != nil {
			return fmt.Errorf("unindex lineage use: %w", err)
		}
	}
	if err := t.lineages.Delete(key); err != nil {
		return fmt.Errorf("unindex lineage: %w", err)
	}
	for _, key := range t.lineageRecords(userID, lk) {
		if err := t.lineageKeys.Delete(lineageRecordKey(userID, lk, key)); err != nil {
			return fmt.Errorf("unindex lineage: %w", err)
		}
	}
	return nil
}

// lineageRecords returns the record keys of userID's lineage lk.
func (t *txn) lineageRecords(userID, lk string) []string {
	prefix := lineagePrefix(userID, lk)
	var keys []string
	c := t.lineageKeys.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, string(k[len(prefix):]))
	}
	return keys
}

// userLineages counts the lineages of userID in the index, reading keys
// only: live ones, and expired ones not yet swept.
func (t *txn) userLineages(userID string) int {
	prefix := userPrefix(userID)
	n := 0
	c := t.lineages.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// leastRecentlyUsed returns up to n lineages of userID last used before
// the stamp before, other than skip, least recently used first.
func (t *txn) leastRecentlyUsed(userID, skip string, before int64, n int) []string {
	prefix := userPrefix(userID)
	var out []string
	c := t.lineageUse.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(out) < n; k, _ = c.Next() {
		rest := k[len(prefix):]
		if len(rest) < stampSize || readStamp(rest) >= before {
			break // in order of last use: the rest are newer
		}
		if lk := string(rest[stampSize:]); lk != skip {
			out = append(out, lk)
		}
	}
	return out
}

// endLineage ends userID's lineage lk with reason, if one of its records
// is live, and reports whether it did; a lineage whose records all
// expired is dropped from the index instead.
func (t *txn) endLineage(userID, lk string, reason store.Reason) (bool, error) {
	var recs []*store.Record
	live := false
	for _, key := range t.lineageRecords(userID, lk) {
		rec, err := t.record(key)
		if err != nil {
			return false, err
		}
		if rec != nil && rec.UserID == userID && rec.LineageKey() == lk {
			recs = append(recs, rec)
			live = live || t.live(stamp(rec.Expires))
		}
	}
	for _, rec := range recs {
		var err error
		if live {
			err = t.end(rec, reason)
		} else {
			err = t.removeRecord(rec)
		}
		if err != nil {
			return false, err
		}
	}
	return live, t.dropLineage(userID, lk)
}
