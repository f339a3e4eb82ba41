package audit

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxShown is the longest a string the target supplied is shown; the rest
// is cut, with a mark saying how much.
const maxShown = 2000

// safeText makes s, which may hold what the target supplied, harmless on a
// terminal and in any viewer: control characters (C0, DEL, C1: ESC
// sequences among them), invisible format characters (the bidirectional
// overrides U+202A–U+202E and isolates U+2066–U+2069, zero-width
// characters), line and paragraph separators and invalid UTF-8 are written
// visibly as \xHH or \uHHHH, and a string longer than maxShown bytes is
// cut with a mark. Backslashes stay as they are, so safeText(safeText(s))
// is safeText(s).
func safeText(s string) string {
	cut := 0
	if len(s) > maxShown {
		i := maxShown
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		cut, s = len(s)-i, s[:i]
	}
	if !needsEscape(s) && cut == 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	if cut > 0 {
		fmt.Fprintf(&b, "…[cut: %d more bytes]", cut)
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

// unsafeRune reports whether r must not reach a terminal or a reader raw:
// a control character, a format character (bidi overrides and isolates,
// zero-width characters, the BOM) or a line or paragraph separator.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}
