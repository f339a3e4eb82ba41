package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/boltstore"
	"github.com/sessionguard/sessionguard/store/memstore"
	"github.com/sessionguard/sessionguard/store/pgstore"
	"github.com/sessionguard/sessionguard/store/redisstore"
	"github.com/sessionguard/sessionguard/store/sqlitestore"
)

// StoreSpecs describes the values OpenStore accepts, for flag help and
// error messages.
const StoreSpecs = "memory, bolt:PATH, sqlite:PATH, redis://HOST:PORT/DB or postgres://USER@HOST:PORT/DB"

// OpenStore opens the store that spec names: "memory", "bolt:PATH",
// "sqlite:PATH", a redis:// (or rediss://) URL or a postgres:// (or
// postgresql://) URL. The returned closer releases it. A Redis or
// PostgreSQL server that does not answer within five seconds is an error
// here, so that a typo fails at start-up rather than on the first request.
// On PostgreSQL the session table is created if it is missing.
func OpenStore(ctx context.Context, spec string) (store.Store, io.Closer, error) {
	switch {
	case spec == "memory":
		st := memstore.New(memstore.Options{})
		return st, st, nil
	case strings.HasPrefix(spec, "bolt:"):
		path := strings.TrimPrefix(spec, "bolt:")
		if path == "" {
			return nil, nil, errors.New("--store bolt:PATH needs a path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("creating the state directory: %w", err)
		}
		st, err := boltstore.Open(path, boltstore.Options{})
		if err != nil {
			return nil, nil, err
		}
		return st, st, nil
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		opts, err := redis.ParseURL(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("--store %s: %w", spec, err)
		}
		client := redis.NewClient(opts)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := client.Ping(pctx).Err(); err != nil {
			client.Close()
			return nil, nil, fmt.Errorf("cannot reach Redis at %s: %w", opts.Addr, err)
		}
		// Open refuses a Redis that could evict session keys, and watches
		// for one that goes back in time until the closer runs.
		st, err := redisstore.Open(pctx, client, redisstore.Options{})
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("--store redis://%s: %w", opts.Addr, err), client.Close())
		}
		return st, closerFunc(func() error {
			err := st.Close()
			return errors.Join(err, client.Close())
		}), nil
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		if path == "" {
			return nil, nil, errors.New("--store sqlite:PATH needs a path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("creating the state directory: %w", err)
		}
		st, err := sqlitestore.Open(path, sqlitestore.Options{})
		if err != nil {
			return nil, nil, err
		}
		return st, st, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return openPostgres(ctx, spec)
	}
	return nil, nil, fmt.Errorf("unknown --store %q: want %s", spec, StoreSpecs)
}

// openPostgres connects to the database spec names, checks that it
// answers, creates the session table if it is missing, and returns the
// store. Errors never repeat spec: it may hold a password.
func openPostgres(ctx context.Context, spec string) (store.Store, io.Closer, error) {
	cfg, err := pgxpool.ParseConfig(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("--store postgres://…: not a valid connection URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("--store postgres://…: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", where, err)
	}
	st := pgstore.New(pool, pgstore.Options{})
	if err := st.CreateTable(pctx); err != nil {
		st.Close()
		pool.Close()
		return nil, nil, fmt.Errorf("creating the session table in PostgreSQL at %s: %w", where, err)
	}
	return st, closerFunc(func() error {
		err := st.Close()
		pool.Close()
		return err
	}), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
