package audit

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"testing"
)

func seeded(seed byte) *mrand.Rand { return mrand.New(mrand.NewChaCha8([32]byte{seed})) }

func randomBits(r *mrand.Rand, n int, p float64) []byte {
	bits := make([]byte, n)
	for i := range bits {
		if r.Float64() < p {
			bits[i] = 1
		}
	}
	return bits
}

func TestFIPS140(t *testing.T) {
	long := randomBits(seeded(1), fipsBlock, 0.5)
	for i := 5000; i < 5030; i++ {
		long[i] = 1
	}
	tests := []struct {
		name                          string
		bits                          []byte
		monobit, poker, runs, longRun int
	}{
		{name: "good generator", bits: randomBits(seeded(2), 10*fipsBlock, 0.5)},
		{name: "biased 60% ones", bits: randomBits(seeded(3), fipsBlock, 0.6), monobit: 1, poker: 1, runs: 1},
		{name: "all zeros", bits: make([]byte, fipsBlock), monobit: 1, poker: 1, runs: 1, longRun: 1},
		{name: "one run of 30 ones", bits: long, longRun: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fips140(tc.bits)
			if r.blocks != len(tc.bits)/fipsBlock {
				t.Errorf("%d blocks", r.blocks)
			}
			if r.monobit != tc.monobit || r.poker != tc.poker || r.runs != tc.runs || r.longRun != tc.longRun {
				t.Errorf("failures monobit %d poker %d runs %d long run %d, want %d %d %d %d",
					r.monobit, r.poker, r.runs, r.longRun, tc.monobit, tc.poker, tc.runs, tc.longRun)
			}
		})
	}
}

func TestChiSquareQ(t *testing.T) {
	// 95th percentiles of the chi-square distribution.
	for _, tc := range []struct{ df, x float64 }{{1, 3.841}, {10, 18.307}, {15, 24.996}, {63, 82.529}} {
		if q := chiSquareQ(tc.df, tc.x); math.Abs(q-0.05) > 0.001 {
			t.Errorf("Q(%v, %v) = %v, want 0.05", tc.df, tc.x, q)
		}
	}
}

func genTokens(n int, f func(r *mrand.Rand, i int) string) []string {
	r := seeded(7)
	out := make([]string, n)
	for i := range out {
		out[i] = f(r, i)
	}
	return out
}

func randBytes(r *mrand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestAnalyzeTokens(t *testing.T) {
	tests := []struct {
		name       string
		tokens     []string
		min, max   float64 // effective entropy bounds
		fipsBlocks int
		fipsFailed bool
	}{
		{
			name: "256-bit base64url", min: 250, max: 258, fipsBlocks: 2,
			tokens: genTokens(200, func(r *mrand.Rand, _ int) string { return base64.RawURLEncoding.EncodeToString(randBytes(r, 32)) }),
		},
		{
			name: "128-bit hex", min: 126, max: 129, fipsBlocks: 1,
			tokens: genTokens(200, func(r *mrand.Rand, _ int) string { return hex.EncodeToString(randBytes(r, 16)) }),
		},
		{
			name: "PHP 26 characters of 0-9a-v", min: 125, max: 131,
			tokens: genTokens(200, func(r *mrand.Rand, _ int) string { return tokenBase32Hex(26)(r) }),
		},
		{
			name: "UUIDv4 (122 random bits)", min: 116, max: 124,
			tokens: genTokens(300, func(r *mrand.Rand, _ int) string {
				b := randBytes(r, 16)
				b[6] = b[6]&0x0f | 0x40
				b[8] = b[8]&0x3f | 0x80
				h := hex.EncodeToString(b)
				return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
			}),
		},
		{
			name: "a counter", min: 0, max: 20,
			tokens: genTokens(200, func(_ *mrand.Rand, i int) string { return fmt.Sprintf("%016x", 5000+i) }),
		},
		{
			name: "a millisecond clock and a counter in base64", min: 0, max: 40,
			tokens: genTokens(200, func(_ *mrand.Rand, i int) string {
				b := []byte{0, 0, 1, 0x8f, 0x20, byte(i / 7), byte(i), byte(i * 3)}
				return base64.RawURLEncoding.EncodeToString(b)
			}),
		},
		{
			name: "16 random bits repeat", min: 0, max: 17,
			tokens: genTokens(1000, func(r *mrand.Rand, _ int) string { return fmt.Sprintf("%032x", r.IntN(1<<16)) }),
		},
		{
			name: "express-session s:ID.SIG, URL-escaped: the signature is not entropy", min: 185, max: 194,
			tokens: genTokens(200, func(r *mrand.Rand, _ int) string {
				id := base64.RawURLEncoding.EncodeToString(randBytes(r, 24))
				return url.QueryEscape("s:" + id + "." + base64.RawStdEncoding.EncodeToString(randBytes(r, 32)))
			}),
		},
		{
			name: "weak ID behind a signature", min: 0, max: 20,
			tokens: genTokens(200, func(r *mrand.Rand, i int) string {
				return fmt.Sprintf("%08d", i) + "--" + hex.EncodeToString(randBytes(r, 20))
			}),
		},
		{
			name: "biased bits: slight loss of entropy, caught by FIPS 140-2", min: 240, max: 257, fipsBlocks: 1, fipsFailed: true,
			tokens: genTokens(100, func(r *mrand.Rand, _ int) string {
				b := randBytes(r, 32)
				for i := range b {
					x, y, z := byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())
					b[i] |= x & y & z // ones at about 9/16
				}
				return hex.EncodeToString(b)
			}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ta := analyzeTokens(tc.tokens)
			if ta.effective < tc.min || ta.effective > tc.max {
				t.Errorf("effective entropy %.1f bits, want %v..%v (char %.1f, bit %.1f, alphabet %s, non-uniform %v)",
					ta.effective, tc.min, tc.max, ta.charBits, ta.bitBits, ta.alphabet, ta.nonUniform)
			}
			if tc.fipsBlocks > 0 && ta.fips.blocks < tc.fipsBlocks {
				t.Errorf("%d FIPS blocks, want at least %d", ta.fips.blocks, tc.fipsBlocks)
			}
			if ta.fips.failed() != tc.fipsFailed {
				t.Errorf("FIPS failed = %v, want %v (%+v)", ta.fips.failed(), tc.fipsFailed, ta.fips)
			}
		})
	}
}
