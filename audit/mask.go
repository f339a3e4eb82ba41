package audit

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MinMaskablePassword is the length (in characters) from which a secret is
// masked wherever it appears in an output. A shorter one (a word such as
// "dashboard", a value such as "1") could not be told apart from the
// report's own text and from what the application shows anyway: masking
// it everywhere would both corrupt the report and point at the secret
// ("SameSite=La[hidden]"). Such a secret is masked only where it stands as
// the value of a credential-named parameter or header
// (password=…, token: …) and, with the user name, in Basic-style base64;
// the audit warns about it.
const MinMaskablePassword = 12

// hiddenMark replaces a secret in every output.
const hiddenMark = "[hidden]"

// masker hides the secrets of one audit (the password, secret header
// values) in every encoding applications use. It is safe for concurrent
// use: it is not modified after newMasker.
type masker struct {
	// strong are masked wherever they appear, in any mix of raw,
	// percent-encoded (either case, + or %20 for a space), HTML entities
	// (named, decimal, hex) and JSON or JavaScript escapes.
	strong [][]byte
	// needles are encoded forms of the secrets (base64, base64url, hex)
	// masked wherever they appear, also inside longer base64 text.
	needles []string
	// weak are too short to be masked everywhere: only as a whole value
	// of a credential-named parameter or header.
	weak []string
}

// secretHeader reports whether a header value given with Target.Header is
// a secret: a credential header by name (Authorization, API keys, tokens)
// or any value long enough to be one.
func secretHeader(name, value string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization":
		return true
	}
	return credentialName.MatchString(name) || utf8.RuneCountInString(value) >= 16
}

// credentialName matches a parameter or header name that carries a
// credential.
var credentialName = regexp.MustCompile(`(?i)pass|pwd|secret|token|key|auth|cred|sig|session|cookie|otp|pin\b`)

// newMasker builds the masker for a password, the user name it goes with,
// and the header values of Target.Header. weak lists what could not be
// masked everywhere, for a warning (field names, never values).
func newMasker(user, password string, header http.Header) (m *masker, weak []string) {
	m = &masker{}
	if password != "" && m.add(user, password) {
		weak = append(weak, "Target.Password")
	}
	for name, vals := range header {
		for _, v := range vals {
			if !secretHeader(name, v) || v == "" {
				continue
			}
			isWeak := m.add("", v)
			// The credential of "Bearer X" or "Basic X" on its own, and
			// the password inside Basic's user:password.
			if scheme, cred, ok := strings.Cut(v, " "); ok && cred != "" {
				isWeak = m.add("", strings.TrimSpace(cred)) || isWeak
				if strings.EqualFold(scheme, "basic") {
					if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred)); err == nil {
						u, p, _ := strings.Cut(string(dec), ":")
						isWeak = m.add(u, p) || isWeak
					}
				}
			}
			if isWeak && !slices.Contains(weak, "Target.Header "+name) {
				weak = append(weak, "Target.Header "+http.CanonicalHeaderKey(name))
			}
		}
	}
	slices.SortFunc(m.needles, func(a, b string) int { return len(b) - len(a) })
	return m, weak
}

// add registers secret s (with user, for user:s forms) and reports
// whether it is too short to be masked everywhere.
func (m *masker) add(user, s string) (weak bool) {
	if s == "" {
		return false
	}
	var forms [][]byte
	if user != "" {
		forms = append(forms, []byte(user+":"+s))
	}
	weak = utf8.RuneCountInString(s) < MinMaskablePassword
	if weak {
		m.weak = append(m.weak, s)
	} else {
		m.strong = append(m.strong, []byte(s))
		// Inside base64, where no decoding reaches, the secret also
		// stands as a form body, a JSON string (Go's and Python's
		// escapes) carry it.
		for _, f := range textForms(s) {
			forms = append(forms, []byte(f))
		}
		m.needles = append(m.needles, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
	}
	for _, f := range forms {
		for _, n := range base64Needles(f) {
			if len(n) >= 8 && !slices.Contains(m.needles, n) {
				m.needles = append(m.needles, n)
			}
		}
	}
	return weak
}

// textForms are s and the ways text formats write it: form-encoded, and
// as a JSON string with Go's escapes (HTML-safe or not) and Python's
// (every non-ASCII character as \uXXXX). Each appears once.
func textForms(s string) []string {
	forms := []string{s}
	add := func(f string) {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	add(url.QueryEscape(s))
	for _, escapeHTML := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(s) == nil {
			add(strings.TrimSuffix(strings.TrimSpace(b.String())[1:], `"`))
		}
	}
	var py strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			py.WriteByte('\\')
			py.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&py, `\u%04x\u%04x`, r1, r2)
		case r > 127:
			fmt.Fprintf(&py, `\u%04x`, r)
		default:
			py.WriteRune(r)
		}
	}
	add(py.String())
	return forms
}

