package audit

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
)

// Token alphabets, smallest first. A token's alphabet is the first one
// holding every character that varies between samples.
const (
	alphaDecimal   = "0123456789"
	alphaHexLower  = "0123456789abcdef"
	alphaHexUpper  = "0123456789ABCDEF"
	alphaBase32Hex = "0123456789abcdefghijklmnopqrstuv" // PHP, 5 bits per character
	alphaBase32    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	alphaBase64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	alphaBase64    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	alphaPHP64     = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-"
)

var alphabets = []struct{ name, chars string }{
	{"decimal", alphaDecimal},
	{"hex", alphaHexLower},
	{"hex", alphaHexUpper},
	{"base32 (0-9a-v)", alphaBase32Hex},
	{"base32", alphaBase32},
	{"base64url", alphaBase64URL},
	{"base64", alphaBase64},
	{"base64 (0-9a-zA-Z,-)", alphaPHP64},
}

// positionAlpha is the significance level of the per-position uniformity
// test: low, because a token has dozens of positions and a false alarm
// only lowers that position's credit to its measured entropy.
const positionAlpha = 0.001

// tokenAnalysis is the outcome of the randomness tests on a set of tokens.
type tokenAnalysis struct {
	samples, distinct int
	collidingPairs    int
	length, used      int // most common length, and how many tokens have it
	signature         bool
	alphabet          string // name
	alphabetSize      int
	bitsPerChar       int // 0 when the alphabet is not a power of two
	varying           int // character positions that vary
	nonUniform        []int
	charBits          float64 // character-level estimate
	bitBits           float64 // bit-level estimate; -1 when not decodable
	effective         float64
	streamBits        int
	fips              fipsResult
}

