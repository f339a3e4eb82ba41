module github.com/sessionguard/sessionguard/internal/testsupport

go 1.26.0

require github.com/sessionguard/sessionguard v0.0.0-00010101000000-000000000000

require (
	github.com/jackc/pgx/v5 v5.12.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

// The repository's own modules come from this checkout, so that GOWORK=off
// works here (see "Working across the modules" in the README). A build
// that uses this module as a dependency ignores these lines.
replace github.com/sessionguard/sessionguard => ../..
