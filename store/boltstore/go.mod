module github.com/sessionguard/sessionguard/store/boltstore

go 1.26.0

require github.com/sessionguard/sessionguard v0.0.0-00010101000000-000000000000

replace github.com/sessionguard/sessionguard => ../..

require go.etcd.io/bbolt v1.5.0

require (
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
