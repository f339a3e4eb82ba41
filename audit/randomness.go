package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"sync/atomic"
)

// minSamples is the fewest tokens the randomness analysis accepts.
const minSamples = 20

// checkRandomness is WSTG-SESS-01: collect fresh tokens and test them.
// It judges the session as a whole: when several cookies that vary carry
// it (ColdFusion's counter CFID beside a random CFTOKEN), their entropy
// adds up, and a part that is not random at all is no biased generator
// when the others carry enough. A signed JWT is a signed statement, not
// a random ID: it is not tested.
func (a *auditor) checkRandomness(ctx context.Context) Check {
	c := newCheck(IDTokenRandomness)
	n := a.t.Samples
	if n < 0 {
		c.skip("not run: turned off (Target.Samples)")
		return c
	}
	if n < minSamples {
		c.skip(fmt.Sprintf("not run: Target.Samples %d is fewer than the %d the analysis needs", n, minSamples))
		return c
	}
	if alg, ok := jwtAlg(a.token); ok {
		if strings.EqualFold(alg, "none") {
			c.fail(SeverityHigh)
			c.add("%s is an unsigned JWT (alg none): anyone can write one", a.cookie)
			return c
		}
		c.skip(fmt.Sprintf("not run: %s is a signed JWT (alg %s): a signed statement, not a random ID; it cannot be guessed without the signing key, so its randomness says nothing", a.cookie, alg))
		return c
	}
	names := a.varyingCookies()
	tokens, source, err := a.collectTokens(ctx, n, names)
	if errors.Is(err, errNoBrowserSamples) || errors.Is(err, ErrSignInBudget) {
		c.skip(err.Error())
		return c
	}
	if err != nil {
		c.errorf("collecting tokens: %v", err)
		return c
	}
	var total, unbiased float64
	biased := false
	for i, name := range names {
		ta := analyzeTokens(tokens[i])
		describeTokens(&c, name, source, ta)
		// Decide on whole bits, as reported: a bit that is 0.998 of a
		// bit does not turn 128 into a warning.
		bits := math.Round(ta.effective)
		total += bits
		if ta.fips.failed() {
			biased = true
		} else {
			unbiased += bits
		}
	}
	if len(names) > 1 {
		c.add("the session as a whole (%s): ≈ %.0f bits, of which %.0f from parts that pass the FIPS 140-2 tests", strings.Join(names, " + "), total, unbiased)
	}
	switch {
	case total < 64:
		c.fail(SeverityHigh)
		c.add("below the 64 bits ASVS 3.2.2 requires: tokens can be guessed")
	case biased && unbiased < 128:
		c.fail(SeverityMedium)
		c.add("the bit stream fails the FIPS 140-2 tests: the generator is biased")
	case total < 128:
		c.fail(SeverityLow)
		c.add("warning: below 128 bits; use 128 or more")
	default:
		c.result(StatusPass)
	}
	return c
}

// varyingCookies are the session cookies whose value changes from one
// sign-in to the next, the session cookie first.
func (a *auditor) varyingCookies() []string {
	out := []string{a.cookie}
	for _, n := range a.cookies {
		if _, fixed := a.static[n]; !fixed && n != a.cookie {
			out = append(out, n)
		}
	}
	return out
}

// describeTokens adds the analysis of one cookie's tokens to c.
func describeTokens(c *Check, name, source string, ta tokenAnalysis) {
	c.add("%d tokens of %s %s, %d distinct", ta.samples, name, source, ta.distinct)
	shape := fmt.Sprintf("length %d (%d of %d tokens), alphabet %s", ta.length, ta.used, ta.samples, ta.alphabet)
	if ta.bitsPerChar > 0 {
		shape += fmt.Sprintf(" (%d bits per character)", ta.bitsPerChar)
	}
	if ta.signature {
		shape += "; a fixed-length trailing segment looks like a signature and is left out"
	}
	c.add("%s", shape)
	line := fmt.Sprintf("per-position analysis: %d of %d positions vary", ta.varying, ta.length)
	if len(ta.nonUniform) > 0 {
		line += fmt.Sprintf("; not uniform over the alphabet at %s (credited their measured entropy)", positions(ta.nonUniform))
	}
	c.add("%s", line)
	if ta.bitBits >= 0 {
		c.add("effective entropy ≈ %.0f bits (character level %.0f, bit level %.0f)", ta.effective, ta.charBits, ta.bitBits)
	} else {
		c.add("effective entropy ≈ %.0f bits (character level; the alphabet does not decode to bits)", ta.effective)
	}
	if ta.collidingPairs > 0 {
		c.add("%d pairs of identical tokens", ta.collidingPairs)
	}
	f := ta.fips
	switch {
	case ta.bitBits < 0:
		c.add("FIPS 140-2 tests not run: the alphabet does not decode to bits")
	case f.blocks == 0:
		c.add("FIPS 140-2 tests not run: %d bits collected, a block is %d (raise Target.Samples)", ta.streamBits, fipsBlock)
	default:
		c.add("FIPS 140-2 on %d block(s) of %d bits: %d failed (monobit %d, poker %d, runs %d, long run %d); first block: %d ones, poker %.2f",
			f.blocks, fipsBlock, f.failedBlocks, f.monobit, f.poker, f.runs, f.longRun, f.firstMonobit, f.firstPoker)
	}
}

