package quality

import (
	"fmt"
	"image"
	"math"
	"math/bits"
	"sort"
	"strconv"
)

// hashSize is the side of the grey thumbnail the DCT runs on; hashBits is the side of the
// low-frequency block whose coefficients become the 64 hash bits.
const (
	hashSize = 32
	hashBits = 8
)

// dctTable holds cos((2x+1)uπ/2N) for the 32-point DCT-II, computed once per call site.
type dctTable [hashBits][hashSize]float64

func newDCTTable() *dctTable {
	var t dctTable
	for u := 0; u < hashBits; u++ {
		for x := 0; x < hashSize; x++ {
			t[u][x] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / (2 * hashSize))
		}
	}
	return &t
}

// PHash returns the 64-bit DCT perceptual hash of img: the image is reduced to a 32×32 grey
// thumbnail (box filter), transformed with a 2-D DCT-II, and each of the 8×8 lowest-frequency
// coefficients becomes one bit, set when the coefficient is above the median of the 63
// non-DC coefficients. Bit 63 is coefficient (0,0) (the DC term, always compared against the
// median too), bit 0 is (7,7). Similar images give hashes a small Hamming distance apart.
func PHash(img image.Image) uint64 {
	return NewGrey(img).PHash()
}

// PHash is the DCT perceptual hash of the grey image; see the package function PHash.
func (gr *Grey) PHash() uint64 {
	g := gr.Thumbnail(hashSize)
	t := newDCTTable()
	// Separable transform: rows first (only the 8 lowest frequencies are needed), then columns.
	var rows [hashSize][hashBits]float64
	for y := 0; y < hashSize; y++ {
		for u := 0; u < hashBits; u++ {
			var s float64
			for x := 0; x < hashSize; x++ {
				s += g[y*hashSize+x] * t[u][x]
			}
			rows[y][u] = s
		}
	}
	var coef [hashBits * hashBits]float64
	for v := 0; v < hashBits; v++ {
		for u := 0; u < hashBits; u++ {
			var s float64
			for y := 0; y < hashSize; y++ {
				s += rows[y][u] * t[v][y]
			}
			coef[v*hashBits+u] = s
		}
	}
	ac := make([]float64, 0, len(coef)-1)
	ac = append(ac, coef[1:]...)
	sort.Float64s(ac)
	median := ac[len(ac)/2] // 63 values: the 32nd
	var h uint64
	for i, c := range coef {
		if c > median {
			h |= 1 << uint(len(coef)-1-i)
		}
	}
	return h
}

// Thumbnail reduces img to a size×size grey image (luma in 0..255, row-major) by averaging
// the source pixels that fall into each cell (a box filter; cells get at least one pixel).
func Thumbnail(img image.Image, size int) []float64 {
	return NewGrey(img).Thumbnail(size)
}

// Hamming returns the number of differing bits between two hashes.
func Hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// FormatHash writes a hash as 16 lower-case hex digits (the Figure.PHash form).
func FormatHash(h uint64) string { return fmt.Sprintf("%016x", h) }

// ParseHash reads a hash written by FormatHash.
func ParseHash(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("phash %q: want 16 hex digits", s)
	}
	h, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("phash %q: %w", s, err)
	}
	return h, nil
}