// analyzeTokens runs the character-level, bit-level and FIPS 140-2 tests.
func analyzeTokens(raw []string) tokenAnalysis {
	var ta tokenAnalysis
	ta.samples = len(raw)
	tokens := make([]string, len(raw))
	for i, t := range raw {
		if u, err := url.QueryUnescape(t); err == nil {
			t = u
		}
		tokens[i] = t
	}
	tokens, ta.signature = stripSignature(tokens)

	counts := map[string]int{}
	for _, t := range tokens {
		counts[t]++
	}
	ta.distinct = len(counts)
	for _, n := range counts {
		ta.collidingPairs += n * (n - 1) / 2
	}

	// Tokens of the most common length are lined up position by position.
	byLen := map[int]int{}
	for _, t := range tokens {
		byLen[len(t)]++
	}
	for l, n := range byLen {
		if n > ta.used || n == ta.used && l > ta.length {
			ta.length, ta.used = l, n
		}
	}
	var same []string
	for _, t := range tokens {
		if len(t) == ta.length {
			same = append(same, t)
		}
	}
	N := len(same)
	pos := make([]map[byte]int, ta.length)
	for i := range pos {
		pos[i] = map[byte]int{}
	}
	for _, t := range same {
		for i := 0; i < len(t); i++ {
			pos[i][t[i]]++
		}
	}
	var varyingChars []byte
	var varying []int
	for i, m := range pos {
		if len(m) > 1 {
			varying = append(varying, i)
			for ch := range m {
				varyingChars = append(varyingChars, ch)
			}
		}
	}
	ta.varying = len(varying)
	chars := ""
	for _, al := range alphabets {
		if subset(string(varyingChars), al.chars) {
			ta.alphabet, chars = al.name, al.chars
			break
		}
	}
	if chars == "" {
		set := map[byte]bool{}
		for _, ch := range varyingChars {
			set[ch] = true
		}
		ta.alphabet, ta.alphabetSize = fmt.Sprintf("%d distinct characters", len(set)), len(set)
	} else {
		ta.alphabetSize = len(chars)
		if b := math.Log2(float64(len(chars))); b == math.Trunc(b) {
			ta.bitsPerChar = int(b)
		}
	}

	// Character level: a position whose distribution is consistent with
	// uniform over the alphabet is credited in full, any other with its
	// measured (Miller–Madow corrected) entropy.
	maxBits := math.Log2(float64(max(ta.alphabetSize, 1)))
	for _, i := range varying {
		c := make([]int, 0, len(pos[i]))
		for _, n := range pos[i] {
			c = append(c, n)
		}
		if ta.alphabetSize >= 2 && uniformP(c, ta.alphabetSize, N) >= positionAlpha {
			ta.charBits += maxBits
			continue
		}
		ta.nonUniform = append(ta.nonUniform, i+1)
		ta.charBits += math.Min(millerMadow(c, N), maxBits)
	}

	// Bit level, for power-of-two alphabets: each character is its index
	// in the alphabet. Bits that never change (padding, version fields)
	// carry nothing and stay out of the FIPS stream.
	ta.bitBits = -1
	if ta.bitsPerChar > 0 && N >= 2 {
		k := ta.bitsPerChar
		width := len(varying) * k
		ones := make([]int, width)
		bits := make([][]byte, N)
		for j, t := range same {
			bs := make([]byte, 0, width)
			for _, i := range varying {
				v := strings.IndexByte(chars, t[i])
				for b := k - 1; b >= 0; b-- {
					bs = append(bs, byte(v>>b)&1)
				}
			}
			bits[j] = bs
			for p, b := range bs {
				ones[p] += int(b)
			}
		}
		ta.bitBits = 0
		var live []int
		for p, n := range ones {
			if n == 0 || n == N {
				continue
			}
			live = append(live, p)
			z := math.Abs(float64(n)-float64(N)/2) / math.Sqrt(float64(N)/4)
			if z <= 3.29 { // two-sided, alpha 0.001
				ta.bitBits++
			} else {
				ta.bitBits += binaryEntropy(float64(n) / float64(N))
			}
		}
		stream := make([]byte, 0, N*len(live))
		for _, bs := range bits {
			for _, p := range live {
				stream = append(stream, bs[p])
			}
		}
		ta.streamBits = len(stream)
		ta.fips = fips140(stream)
	}

	ta.effective = ta.charBits
	if ta.bitBits >= 0 {
		ta.effective = math.Min(ta.effective, ta.bitBits)
	}
	// Repeated tokens bound the entropy whatever the positions say: with
	// H bits, n tokens share about C(n,2)/2^H pairs.
	if ta.collidingPairs > 0 {
		pairs := float64(len(tokens)) * float64(len(tokens)-1) / 2
		ta.effective = math.Min(ta.effective, math.Max(0, math.Log2(pairs/float64(ta.collidingPairs))))
	}
	return ta
}

// stripSignature drops a trailing signature: when every token has a
// '.'- or '--'-separated last segment of one fixed length, that segment is
// a MAC of the rest (express-session's s:ID.SIG, Rails, itsdangerous) and
// would make a weak ID look strong.
func stripSignature(tokens []string) ([]string, bool) {
	if len(tokens) < 2 {
		return tokens, false
	}
	for _, sep := range []string{"--", "."} {
		sigLen := -1
		ok := true
		for _, t := range tokens {
			i := strings.LastIndex(t, sep)
			if i <= 0 {
				ok = false
				break
			}
			l := len(t) - i - len(sep)
			if sigLen == -1 {
				sigLen = l
			}
			if l != sigLen || l < 16 {
				ok = false
				break
			}
		}
		if ok {
			out := make([]string, len(tokens))
			for i, t := range tokens {
				out[i] = t[:strings.LastIndex(t, sep)]
			}
			return out, true
		}
	}
	return tokens, false
}

// uniformP is the p-value of Pearson's chi-square test of counts (over
// the symbols seen; unseen symbols count zero) against the uniform
// distribution on k symbols.
func uniformP(counts []int, k, n int) float64 {
	e := float64(n) / float64(k)
	x := 0.0
	for _, c := range counts {
		d := float64(c) - e
		x += d * d / e
	}
	x += float64(k-len(counts)) * e // each unseen symbol: (0-e)²/e
	return chiSquareQ(float64(k-1), x)
}

