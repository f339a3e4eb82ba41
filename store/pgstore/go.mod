module github.com/sessionguard/sessionguard/store/pgstore

go 1.26.0

require (
	github.com/sessionguard/sessionguard v0.0.0-00010101000000-000000000000
	github.com/sessionguard/sessionguard/internal/testsupport v0.0.0-00010101000000-000000000000
)

require github.com/jackc/pgx/v5 v5.12.0

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

// The repository's own modules come from this checkout, so that GOWORK=off
// works here (see "Working across the modules" in the README). A build
// that uses this module as a dependency ignores these lines.
replace (
	github.com/sessionguard/sessionguard => ../..
	github.com/sessionguard/sessionguard/internal/testsupport => ../../internal/testsupport
)
