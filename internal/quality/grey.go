package quality

import (
	"image"
	"math"
)

// Grey is an 8-bit luma copy of an image, the form every quality measure works on.
type Grey struct {
	W, H int
	Pix  []uint8 // row-major, W×H
}

// NewGrey converts img to luma (Rec. 601), compositing translucent pixels over white, since
// figures are drawn on white pages. Common decoder outputs take a fast path.
func NewGrey(img image.Image) *Grey {
	b := img.Bounds()
	g := &Grey{W: b.Dx(), H: b.Dy()}
	if g.W <= 0 || g.H <= 0 || g.W > 1<<15 || g.H > 1<<15 {
		// Empty, or not a raster (image.Uniform): nothing to measure.
		g.W, g.H = 0, 0
		return g
	}
	g.Pix = make([]uint8, g.W*g.H)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < g.H; y++ {
			copy(g.Pix[y*g.W:(y+1)*g.W], m.Pix[y*m.Stride:y*m.Stride+g.W])
		}
	case *image.YCbCr:
		for y := 0; y < g.H; y++ {
			copy(g.Pix[y*g.W:(y+1)*g.W], m.Y[y*m.YStride:y*m.YStride+g.W])
		}
	case *image.RGBA:
		for y := 0; y < g.H; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < g.W; x++ {
				p := row[4*x : 4*x+4]
				// Premultiplied: add the white that shows through.
				l := 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2]) + float64(255-p[3])
				g.Pix[y*g.W+x] = clamp8(l)
			}
		}
	case *image.NRGBA:
		for y := 0; y < g.H; y++ {
			row := m.Pix[y*m.Stride:]
			for x := 0; x < g.W; x++ {
				p := row[4*x : 4*x+4]
				a := float64(p[3]) / 255
				l := (0.299*float64(p[0])+0.587*float64(p[1])+0.114*float64(p[2]))*a + 255*(1-a)
				g.Pix[y*g.W+x] = clamp8(l)
			}
		}
	default:
		for y := 0; y < g.H; y++ {
			for x := 0; x < g.W; x++ {
				r, gg, bb, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				// RGBA() is premultiplied, 16-bit.
				l := (0.299*float64(r)+0.587*float64(gg)+0.114*float64(bb))/257 + 255*(1-float64(a)/0xffff)
				g.Pix[y*g.W+x] = clamp8(l)
			}
		}
	}
	return g
}

func clamp8(v float64) uint8 {
	v = math.Round(v)
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Thumbnail reduces the image to size×size (row-major floats in 0..255) by averaging the
// pixels of each cell (a box filter; every cell covers at least one pixel).
func (g *Grey) Thumbnail(size int) []float64 {
	out := make([]float64, size*size)
	if g.W == 0 || g.H == 0 {
		return out
	}
	for ty := 0; ty < size; ty++ {
		y0, y1 := span(ty, size, g.H)
		for tx := 0; tx < size; tx++ {
			x0, x1 := span(tx, size, g.W)
			var sum int
			for y := y0; y < y1; y++ {
				for _, p := range g.Pix[y*g.W+x0 : y*g.W+x1] {
					sum += int(p)
				}
			}
			out[ty*size+tx] = float64(sum) / float64((y1-y0)*(x1-x0))
		}
	}
	return out
}

// span returns the source pixel interval [lo, hi) of cell i of n over length l.
func span(i, n, l int) (lo, hi int) {
	lo = i * l / n
	hi = (i + 1) * l / n
	if hi <= lo {
		hi = lo + 1
	}
	if hi > l {
		hi, lo = l, l-1
	}
	return lo, hi
}

// Uniformity describes how close an image is to a single flat colour.
type Uniformity struct {
	// Mode is the most frequent luma value.
	Mode uint8
	// Ink is the fraction of pixels whose luma differs from Mode by more than InkDelta.
	Ink float64
	// StdDev is the standard deviation of luma.
	StdDev float64
}

// InkDelta is the luma difference from the dominant value above which a pixel counts as ink.
const InkDelta = 24

// Uniformity measures the image. A blank or near-uniform image has almost no ink; a sparse
// line plot still has a few percent.
func (g *Grey) Uniformity() Uniformity {
	var hist [256]int
	for _, p := range g.Pix {
		hist[p]++
	}
	n := len(g.Pix)
	if n == 0 {
		return Uniformity{}
	}
	mode := 0
	var sum, sum2 float64
	for v, c := range hist {
		if c > hist[mode] {
			mode = v
		}
		sum += float64(v * c)
		sum2 += float64(v * v * c)
	}
	ink := 0
	for v, c := range hist {
		if v-mode > InkDelta || mode-v > InkDelta {
			ink += c
		}
	}
	mean := sum / float64(n)
	return Uniformity{
		Mode:   uint8(mode),
		Ink:    float64(ink) / float64(n),
		StdDev: math.Sqrt(math.Max(0, sum2/float64(n)-mean*mean)),
	}
}