// millerMadow is the plug-in entropy in bits with the Miller–Madow bias
// correction, (m-1)/(2N) nats.
func millerMadow(counts []int, n int) float64 {
	h := 0.0
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h + float64(len(counts)-1)/(2*float64(n)*math.Ln2)
}

func binaryEntropy(p float64) float64 {
	if p <= 0 || p >= 1 {
		return 0
	}
	return -p*math.Log2(p) - (1-p)*math.Log2(1-p)
}

// chiSquareQ is the upper tail P(X² > x) with df degrees of freedom.
func chiSquareQ(df, x float64) float64 {
	if x <= 0 {
		return 1
	}
	return 1 - gammaP(df/2, x/2)
}

// gammaP is the regularized lower incomplete gamma function, by its
// series below a+1 and by Lentz's continued fraction above.
func gammaP(a, x float64) float64 {
	if x <= 0 {
		return 0
	}
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 1000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return sum * math.Exp(-x+a*math.Log(x)-lg)
	}
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return 1 - math.Exp(-x+a*math.Log(x)-lg)*h
}

// fipsBlock is the block size of the FIPS 140-2 statistical tests.
const fipsBlock = 20000

// FIPS 140-2 §4.9.1 runs-test intervals for runs of length 1..5 and 6+.
var (
	fipsRunsMin = [6]int{2315, 1114, 527, 240, 103, 103}
	fipsRunsMax = [6]int{2685, 1386, 723, 384, 209, 209}
)

// fipsResult counts the 20,000-bit blocks failing each FIPS 140-2 test.
type fipsResult struct {
	blocks                        int
	monobit, poker, runs, longRun int // failures
	failedBlocks                  int
	firstMonobit                  int     // ones in the first block, for evidence
	firstPoker                    float64 // poker statistic of the first block
}

// fips140 runs the four FIPS 140-2 tests on each full block of bits
// (one bit per byte).
func fips140(bits []byte) fipsResult {
	var r fipsResult
	for off := 0; off+fipsBlock <= len(bits); off += fipsBlock {
		blk := bits[off : off+fipsBlock]
		failed := false

		ones := 0
		for _, b := range blk {
			ones += int(b)
		}
		if !(ones > 9725 && ones < 10275) {
			r.monobit++
			failed = true
		}

		var f [16]int
		for i := 0; i < fipsBlock; i += 4 {
			f[blk[i]<<3|blk[i+1]<<2|blk[i+2]<<1|blk[i+3]]++
		}
		sum := 0.0
		for _, n := range f {
			sum += float64(n) * float64(n)
		}
		poker := 16.0/5000*sum - 5000
		if !(poker > 2.16 && poker < 46.17) {
			r.poker++
			failed = true
		}

		var runs [2][6]int
		longest := 0
		for i := 0; i < fipsBlock; {
			j := i
			for j < fipsBlock && blk[j] == blk[i] {
				j++
			}
			l := j - i
			longest = max(longest, l)
			runs[blk[i]][min(l, 6)-1]++
			i = j
		}
		runsOK := true
		for b := range 2 {
			for k := range 6 {
				if runs[b][k] < fipsRunsMin[k] || runs[b][k] > fipsRunsMax[k] {
					runsOK = false
				}
			}
		}
		if !runsOK {
			r.runs++
			failed = true
		}
		if longest >= 26 {
			r.longRun++
			failed = true
		}
		if r.blocks == 0 {
			r.firstMonobit, r.firstPoker = ones, poker
		}
		r.blocks++
		if failed {
			r.failedBlocks++
		}
	}
	return r
}

// failed applies the decision rule: a good generator fails a block about
// once in a thousand, so one failing block among several is noise, while
// two, or a single block that fails, are not.
func (r fipsResult) failed() bool {
	return r.failedBlocks >= 2 || r.blocks > 0 && r.failedBlocks == r.blocks
}

// positions lists 1-based positions compactly: "1-3, 7".
func positions(ps []int) string {
	sort.Ints(ps)
	var parts []string
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", ps[i], ps[j]))
		} else {
			parts = append(parts, fmt.Sprint(ps[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
