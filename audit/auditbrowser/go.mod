module github.com/sessionguard/sessionguard/audit/auditbrowser

go 1.26.0

require github.com/sessionguard/sessionguard/audit v0.0.0-00010101000000-000000000000

require (
	github.com/chromedp/cdproto v0.159.3
	github.com/chromedp/chromedp v0.23.0
	golang.org/x/net v0.62.0
)

require github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect

// The repository's own modules come from this checkout, so that GOWORK=off
// works here (see "Working across the modules" in the README). A build
// that uses this module as a dependency ignores these lines.
replace github.com/sessionguard/sessionguard/audit => ../../audit