// base64Needles are the parts of the base64 and base64url encodings of b
// that do not depend on what surrounds it, at each of the three
// alignments b can have inside longer encoded text.
func base64Needles(b []byte) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := range 3 {
			data := append(make([]byte, k), b...)
			s := enc.EncodeToString(data)
			start := []int{0, 2, 3}[k] // characters that hold bits of the k bytes before
			end := len(s)
			if len(data)%3 != 0 {
				end-- // the last character holds bits of the byte after
			}
			if end > start {
				out = append(out, s[start:end])
			}
		}
	}
	return out
}

// span is a part of a string to replace: hidden, or a token to show as its
// fingerprint.
type span struct {
	start, end int
	token      string // "" for a secret
}

// hiddenSpans finds every place s holds a secret: the strong secrets and
// the encoded needles in s with its characters decoded (once, and twice,
// for an encoding of an encoding such as %2540 or &amp;#64;), the weak
// secrets as credential values.
func (m *masker) hiddenSpans(s string) []span {
	if m == nil {
		return nil
	}
	var out []span
	if len(m.strong) > 0 || len(m.needles) > 0 {
		plus := []bool{false}
		if strings.IndexByte(s, '+') >= 0 {
			plus = append(plus, true)
		}
		for _, p := range plus {
			once := decode(s, p)
			for _, v := range []decoded{once, once.again(p)} {
				out = append(out, v.find(m.strong, m.needles)...)
			}
		}
	}
	if len(m.weak) > 0 {
		out = append(out, m.weakSpans(s)...)
	}
	return out
}

// find returns the spans of the original string where v holds one of
// secrets or needles.
func (v decoded) find(secrets [][]byte, needles []string) []span {
	var out []span
	look := func(x []byte) {
		for off := 0; ; {
			i := bytes.Index(v.b[off:], x)
			if i < 0 {
				return
			}
			i += off
			out = append(out, span{start: v.from[i], end: v.to[i+len(x)-1]})
			off = i + 1
		}
	}
	for _, sec := range secrets {
		look(sec)
	}
	for _, n := range needles {
		look([]byte(n))
	}
	return out
}

// again decodes v once more, its bytes still mapped to the original
// string.
func (v decoded) again(plusSpace bool) decoded {
	w := decode(string(v.b), plusSpace)
	for i := range w.b {
		w.from[i], w.to[i] = v.from[w.from[i]], v.to[w.to[i]-1]
	}
	return w
}

// credentialValue matches name=value, name: value and "name":"value"
// where the name is credential-like; group 1 is the value.
var credentialValue = regexp.MustCompile(`(?i)[a-z0-9_.\-\[\]]*(?:pass|pwd|pw|secret|token|key|auth|cred|sig|otp|pin)[a-z0-9_.\-\[\]]*(?:=|:[ \t]*|"[ \t]*:[ \t]*")([^&;\s"'<>,#]*)`)

// valueAttr matches an HTML value attribute; group 1 is the value. A
// form drawn again with what was typed into it (the password field's
// value included) is the commonest echo of a password.
var valueAttr = regexp.MustCompile(`(?i)\bvalue\s*=\s*["']?([^"'\s<>]*)`)

// weakSpans finds the short secrets where they are the whole value of a
// credential-named parameter or header.
func (m *masker) weakSpans(s string) []span {
	var out []span
	locs := credentialValue.FindAllStringSubmatchIndex(s, -1)
	locs = append(locs, valueAttr.FindAllStringSubmatchIndex(s, -1)...)
	for _, loc := range locs {
		v := s[loc[2]:loc[3]]
		if v == "" {
			continue
		}
		cands := []string{v, html.UnescapeString(v)}
		if d, err := url.QueryUnescape(v); err == nil {
			cands = append(cands, d)
		}
		if d, err := url.PathUnescape(v); err == nil {
			cands = append(cands, d)
		}
		for _, w := range m.weak {
			if slices.Contains(cands, w) {
				out = append(out, span{start: loc[2], end: loc[3]})
				break
			}
		}
	}
	return out
}

// decoded is s with every encoded character decoded, each byte mapped
// back to the part of s it came from.
type decoded struct {
	b        []byte
	from, to []int
}

