package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// WriteJSON writes the report as one indented JSON object, in the schema
// described in the package documentation (version [SchemaVersion]). Besides
// the control characters JSON escapes anyway, DEL, C1 controls,
// bidirectional overrides and other invisible format characters are
// written as \u escapes: the document is plain ASCII where the target
// could have put something a terminal would obey.
func WriteJSON(w io.Writer, rep *Report) error {
	return writeJSON(w, rep)
}

// writeJSON encodes v indented, without HTML escaping, with the
// characters a terminal would obey escaped.
func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(escapeUnsafeJSON(b.Bytes()))
	return err
}

// escapeUnsafeJSON rewrites the unsafe characters of encoded JSON (which
// can only be inside strings) as \u escapes.
func escapeUnsafeJSON(js []byte) []byte {
	if !needsEscape(string(js)) {
		return js
	}
	var out bytes.Buffer
	for i := 0; i < len(js); {
		r, n := utf8.DecodeRune(js[i:])
		switch {
		case r != utf8.RuneError && unsafeRune(r) && r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
		case r != utf8.RuneError && unsafeRune(r) && r >= 0x20:
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.Write(js[i : i+n])
		}
		i += n
	}
	return out.Bytes()
}
