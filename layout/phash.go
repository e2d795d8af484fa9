package layout

import (
	"fmt"
	"image"
	"math"
	"sort"
)

// PHash is the 64-bit DCT perceptual hash of an image as 16 hex digits: the image is reduced
// to 32×32 grey levels, transformed with a 2-D DCT-II, and each of the 8×8 lowest frequencies
// (the DC term excluded from the median) becomes one bit: above the median or not.
func PHash(img image.Image) string {
	const n = 32
	b := img.Bounds()
	if b.Dx() == 0 || b.Dy() == 0 {
		return ""
	}
	var px [n][n]float64
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			// Box-average the source pixels of this cell.
			x0 := b.Min.X + x*b.Dx()/n
			x1 := max(x0+1, b.Min.X+(x+1)*b.Dx()/n)
			y0 := b.Min.Y + y*b.Dy()/n
			y1 := max(y0+1, b.Min.Y+(y+1)*b.Dy()/n)
			sx, sy := max(1, (x1-x0)/4), max(1, (y1-y0)/4)
			sum, cnt := 0.0, 0.0
			for yy := y0; yy < y1; yy += sy {
				for xx := x0; xx < x1; xx += sx {
					r, g, bl, a := img.At(xx, yy).RGBA()
					l := 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)
					// Transparent pixels count as white paper.
					l = l*float64(a)/0xffff + 0xffff*(1-float64(a)/0xffff)
					sum += l
					cnt++
				}
			}
			px[y][x] = sum / cnt / 257
		}
	}
	var cosT [8][n]float64
	for u := 0; u < 8; u++ {
		for x := 0; x < n; x++ {
			cosT[u][x] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / (2 * n))
		}
	}
	var coef [64]float64
	for u := 0; u < 8; u++ {
		for v := 0; v < 8; v++ {
			s := 0.0
			for y := 0; y < n; y++ {
				for x := 0; x < n; x++ {
					s += px[y][x] * cosT[u][y] * cosT[v][x]
				}
			}
			coef[u*8+v] = s
		}
	}
	sorted := append([]float64(nil), coef[1:]...)
	sort.Float64s(sorted)
	med := (sorted[31] + sorted[32]) / 2
	var h uint64
	for i, c := range coef {
		if c > med {
			h |= 1 << uint(63-i)
		}
	}
	return fmt.Sprintf("%016x", h)
}
