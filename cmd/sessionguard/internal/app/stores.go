package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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
const StoreSpecs = "memory, bolt:PATH, sqlite:PATH, redis://HOST:PORT/DB, redis-cluster://HOST:PORT,HOST:PORT,… or postgres://USER@HOST:PORT/DB"

// OpenStore opens the store that spec names: "memory", "bolt:PATH",
// "sqlite:PATH", a redis:// (or rediss://) URL, a Redis Cluster URL
// (redis-cluster://[USER:PASSWORD@]HOST:PORT,HOST:PORT,… or
// rediss-cluster://…, naming some of the cluster's nodes, the client finds
// the others) or a postgres:// (or postgresql://) URL. The returned closer releases it. A Redis or
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
	case strings.HasPrefix(spec, "redis-cluster://"), strings.HasPrefix(spec, "rediss-cluster://"):
		return openRedisCluster(ctx, spec)
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		opts, err := redis.ParseURL(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("--store %s: %w", RedactSpec(spec), urlError(err))
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

// openRedisCluster connects to the Redis Cluster spec names and checks
// that it answers and is configured safely (redisstore.Open: noeviction,
// and appendonly yes with appendfsync always on every primary). The store
// takes the cluster's sharded layout (redisstore's documentation says what
// that means for a revocation).
// Errors never repeat spec: it may hold a password.
func openRedisCluster(ctx context.Context, spec string) (store.Store, io.Closer, error) {
	opts, err := parseClusterSpec(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("--store redis-cluster://…: %w", err)
	}
	client := redis.NewClusterClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	where := strings.Join(opts.Addrs, ",")
	if err := client.ForEachShard(pctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("cannot reach the Redis Cluster at %s: %w", where, err), client.Close())
	}
	// Open refuses a cluster whose primaries could evict session keys or
	// lose acknowledged writes (appendonly yes, appendfsync always).
	st, err := redisstore.Open(pctx, client, redisstore.Options{})
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("--store redis-cluster://%s: %w", where, err), client.Close())
	}
	return st, closerFunc(func() error { return errors.Join(st.Close(), client.Close()) }), nil
}

// parseClusterSpec turns redis-cluster://[USER:PW@]H1:P1,H2:P2/?opts into
// go-redis's cluster URL form, redis://[USER:PW@]H1:P1?addr=H2:P2&opts.
func parseClusterSpec(spec string) (*redis.ClusterOptions, error) {
	scheme, rest, _ := strings.Cut(spec, "://")
	scheme = strings.TrimSuffix(scheme, "-cluster")
	hostsEnd := strings.IndexAny(rest, "/?")
	if hostsEnd < 0 {
		hostsEnd = len(rest)
	}
	hosts, tail := rest[:hostsEnd], strings.TrimPrefix(rest[hostsEnd:], "/")
	userinfo := ""
	if i := strings.LastIndex(hosts, "@"); i >= 0 {
		userinfo, hosts = hosts[:i+1], hosts[i+1:]
	}
	addrs := strings.Split(hosts, ",")
	if hosts == "" || slices.Contains(addrs, "") {
		return nil, errors.New("name the nodes as HOST:PORT,HOST:PORT")
	}
	query := strings.TrimPrefix(tail, "?")
	for _, a := range addrs[1:] {
		if query != "" {
			query += "&"
		}
		query += "addr=" + url.QueryEscape(a)
	}
	u := scheme + "://" + userinfo + addrs[0]
	if query != "" {
		u += "?" + query
	}
	opts, err := redis.ParseClusterURL(u)
	return opts, urlError(err)
}

// RedactSpec hides the password of a store URL (redis://user:pw@…,
// postgres://user:pw@…, redis-cluster://user:pw@h:p,h:p) before it is
// printed. A URL that does not parse as one (a cluster's list of nodes, a
// typo) loses everything between "://" and the last "@" before its path.
func RedactSpec(spec string) string {
	u, err := url.Parse(spec)
	if err == nil && u.User == nil {
		return spec
	}
	if err == nil {
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(spec, "://")
	hosts, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(hosts, "@"); ok && i >= 0 {
		return scheme + "://xxxxx@" + rest[i+1:]
	}
	return spec
}

// urlError returns err without the URL a *url.Error repeats, which may
// hold a password.
func urlError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
