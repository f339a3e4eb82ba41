module github.com/sessionguard/sessionguard

go 1.25.0
