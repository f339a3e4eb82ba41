package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/sessionguard/sessionguard/store"
)

// Defaults of [Options].
const (
	DefaultSweepInterval = time.Minute
	DefaultLockTimeout   = time.Second
	DefaultFileMode      = fs.FileMode(0o600)
)

// ErrLocked is returned (wrapped) by [Open] when another process holds the
// file and did not release it within Options.LockTimeout. bbolt allows one
// writer process per file; two would corrupt it.
var ErrLocked = errors.New("boltstore: database file is locked by another process")

// ErrNotStore is returned (wrapped) by [Open] for a bbolt file that is not a
// session store, or one written in a layout this version does not know.
// Open never adds its buckets to someone else's database.
var ErrNotStore = errors.New("boltstore: not a sessionguard session store")

// ErrCommitFailed is returned (wrapped, with the cause) by a write whose
// transaction failed to commit (the disk refused a write or an fsync, or
// is full), by the other writes committed with it, and by every write
// after it until the store is closed and opened again: after a failed
// commit, what reached the file is unknown, and writing on could corrupt
// it. A write that failed this way may nevertheless be in the file, since
// the disk may have kept it before reporting the error: after reopening,
// a sign-out reported failed may have happened, and a sign-in reported
// failed may have left a session no cookie names (it expires unused).
// Reads keep working, from what the store last committed.
var ErrCommitFailed = errors.New("boltstore: a commit to the file failed; writes are refused until the store is reopened")

// Options configures [Open]. The zero value gives the defaults each field
// documents.
type Options struct {
	// SweepInterval is how often the background sweeper removes expired
	// records, their index entries and expired tombstones. Default one
	// minute. The first sweep runs as soon as the store opens. A negative
	// value turns the sweeper off: call [Store.Sweep] yourself. Expired
	// records are never returned either way; sweeping only frees space.
	SweepInterval time.Duration

	// LockTimeout is how long Open waits for the file lock when another
	// process has the file open. Default one second; then Open fails with
	// ErrLocked instead of hanging. A negative value fails at once.
	LockTimeout time.Duration

	// FileMode is the permission of a file Open creates (before the umask).
	// Default 0600: the file holds session metadata and values, though no
	// usable token. An existing file keeps its mode.
	FileMode fs.FileMode

	// Logger receives the errors of the background sweeper, which has no
	// caller to return them to. Default slog.Default().
	Logger *slog.Logger

	// Now returns the current time, against which Expires and tombstones
	// are checked. Default time.Now. For tests.
	Now func() time.Time

	// openFile, when set (tests), opens the file in bbolt's place.
	openFile func(string, int, fs.FileMode) (*os.File, error)
}

func (o Options) withDefaults() (Options, error) {
	if o.SweepInterval == 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	switch {
	case o.LockTimeout == 0:
		o.LockTimeout = DefaultLockTimeout
	case o.LockTimeout < 0:
		// bbolt reads a zero timeout as "wait forever"; the smallest positive
		// one gives up after the first attempt.
		o.LockTimeout = time.Nanosecond
	}
	if o.FileMode == 0 {
		o.FileMode = DefaultFileMode
	}
	if o.FileMode&^fs.ModePerm != 0 {
		return o, fmt.Errorf("boltstore: Options.FileMode %v has bits other than permissions", o.FileMode)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// A Store is a [store.Store] kept in one bbolt file. Sessions survive a
// restart of the process. All methods are safe for concurrent use; reads
// run in parallel, writes one at a time. The zero value is not usable: call
// [Open].
type Store struct {
	db   *bbolt.DB
	path string
	opts Options
	// batch is the most index entries one sweep transaction handles:
	// sweepBatch, smaller in tests.
	batch int

	// The sweeper: Close calls cancel, and done is closed when the
	// goroutine has returned. Both nil when it is off.
	cancel context.CancelFunc
	done   chan struct{}

	closeOnce sync.Once
	closeErr  error

	// w queues concurrent writes for group commit.
	w writer
	// groupHook, when set (tests), is told the size of each group
	// committed and whether its writes were run again one by one.
	groupHook func(n int, retried bool)

	// broken holds the error, wrapping ErrCommitFailed, of the first
	// failed commit; nil while commits succeed.
	broken atomic.Pointer[error]
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.UserCounter = (*Store)(nil)
)

// Open opens the store in the file at path, creating the file if it does
// not exist (its directory must), and starts the sweeper. Only one process
// may have the file open: another one's Open waits Options.LockTimeout and
// fails with [ErrLocked]. Call [Store.Close] when done.
func Open(path string, opts Options) (*Store, error) {
	wait := "did not wait"
	if opts.LockTimeout >= 0 {
		wait = "gave up after " + cmp.Or(opts.LockTimeout, DefaultLockTimeout).String()
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	db, err := bbolt.Open(path, opts.FileMode, &bbolt.Options{Timeout: opts.LockTimeout, OpenFile: opts.openFile})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s (%s; is another instance of the program running?)", ErrLocked, path, wait)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := db.Update(initBuckets); err != nil {
		return nil, errors.Join(fmt.Errorf("boltstore: open %s: %w", path, err), db.Close())
	}
	s := &Store{db: db, path: path, opts: opts, batch: sweepBatch}
	if opts.SweepInterval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel, s.done = cancel, make(chan struct{})
		go s.sweepLoop(ctx, opts.SweepInterval)
	}
	return s, nil
}

// initBuckets creates the buckets of a new file, or checks that an existing
// one is a store in the layout this code writes.
func initBuckets(tx *bbolt.Tx) error {
	if meta := tx.Bucket(bucketMeta); meta != nil {
		if f := meta.Get(keyFormat); !bytes.Equal(f, formatV1) {
			return fmt.Errorf("%w: format %q, want %q", ErrNotStore, f, formatV1)
		}
	} else {
		// A new file has no bucket at all; anything else belongs to
		// another program.
		err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			return fmt.Errorf("%w: it holds a bucket %q and no %q", ErrNotStore, name, bucketMeta)
		})
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return fmt.Errorf("create bucket %q: %w", bucketMeta, err)
		}
		if err := meta.Put(keyFormat, formatV1); err != nil {
			return fmt.Errorf("write format: %w", err)
		}
	}
	for _, name := range dataBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %q: %w", name, err)
		}
	}
	return nil
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close stops the sweeper, waiting for a sweep in progress to stop, and
// closes the file, releasing its lock. Calls after the first do nothing
// and return the first one's error. Other methods called after Close fail.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("boltstore: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// brokenErr returns the error of the failed commit that broke the store,
// or nil.
func (s *Store) brokenErr() error {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	return nil
}

// breakOn marks the store broken by the failed commit err, unless an
// earlier one did, and returns the error writes get from now on.
func (s *Store) breakOn(err error) error {
	e := fmt.Errorf("%w: %s: %w", ErrCommitFailed, s.path, err)
	if s.broken.CompareAndSwap(nil, &e) {
		s.opts.Logger.Error("boltstore: a commit failed; writes are refused until the store is reopened", "path", s.path, "err", err)
	}
	return s.brokenErr()
}
