module github.com/sessionguard/sessionguard/bench

go 1.26.0

require (
	github.com/sessionguard/sessionguard v0.0.0-00010101000000-000000000000
	github.com/sessionguard/sessionguard/internal/testsupport v0.0.0-00010101000000-000000000000
	github.com/sessionguard/sessionguard/store/boltstore v0.0.0-00010101000000-000000000000
	github.com/sessionguard/sessionguard/store/pgstore v0.0.0-00010101000000-000000000000
	github.com/sessionguard/sessionguard/store/redisstore v0.0.0-00010101000000-000000000000
)

require (
	github.com/alexedwards/scs/boltstore v0.0.0-20251002162104-209de6e426de
	github.com/alexedwards/scs/goredisstore v0.0.0-20250212122300-421ef1d8611c
	github.com/alexedwards/scs/postgresstore v0.0.0-20251002162104-209de6e426de
	github.com/alexedwards/scs/redisstore v0.0.0-20251002162104-209de6e426de
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/gomodule/redigo v1.9.3
	github.com/gorilla/sessions v1.4.0
	github.com/jackc/pgx/v5 v5.12.0
	github.com/redis/go-redis/v9 v9.23.0
	go.etcd.io/bbolt v1.5.0
)

require (
	github.com/dustin/go-humanize v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-isatty v0.0.24 // indirect
	github.com/ncruces/go-strftime v1.1.0 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	modernc.org/libc v1.80.1 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.12.1 // indirect
	modernc.org/sqlite v1.62.0 // indirect
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/sessionguard/sessionguard/store/sqlitestore v0.0.0-00010101000000-000000000000
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

// The repository's own modules come from this checkout, so that GOWORK=off
// works here (see "Working across the modules" in the README). A build
// that uses this module as a dependency ignores these lines.
replace (
	github.com/sessionguard/sessionguard => ..
	github.com/sessionguard/sessionguard/internal/testsupport => ../internal/testsupport
	github.com/sessionguard/sessionguard/store/boltstore => ../store/boltstore
	github.com/sessionguard/sessionguard/store/pgstore => ../store/pgstore
	github.com/sessionguard/sessionguard/store/redisstore => ../store/redisstore
)

replace github.com/sessionguard/sessionguard/store/sqlitestore => ../store/sqlitestore
