package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionguard/sessionguard/store"
	"github.com/sessionguard/sessionguard/store/boltstore"
	"github.com/sessionguard/sessionguard/store/memstore"
	"github.com/sessionguard/sessionguard/store/redisstore"
)

// OpenStore opens the store that spec names: "memory", "bolt:PATH" or a
// redis:// (or rediss://) URL. The returned closer releases it. A Redis
// server that does not answer within five seconds is an error here, so that
// a typo fails at start-up rather than on the first request.
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
		return redisstore.New(client, redisstore.Options{}), client, nil
	}
	return nil, nil, fmt.Errorf("unknown --store %q: want memory, bolt:PATH or redis://HOST:PORT/DB", spec)
}

// DefaultStateDir is where serve keeps its bolt file by default:
// $XDG_STATE_HOME/sessionguard, or ~/.local/state/sessionguard.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sessionguard")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "sessionguard")
	}
	return filepath.Join(os.TempDir(), "sessionguard")
}
