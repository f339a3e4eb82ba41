package audit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// minSamples is the fewest tokens the randomness analysis accepts.
const minSamples = 20

// checkRandomness is WSTG-SESS-01: collect fresh tokens and test them.
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
	tokens, source, err := a.collectTokens(ctx, n)
	if errors.Is(err, errNoBrowserSamples) || errors.Is(err, ErrSignInBudget) {
		c.skip(err.Error())
		return c
	}
	if err != nil {
		c.errorf("collecting tokens: %v", err)
		return c
	}
	ta := analyzeTokens(tokens)
	c.add("%d tokens of %s %s, %d distinct", ta.samples, a.cookie, source, ta.distinct)
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
	// Decide on whole bits, as reported: a bit that is 0.998 of a bit
	// does not turn 128 into a warning.
	bits := math.Round(ta.effective)
	switch {
	case bits < 64:
		c.fail(SeverityHigh)
		c.add("below the 64 bits ASVS 3.2.2 requires: tokens can be guessed")
	case f.failed():
		c.fail(SeverityMedium)
		c.add("the bit stream fails the FIPS 140-2 tests: the generator is biased")
	case bits < 128:
		c.fail(SeverityLow)
		c.add("warning: below 128 bits; use 128 or more")
	default:
		c.result(StatusPass)
	}
	return c
}

// errNoBrowserSamples: the tokens come only from sign-ins, which run in a
// browser; that many browser sign-ins are not made.
var errNoBrowserSamples = errors.New("the session cookie is issued only at sign-in, and the sign-in runs in a browser (Target.SignIn): collecting the samples would take that many browser sign-ins; not tested")

// collectTokens gathers n fresh session tokens, each from a new client:
// from a visit to the login page when the server issues the session
// cookie before sign-in, otherwise from a sign-in. At most Concurrency
// requests are in flight.
func (a *auditor) collectTokens(ctx context.Context, n int) ([]string, string, error) {
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
	tokens := make([]string, n)
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
					if is, ok := b.last[a.cookie]; ok {
						tok := is.cookie.Value
						a.closeOne(ctx, b)
						b.last[a.cookie] = issued{cookie: &http.Cookie{Name: a.cookie, Value: tok}}
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if is, ok := b.last[a.cookie]; ok && is.cookie.Value != "" && is.cookie.MaxAge >= 0 {
					tokens[i] = is.cookie.Value
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
	out := tokens[:0]
	for _, t := range tokens {
		if t != "" {
			out = append(out, t)
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
