module github.com/sessionguard/sessionguard/migrate

go 1.26.0

require github.com/sessionguard/sessionguard v0.0.0-00010101000000-000000000000

replace github.com/sessionguard/sessionguard => ..