// jwtAlg reports the alg of a JWT (three base64url segments, the first a
// JSON header with an alg).
func jwtAlg(v string) (string, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return "", false
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return "", false
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(h, &hdr) != nil || hdr.Alg == "" {
		return "", false
	}
	return hdr.Alg, true
}

// errNoBrowserSamples: the tokens come only from sign-ins, which run in a
// browser; that many browser sign-ins are not made.
var errNoBrowserSamples = errors.New("the session cookie is issued only at sign-in, and the sign-in runs in a browser (Target.SignIn): collecting the samples would take that many browser sign-ins; not tested")

// collectTokens gathers n fresh session tokens, each from a new client:
// from a visit to the login page when the server issues the session
// cookie before sign-in, otherwise from a sign-in. At most Concurrency
// requests are in flight.
func (a *auditor) collectTokens(ctx context.Context, n int, names []string) ([][]string, string, error) {
	anonymous := a.preLoginTok != ""
	source := "from fresh visits to " + rel(a.loginURL)
	if !anonymous {
		source = "from fresh sign-ins (no session cookie before sign-in)"
		if a.t.SignIn != nil {
			return nil, source, errNoBrowserSamples
		}
		if left := a.signInsLeft(); left < n {
			if left < minSamples {
				return nil, source, fmt.Errorf("%w: not run: the session cookie is issued only at sign-in, and the %d sign-ins left of Target.MaxSignIns are fewer than the %d samples the analysis needs", ErrSignInBudget, left, minSamples)
			}
			n = left
		}
	}
	tokens := make([][]string, len(names))
	for i := range tokens {
		tokens[i] = make([]string, n)
	}
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		firstErr   error
		missing    int
		wg         sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	step := max(n/10, 1)
	a.progress("token-randomness: collecting %d tokens %s", n, source)
	for range min(a.t.Concurrency, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				b := a.env.newBrowser("sample")
				b.quiet = true
				var err error
				if anonymous {
					_, err = b.get(ctx, a.loginURL)
				} else {
					_, err = a.signIn(ctx, b, a.loginURL)
				}
				if !anonymous && err == nil {
					// The token is taken: sign the session out at once.
					if _, ok := b.last[a.cookie]; ok {
						taken := maps.Clone(b.last)
						a.closeOne(ctx, b)
						b.last = taken
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if is, ok := b.last[a.cookie]; ok && is.cookie.Value != "" && is.cookie.MaxAge >= 0 {
					for k, name := range names {
						if is, ok := b.last[name]; ok && is.cookie.MaxAge >= 0 {
							tokens[k][i] = is.cookie.Value
						}
					}
				} else if err == nil {
					missing++
				}
				mu.Unlock()
				if d := done.Add(1); d%int64(step) == 0 {
					a.progress("token-randomness: %d/%d", d, n)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, source, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, source, err
	}
	if missing > n/10 {
		return nil, source, fmt.Errorf("%d of %d fresh clients got no %s", missing, n, a.cookie)
	}
	out := make([][]string, len(names))
	for k := range names {
		for i, t := range tokens[k] {
			if t != "" && tokens[0][i] != "" {
				out[k] = append(out[k], t)
			}
		}
	}
	return out, source, nil
}

func (a *auditor) progress(format string, args ...any) {
	if a.t.Progress != nil {
		a.progressMu.Lock()
		defer a.progressMu.Unlock()
		fmt.Fprintln(a.t.Progress, a.env.redact("sessionguard: "+strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")))
	}
}
