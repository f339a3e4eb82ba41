package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sessionguard/sessionguard/store"
)

// Defaults of [Options].
const (
	DefaultSweepInterval = time.Minute
	DefaultBusyTimeout   = 5 * time.Second
)

// sweepBatch bounds the rows one sweep transaction deletes.
const sweepBatch = 1000

// applicationID marks a file as a session store ("SGSQ"), in the header
// field SQLite keeps for that (PRAGMA application_id).
const applicationID = 0x53475351

// ErrNotStore is returned (wrapped) by [Open] for a database that is not a
// session store: it has tables and no store's mark. Open never adds its
// table to someone else's database.
var ErrNotStore = errors.New("sqlitestore: not a sessionguard session store")

// ErrClosed is returned (wrapped) by the methods of a [Store] after
// [Store.Close].
var ErrClosed = errors.New("sqlitestore: store is closed")

// Options configures [Open]. The zero value gives the defaults each field
// documents.
type Options struct {
	// SweepInterval is how often the background sweeper deletes expired
	// records and tombstones. Default one minute; the first sweep runs at
	// once. A negative value turns the sweeper off: call [Store.Sweep]
	// yourself. Expired records are never returned either way.
	SweepInterval time.Duration

	// BusyTimeout is how long a statement waits for a lock another
	// process holds on the file before it fails. Default five seconds.
	BusyTimeout time.Duration

	// Readers is the most connections reading at once. Default
	// GOMAXPROCS, at least 2. Writes always go through one connection.
	Readers int

	// Logger receives the errors of the background sweeper. Default
	// slog.Default().
	Logger *slog.Logger

	// Now returns the current time, against which Expires and tombstones
	// are checked. Default time.Now. For tests.
	Now func() time.Time
}

// A Store is a [store.Store] kept in one SQLite file. All methods are safe
// for concurrent use; reads run in parallel, writes one at a time. Make one
// with [Open].
type Store struct {
	path   string
	writer *sql.DB // one connection: every write of this process, in turn
	reader *sql.DB // a pool of read-only connections
	opts   Options
	batch  int

	closed    atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// schemaVersion is the PRAGMA user_version of the schema this code
// writes; a file of the first schema (0) is upgraded when it opens.
const schemaVersion = 2

// dsn returns the data source name of path for modernc.org/sqlite, with
// pragmas applied to every connection it opens.
func dsn(path string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Open opens the store in the SQLite file at path, creating the file and
// its table if need be (its directory must exist), and starts the
// sweeper. Several processes may open the same file: SQLite's locks
// serialize their writes. Call [Store.Close] when done.
func Open(path string, opts Options) (*Store, error) {
	if opts.SweepInterval == 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.Readers <= 0 {
		opts.Readers = max(runtime.GOMAXPROCS(0), 2)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if path == "" {
		return nil, errors.New("sqlitestore: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// A new file is made private before SQLite opens it (SQLite would
	// make it world-readable under the usual umask); SQLite gives its WAL
	// and shared-memory files the same mode. The file holds no usable
	// token, but does hold session data.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	busy := "busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")"
	// synchronous(FULL): a write returns once it is on disk, so a session
	// whose Create returned survives a crash of the machine, not only of
	// the process.
	writer, err := sql.Open("sqlite", dsn(abs, busy, "journal_mode(WAL)", "synchronous(FULL)")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	s := &Store{path: path, writer: writer, opts: opts, batch: sweepBatch}
	if err := s.init(); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlitestore: open %s: %w", path, err), writer.Close())
	}
	reader, err := sql.Open("sqlite", dsn(abs, busy, "query_only(1)"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlitestore: open %s: %w", path, err), writer.Close())
	}
	reader.SetMaxOpenConns(opts.Readers)
	reader.SetMaxIdleConns(opts.Readers)
	s.reader = reader
	if opts.SweepInterval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancel, s.done = cancel, make(chan struct{})
		go s.sweepLoop(ctx, opts.SweepInterval)
	}
	return s, nil
}

// init creates the table and indexes of a new file, or checks that an
// existing one is a store.
func (s *Store) init() error {
	ctx := context.Background()
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var id int64
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		return err
	}
	switch id {
	case applicationID:
		var version int64
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
			return err
		}
		switch version {
		case schemaVersion:
		case 0:
			if _, err := tx.ExecContext(ctx, schemaV2); err != nil {
				return fmt.Errorf("upgrade the schema: %w", err)
			}
		default:
			return fmt.Errorf("%w: schema version %d, want %d", ErrNotStore, version, schemaVersion)
		}
	case 0:
		var tables int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
			return err
		}
		if tables > 0 {
			return fmt.Errorf("%w: it holds %d tables or indexes and no store's mark", ErrNotStore, tables)
		}
		if _, err := tx.ExecContext(ctx, schema+schemaV2); err != nil {
			return fmt.Errorf("create table: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA application_id = "+strconv.Itoa(applicationID)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: application_id is %#x", ErrNotStore, id)
	}
	return tx.Commit()
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// Close stops the sweeper, waiting for a sweep in progress to stop, and
// closes the file. Calls after the first do nothing and return the first
// one's error. Other methods called after Close fail with [ErrClosed].
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
		var rerr, werr error
		if s.reader != nil {
			rerr = s.reader.Close()
		}
		if s.writer != nil {
			werr = s.writer.Close()
		}
		if err := errors.Join(rerr, werr); err != nil {
			s.closeErr = fmt.Errorf("sqlitestore: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}
