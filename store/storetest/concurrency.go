package storetest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionguard/sessionguard/store"
)

// Sizes of the concurrency cases: enough goroutines to contend on every
// run, few enough operations to keep a networked store under a second.
const (
	workers   = 32 // goroutines racing on one record
	perWorker = 10 // successful updates each makes
	rounds    = 20 // repetitions of the two-party races
)

// concurrency checks invariant I8 under load: conditional writes lose no
// update, renewal has one winner, and a dead record stays dead. Run with
// -race: unsynchronised state shows as a data race even when the answers
// happen to be right.
func (s suite) concurrency(t *testing.T) {
	t.Run("UpdateLosesNothing", s.updateLosesNothing)
	t.Run("CreateSameKeyOneWins", s.createSameKey)
	t.Run("RotateSameOldKeyOneWins", s.rotateSameOldKey)
	t.Run("UpdateRacingRotateOneWins", s.updateRacingRotate)
	t.Run("UpdateRacingDeleteNeverResurrects", s.updateRacingDelete)
	t.Run("ListUserWhileWriting", s.listUserWhileWriting)
}

// start runs f(i) on n goroutines released together, and waits for them.
func start(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	ready.Add(n)
	for i := range n {
		done.Go(func() {
			ready.Done()
			<-gate
			f(i)
		})
	}
	ready.Wait()
	close(gate)
	done.Wait()
}

// updateLosesNothing has each worker increment its own counter in Data by
// get-modify-update, retrying on ErrConflict as the Manager does. A lost
// update shows as a counter short of perWorker, naming the worker whose
// write vanished.
func (s suite) updateLosesNothing(t *testing.T) {
	st := s.store(t)
	rec := newRecord(t, "alice")
	rec.Data = make([]byte, 8*workers)
	mustCreate(t, st, rec)

	start(workers, func(i int) {
		// A correct store lets every worker through eventually; the bound
		// turns a store that always conflicts into a failure, not a hang.
		for n, tries := 0, 0; n < perWorker; tries++ {
			if tries > 100*workers*perWorker {
				t.Errorf("worker %d: gave up after %d conflicts", i, tries)
				return
			}
			cur, err := st.Get(t.Context(), rec.Key)
			if err != nil {
				t.Errorf("worker %d: Get: %v", i, err)
				return
			}
			if len(cur.Data) != 8*workers {
				t.Errorf("worker %d: Data is %d bytes, want %d", i, len(cur.Data), 8*workers)
				return
			}
			// Yield between load and save, as a request doing work would, so
			// that even on few CPUs other workers write in between and a
			// store that ignores versions is caught losing their updates.
			runtime.Gosched()
			// Data is read-only to callers: write a fresh copy.
			data := slices.Clone(cur.Data)
			binary.BigEndian.PutUint64(data[8*i:], binary.BigEndian.Uint64(data[8*i:])+1)
			cur.Data = data
			switch err := st.Update(t.Context(), cur); {
			case err == nil:
				n++
			case errors.Is(err, store.ErrConflict):
			default:
				t.Errorf("worker %d: Update: %v", i, err)
				return
			}
		}
	})

	got := mustGet(t, st, rec.Key)
	if want := uint64(1 + workers*perWorker); got.Version != want {
		t.Errorf("final Version = %d, want %d (1 + %d successful updates)", got.Version, want, workers*perWorker)
	}
	for i := range workers {
		if n := binary.BigEndian.Uint64(got.Data[8*i:]); n != perWorker {
			t.Errorf("worker %d's counter = %d, want %d: updates were lost", i, n, perWorker)
		}
	}
}

// createSameKey races Creates of one key: exactly one may win, and the
// stored record must be the winner's, not a mix or a later overwrite.
func (s suite) createSameKey(t *testing.T) {
	st := s.store(t)
	for range rounds {
		key := newKey(t)
		recs := make([]*store.Record, workers)
		for i := range recs {
			recs[i] = newRecord(t, fmt.Sprint("user", i))
			recs[i].Key = key
		}
		errs := make([]error, workers)
		start(workers, func(i int) { errs[i] = st.Create(t.Context(), recs[i]) })

		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("Creates %d and %d of one key both succeeded", winner, i)
			case err == nil:
				winner = i
			default:
				checkErr(t, fmt.Sprint("losing Create ", i), err, store.ErrExists)
			}
		}
		if winner < 0 {
			t.Fatal("no Create of a fresh key succeeded")
		}
		checkLive(t, st, "after the race", key, recs[winner], 1)
	}
}

// rotateSameOldKey races renewals of one record at one version, as two
// requests logging in on the same session would: one new session, and no
// orphan created by a loser.
func (s suite) rotateSameOldKey(t *testing.T) {
	st := s.store(t)
	for r := range rounds {
		user := fmt.Sprint("rotate-race-", r)
		old := newRecord(t, "")
		mustCreate(t, st, old)
		nexts := make([]*store.Record, workers)
		for i := range nexts {
			nexts[i] = newRecord(t, user)
		}
		errs := make([]error, workers)
		start(workers, func(i int) { errs[i] = st.Rotate(t.Context(), old.Key, 1, nexts[i], time.Time{}) })

		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("Rotates %d and %d of one record both succeeded", winner, i)
			case err == nil:
				winner = i
			default:
				checkErr(t, fmt.Sprint("losing Rotate ", i), err, store.ErrConflict, store.ErrGone)
			}
		}
		if winner < 0 {
			t.Fatal("no Rotate of a live record succeeded")
		}
		checkGetErr(t, st, "old key", old.Key, store.ErrGone)
		checkLive(t, st, "winner's next", nexts[winner].Key, nexts[winner], 1)
		for i, next := range nexts {
			if i != winner {
				checkGetErr(t, st, fmt.Sprint("loser ", i, "'s next"), next.Key, store.ErrNotFound)
			}
		}
		checkListed(t, st, "after the race", user, nexts[winner].Key)
	}
}

