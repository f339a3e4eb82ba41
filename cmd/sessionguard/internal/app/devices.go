package app

import "strings"

// deviceName turns a User-Agent header into what a person recognises on a
// "where you are signed in" page: "Chrome on Windows", "Safari on macOS",
// "sessionguard audit". The full header stays available (the sessions page
// shows it on hover). It is a best-effort reading of a header the client
// chooses, for display only: never for a security decision.
func deviceName(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "Unknown device"
	}
	for _, t := range tools {
		if strings.Contains(ua, t.marker) {
			return t.name
		}
	}
	browser := ""
	for _, b := range browsers {
		if strings.Contains(ua, b.marker) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range systems {
		if strings.Contains(ua, s.marker) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	// A program that names itself first, as "curl/8.5.0" does.
	name, _, _ := strings.Cut(ua, "/")
	name, _, _ = strings.Cut(name, " ")
	if len(name) > 40 {
		name = name[:40] + "…"
	}
	return strings.ToValidUTF8(name, "")
}

type uaMarker struct{ marker, name string }

// tools are programs that are not browsers, checked first.
var tools = []uaMarker{
	{"sessionguard-audit", "sessionguard audit"},
	{"sessionguard-demo", "sessionguard demo"},
	{"curl/", "curl"},
	{"Wget/", "Wget"},
	{"Go-http-client", "A Go program"},
	{"python-requests", "A Python program"},
	{"HeadlessChrome", "Headless Chrome"},
}

// browsers, in the order that tells them apart: Edge and Opera also say
// Chrome, Chrome also says Safari.
var browsers = []uaMarker{
	{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
	{"OPR/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"Chromium/", "Chromium"},
	{"CriOS/", "Chrome"}, {"Chrome/", "Chrome"},
	{"Safari/", "Safari"},
}

// systems, in the order that tells them apart: Android also says Linux,
// iOS also says "like Mac OS X".
var systems = []uaMarker{
	{"Windows", "Windows"},
	{"iPhone", "iPhone"}, {"iPad", "iPad"},
	{"Android", "Android"},
	{"CrOS", "ChromeOS"},
	{"Macintosh", "macOS"}, {"Mac OS X", "macOS"},
	{"Linux", "Linux"},
}
