module github.com/sessionguard/sessionguard/store/boltstore

go 1.26.0

require github.com/sessionguard/sessionguard v0.0.0-00010101000000-000000000000

require go.etcd.io/bbolt v1.5.0

require (
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

// The repository's own modules come from this checkout, so that GOWORK=off
// works here (see "Working across the modules" in the README). A build
// that uses this module as a dependency ignores these lines.
replace github.com/sessionguard/sessionguard => ../..