// updateRacingRotate races a write through the old token against a
// renewal at the same version: exactly one wins, and a write that loses to
// the renewal must not land on the dead record.
func (s suite) updateRacingRotate(t *testing.T) {
	st := s.store(t)
	for range rounds {
		old := newRecord(t, "alice")
		mustCreate(t, st, old)
		write, next := old.Clone(), newRecord(t, "alice")
		write.Data = []byte("late write")
		var updateErr, rotateErr error
		start(2, func(i int) {
			if i == 0 {
				updateErr = st.Update(t.Context(), write)
			} else {
				rotateErr = st.Rotate(t.Context(), old.Key, 1, next, time.Time{})
			}
		})
		switch {
		case updateErr == nil && rotateErr == nil:
			t.Fatal("Update and Rotate at the same version both succeeded")
		case updateErr == nil:
			checkErr(t, "Rotate that lost to Update", rotateErr, store.ErrConflict)
			checkLive(t, st, "after Update won", old.Key, write, 2)
			checkGetErr(t, st, "next after Update won", next.Key, store.ErrNotFound)
		case rotateErr == nil:
			checkErr(t, "Update that lost to Rotate", updateErr, store.ErrGone)
			checkGetErr(t, st, "old after Rotate won", old.Key, store.ErrGone)
			checkLive(t, st, "next after Rotate won", next.Key, next, 1)
		default:
			t.Fatalf("neither won: Update: %v; Rotate: %v", updateErr, rotateErr)
		}
	}
}

// updateRacingDelete races a write against a logout: whichever lands
// first, the key ends dead, and a write that comes second is refused
// rather than bringing the session back (I6, I8).
func (s suite) updateRacingDelete(t *testing.T) {
	st := s.store(t)
	for range rounds {
		rec := newRecord(t, "alice")
		mustCreate(t, st, rec)
		write := rec.Clone()
		write.Data = []byte("late write")
		var updateErr, deleteErr error
		start(2, func(i int) {
			if i == 0 {
				updateErr = st.Update(t.Context(), write)
			} else {
				deleteErr = st.Delete(t.Context(), rec.Key, store.ReasonNone)
			}
		})
		if deleteErr != nil {
			t.Fatalf("Delete: %v", deleteErr)
		}
		if updateErr != nil {
			checkErr(t, "Update that lost to Delete", updateErr, store.ErrGone)
		}
		checkGetErr(t, st, "after Update and Delete", rec.Key, store.ErrGone)
		write.Version = 1
		checkErr(t, "a further Update", st.Update(t.Context(), write), store.ErrGone)
	}
	checkListed(t, st, "after the races", "alice")
}

// listUserWhileWriting lists users while others create, update and delete
// their records. One user's list must stay exactly right throughout, the
// busy user's must only ever hold that user's records, and at the end it
// must hold exactly the survivors.
func (s suite) listUserWhileWriting(t *testing.T) {
	st := s.store(t)
	var quiet []string
	for range 3 {
		rec := newRecord(t, "quiet")
		mustCreate(t, st, rec)
		quiet = append(quiet, rec.Key)
	}
	slices.Sort(quiet)

	const writers, readers, each = 4, 4, 25
	// Records are made here, on the test's goroutine.
	recs := make([][]*store.Record, writers)
	for w := range recs {
		for range each {
			recs[w] = append(recs[w], newRecord(t, "busy"))
		}
	}

	var stop sync.WaitGroup
	stop.Add(writers)
	done := make(chan struct{})
	go func() {
		stop.Wait()
		close(done)
	}()
	start(writers+readers, func(i int) {
		if i < writers {
			defer stop.Done()
			for j, rec := range recs[i] {
				if err := st.Create(t.Context(), rec); err != nil {
					t.Errorf("writer %d: Create: %v", i, err)
					return
				}
				if err := st.Update(t.Context(), rec); err != nil {
					t.Errorf("writer %d: Update: %v", i, err)
					return
				}
				if j%2 == 1 {
					if err := st.Delete(t.Context(), rec.Key, store.ReasonNone); err != nil {
						t.Errorf("writer %d: Delete: %v", i, err)
						return
					}
				}
			}
			return
		}
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, user := range []string{"busy", "quiet"} {
				got, err := st.ListUser(t.Context(), user)
				if err != nil {
					t.Errorf("reader %d: ListUser(%s): %v", i, user, err)
					return
				}
				keys := make([]string, 0, len(got))
				for _, r := range got {
					if r.UserID != user {
						t.Errorf("reader %d: ListUser(%s) returned a record of %q", i, user, r.UserID)
						return
					}
					keys = append(keys, r.Key)
				}
				if user == "quiet" {
					slices.Sort(keys)
					if !slices.Equal(keys, quiet) {
						t.Errorf("reader %d: ListUser(quiet) = %s while another user was written, want %s",
							i, short(keys), short(quiet))
						return
					}
				}
			}
		}
	})

	var survivors []string
	for w := range recs {
		for j, rec := range recs[w] {
			if j%2 == 0 {
				survivors = append(survivors, rec.Key)
			}
		}
	}
	checkListed(t, st, "after the writers finished", "busy", survivors...)
	checkListed(t, st, "after the writers finished", "quiet", quiet...)
}
