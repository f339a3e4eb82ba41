package boltstore

import (
	"errors"
	"runtime"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/sessionguard/sessionguard/store"
)

// Group commit.
//
// bbolt commits each write transaction with its own fdatasync, which is
// what a durable write costs: a few thousand a second on an ordinary disk,
// whatever the CPU. Writes that arrive while a commit is under way do not
// each wait for one of their own: they queue, and the next commit runs all
// of them, in the order they arrived, in one transaction, with one sync.
// No writer waits on a timer: a write that finds no commit under way
// starts one at once, so a lone write costs what it did before.
//
// Nothing is weakened. Every write returns only after the transaction
// holding it is committed and synced, so a write reported done is on disk.
// The writes of a group run one after the other in one transaction, each
// seeing the ones before it, as if they had run one transaction each in
// that order: a conditional write that loses to an earlier write of its
// group gets store.ErrConflict, as it would have. That answer is a result,
// not an abort: a write function that answers one of the contract's
// results (isResult) has changed nothing but garbage (an expired record or
// tombstone it cleared, which the file may or may not keep), so the group
// commits with it and the others. Any other error (a corrupt record, a
// failed page allocation) may come after a partial change: then the whole
// group is rolled back and every write of it is run again alone, in order,
// in a transaction of its own, so that the failing one rolls back alone
// and the others get the answers they would have had.
//
// A failed commit (a write or fsync of the file that failed, a full disk)
// is different: what reached the file is then unknown, and bbolt's pages
// in memory may no longer match it, so writing on could build on pages
// the file does not hold. The store breaks: the writes of the group, and
// every write after it, fail with ErrCommitFailed until the store is
// closed and opened again, which reads the file as it is.

// A call is one write waiting for a group commit.
type call struct {
	fn   func(*txn) error
	err  error
	lead bool          // set, before done is signalled, for the call that commits the next group
	done chan struct{} // signalled once: the result is in err, or lead is set
}

// maxGroup bounds the writes of one group, so that one transaction stays
// short even under a flood of writes.
const maxGroup = 1024

// writer queues the writes of a Store for group commit.
type writer struct {
	mu      sync.Mutex
	pending []*call
	leading bool // a call is committing a group; the next one is handed to a pending call
}

// isResult reports whether err is one of the answers a write function
// gives without having changed anything that matters: the contract's
// results, and errNoChange.
func isResult(err error) bool {
	for _, e := range []error{store.ErrConflict, store.ErrNotFound, store.ErrGone, store.ErrExists, errNoChange} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// commit runs fn in a write transaction shared with the writes queued
// meanwhile, and returns fn's error, or the transaction's. It returns once
// the transaction is committed and synced, or rolled back.
func (s *Store) commit(fn func(*txn) error) error {
	c := &call{fn: fn, done: make(chan struct{}, 1)}
	w := &s.w
	w.mu.Lock()
	w.pending = append(w.pending, c)
	lead := !w.leading
	w.leading = true
	w.mu.Unlock()
	if !lead {
		<-c.done
		if !c.lead {
			return c.err
		}
	}
	// This call commits the group queued so far, itself included, then
	// hands the writes queued during the commit to the first of them.
	if !lead {
		// Promoted after a commit that has just released its writers: let
		// those that write again join this group rather than wait a whole
		// commit for the next one.
		runtime.Gosched()
	}
	w.mu.Lock()
	n := min(len(w.pending), maxGroup)
	group := w.pending[:n:n]
	w.pending = w.pending[n:]
	w.mu.Unlock()
	retried := s.runGroup(group)
	for _, g := range group {
		if g != c {
			g.done <- struct{}{}
		}
	}
	w.mu.Lock()
	if len(w.pending) > 0 {
		next := w.pending[0]
		next.lead = true
		next.done <- struct{}{}
	} else {
		w.leading = false
		w.pending = nil
	}
	w.mu.Unlock()
	if s.groupHook != nil {
		s.groupHook(len(group), retried)
	}
	return c.err
}

// runGroup commits the writes of group in one transaction, or, if one of
// them fails other than with a result, each in its own; retried reports
// the latter. A failed commit (the disk) is not run again: it marks the
// store broken (see ErrCommitFailed), and every write of the group, and
// every later one, gets the error.
func (s *Store) runGroup(group []*call) (retried bool) {
	if err := s.brokenErr(); err != nil {
		for _, c := range group {
			c.err = err
		}
		return false
	}
	if len(group) == 1 {
		group[0].err = s.commitOne(group[0])
		return false
	}
	errAbort := errors.New("abort")
	ran := false
	err := s.db.Update(func(tx *bbolt.Tx) error {
		ran = true
		for _, c := range group {
			c.err = s.run(tx, c.fn)
			if c.err != nil && !isResult(c.err) {
				return errAbort
			}
		}
		return nil
	})
	switch {
	case err == nil:
		return false
	case err != errAbort:
		if ran {
			err = s.breakOn(err)
		}
		for _, c := range group {
			c.err = err
		}
		return false
	}
	for _, c := range group {
		c.err = s.commitOne(c)
	}
	return true
}

// commitOne commits c alone, in a transaction of its own, unless the store
// is broken; a failed commit breaks it.
func (s *Store) commitOne(c *call) error {
	if err := s.brokenErr(); err != nil {
		return err
	}
	ran := false
	var fnErr error
	err := s.db.Update(func(tx *bbolt.Tx) error {
		ran = true
		fnErr = s.run(tx, c.fn)
		return fnErr
	})
	if err != nil && ran && fnErr == nil {
		return s.breakOn(err) // the commit failed, not the write
	}
	return err
}