var (
	numericEntity = regexp.MustCompile(`^&#(?:[0-9]{1,7}|[xX][0-9a-fA-F]{1,6});?`)
	namedEntity   = regexp.MustCompile(`^&[A-Za-z][A-Za-z0-9]{1,31};`)
)

// decode undoes, character by character, percent-encoding (either case;
// + as a space when plusSpace), HTML character references and JSON or
// JavaScript escapes, so that a secret is found however an application
// wrote each of its characters.
func decode(s string, plusSpace bool) decoded {
	d := decoded{b: make([]byte, 0, len(s)), from: make([]int, 0, len(s)), to: make([]int, 0, len(s))}
	emit := func(b []byte, from, to int) {
		for _, c := range b {
			d.b = append(d.b, c)
			d.from = append(d.from, from)
			d.to = append(d.to, to)
		}
	}
	for i := 0; i < len(s); {
		n, out := decodeAt(s, i, plusSpace)
		emit(out, i, i+n)
		i += n
	}
	return d
}

// decodeAt decodes the character at s[i:]: it returns how many bytes of s
// it took and what they stand for.
func decodeAt(s string, i int, plusSpace bool) (int, []byte) {
	switch c := s[i]; {
	case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
		b, _ := hex.DecodeString(s[i+1 : i+3])
		return 3, b
	case c == '+' && plusSpace:
		return 1, []byte{' '}
	case c == '&':
		rest := s[i:min(len(s), i+40)]
		for _, re := range []*regexp.Regexp{numericEntity, namedEntity} {
			if m := re.FindString(rest); m != "" {
				if u := html.UnescapeString(m); u != m {
					return len(m), []byte(u)
				}
			}
		}
	case c == '\\' && i+1 < len(s):
		return unescapeJS(s, i)
	}
	return 1, []byte{s[i]}
}

// unescapeJS decodes the JSON or JavaScript escape at s[i] ('\\').
func unescapeJS(s string, i int) (int, []byte) {
	simple := map[byte]byte{'"': '"', '\\': '\\', '/': '/', '\'': '\'', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
	if c, ok := simple[s[i+1]]; ok {
		return 2, []byte{c}
	}
	if s[i+1] == 'x' && i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]) {
		b, _ := hex.DecodeString(s[i+2 : i+4])
		return 4, []byte(string(rune(b[0])))
	}
	r1, ok := hex4(s, i)
	if !ok {
		return 1, []byte{'\\'}
	}
	if r1 >= 0xD800 && r1 < 0xDC00 {
		if r2, ok := hex4(s, i+6); ok && r2 >= 0xDC00 && r2 < 0xE000 {
			return 12, []byte(string(rune((r1-0xD800)<<10 + (r2 - 0xDC00) + 0x10000)))
		}
	}
	return 6, []byte(string(rune(r1)))
}

// hex4 reads \uXXXX at s[i].
func hex4(s string, i int) (int, bool) {
	if i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s[i+2 : i+6]) {
		if !isHex(c) {
			return 0, false
		}
		v, _ := hex.DecodeString(string([]byte{'0', c}))
		n = n<<4 | int(v[0])
	}
	return n, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// carriesSecret reports whether u holds a secret: a strong one anywhere,
// in any encoding; a short one as the value of a credential-named
// parameter.
func (m *masker) carriesSecret(u *url.URL) bool {
	return len(m.hiddenSpans(u.String())) > 0
}

// apply replaces the secret spans of s by hiddenMark and the token spans
// by their fingerprint. Spans that overlap a secret are hidden whole, so
// that neither a secret nor a token shows through the other.
func apply(s string, spans []span) string {
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return (b.end - b.start) - (a.end - a.start)
	})
	var merged []span
	for _, sp := range spans {
		if n := len(merged); n > 0 && sp.start < merged[n-1].end {
			last := &merged[n-1]
			if sp.token != "" && sp.end <= last.end {
				continue // a token inside a token or a secret: shown as that
			}
			last.end = max(last.end, sp.end)
			if sp.token == "" || last.token != sp.token {
				last.token = "" // a secret, or two overlapping tokens: hidden
			}
			continue
		}
		merged = append(merged, sp)
	}
	var b strings.Builder
	prev := 0
	for _, sp := range merged {
		b.WriteString(s[prev:sp.start])
		if sp.token != "" {
			b.WriteString(mask(sp.token))
		} else {
			b.WriteString(hiddenMark)
		}
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}
