module github.com/sessionguard/sessionguard/migrate/scsmigrate

go 1.26.0

require (
	github.com/alexedwards/scs/boltstore v0.0.0-20251002162104-209de6e426de
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/sessionguard/sessionguard v0.0.0-00010101000000-000000000000
	github.com/sessionguard/sessionguard/migrate v0.0.0-00010101000000-000000000000
	go.etcd.io/bbolt v1.5.0
)

require golang.org/x/sys v0.50.0 // indirect

replace (
	github.com/sessionguard/sessionguard => ../..
	github.com/sessionguard/sessionguard/migrate => ..
)
