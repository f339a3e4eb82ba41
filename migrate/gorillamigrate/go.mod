module github.com/sessionguard/sessionguard/migrate/gorillamigrate

go 1.26.0

require (
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	github.com/sessionguard/sessionguard/migrate v0.0.0-00010101000000-000000000000
)

require github.com/sessionguard/sessionguard v0.0.0-00010101000000-000000000000

replace (
	github.com/sessionguard/sessionguard => ../..
	github.com/sessionguard/sessionguard/migrate => ..
)
