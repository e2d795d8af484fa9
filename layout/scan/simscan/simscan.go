// Package simscan makes simulated scans of born-digital PDFs: pages are rendered (MuPDF),
// degraded with a seeded, recorded recipe (slight skew, blur, noise, JPEG compression) and
// wrapped as image-only PDFs with img2pdf, so the JPEG bytes sit in the PDF unchanged, as in
// most real scans. The captions of the original stay the ground truth.
package simscan

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/eosinlab/eosin/extract"
)

// Recipe is the degradation applied to one page; it is recorded with the sample.
type Recipe struct {
	Seed        uint64  `json:"seed"`
	DPI         int     `json:"dpi"`
	AngleDeg    float64 `json:"angle_deg"`    // skew, counter-clockwise positive
	BlurSigma   float64 `json:"blur_sigma"`   // Gaussian blur, pixels
	NoiseSigma  float64 `json:"noise_sigma"`  // Gaussian noise on 0–255 grey values
	JPEGQuality int     `json:"jpeg_quality"` // 40–75
}

// NewRecipe draws a mild degradation from seed: skew 0.3–1.5° either way, blur σ 0.5–1 px,
// noise σ 4–10, JPEG quality 50–75.
func NewRecipe(seed uint64, dpi int) Recipe {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	angle := 0.3 + 1.2*r.Float64()
	if r.IntN(2) == 0 {
		angle = -angle
	}
	return Recipe{
		Seed: seed, DPI: dpi, AngleDeg: angle,
		BlurSigma:   0.5 + 0.5*r.Float64(),
		NoiseSigma:  4 + 6*r.Float64(),
		JPEGQuality: 50 + r.IntN(26),
	}
}

// Degrade turns a render into a simulated scan: grey, skewed about the page centre, blurred,
// noisy. The same recipe always gives the same pixels.
func Degrade(src image.Image, rc Recipe) *image.Gray {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	grey := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			grey[y*w+x] = float64(color.GrayModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y)
		}
	}
	// Skew with bilinear sampling; outside the page is white.
	sin, cos := math.Sincos(rc.AngleDeg * math.Pi / 180)
	cx, cy := float64(w)/2, float64(h)/2
	sk := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			sx, sy := cos*dx-sin*dy+cx, sin*dx+cos*dy+cy
			sk[y*w+x] = bilinear(grey, w, h, sx, sy)
		}
	}
	blurred := gaussBlur(sk, w, h, rc.BlurSigma)
	r := rand.New(rand.NewPCG(rc.Seed+1, rc.Seed^0x5851f42d4c957f2d))
	out := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range blurred {
		v += r.NormFloat64() * rc.NoiseSigma
		out.Pix[i] = uint8(max(0, min(255, math.Round(v))))
	}
	return out
}

func bilinear(p []float64, w, h int, x, y float64) float64 {
	if x < 0 || y < 0 || x > float64(w-1) || y > float64(h-1) {
		return 255
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	top := p[y0*w+x0]*(1-fx) + p[y0*w+x1]*fx
	bot := p[y1*w+x0]*(1-fx) + p[y1*w+x1]*fx
	return top*(1-fy) + bot*fy
}

// gaussBlur is a separable Gaussian blur.
func gaussBlur(p []float64, w, h int, sigma float64) []float64 {
	if sigma <= 0 {
		return p
	}
	rad := int(math.Ceil(2.5 * sigma))
	k := make([]float64, 2*rad+1)
	sum := 0.0
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			for i, kv := range k {
				xx := min(max(x+i-rad, 0), w-1)
				s += kv * p[y*w+xx]
			}
			tmp[y*w+x] = s
		}
	}
	out := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			for i, kv := range k {
				yy := min(max(y+i-rad, 0), h-1)
				s += kv * tmp[yy*w+x]
			}
			out[y*w+x] = s
		}
	}
	return out
}

// Page is one page of a simulated scan.
type Page struct {
	Source int    `json:"source_page"` // page number in the original PDF
	Recipe Recipe `json:"recipe"`
}

// Make renders the given pages of the PDF at pdfPath, degrades each with NewRecipe(seed+page),
// and writes them as an image-only PDF to out (img2pdf, JPEG bytes kept). It returns the
// recipes, page by page.
func Make(ctx context.Context, pdfPath string, pages []int, dpi int, seed uint64, out string) ([]Page, error) {
	doc, err := extract.Open(pdfPath)
	if err != nil {
		return nil, fmt.Errorf("simulated scan: %w", err)
	}
	dir, err := os.MkdirTemp("", "simscan")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var files []string
	var recs []Page
	for _, n := range pages {
		img, err := doc.Render(ctx, n, float64(dpi), extract.Rect{})
		if err != nil {
			return nil, fmt.Errorf("simulated scan: %w", err)
		}
		rc := NewRecipe(seed+uint64(n), dpi)
		g := Degrade(img, rc)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, g, &jpeg.Options{Quality: rc.JPEGQuality}); err != nil {
			return nil, fmt.Errorf("simulated scan page %d: %w", n, err)
		}
		f := filepath.Join(dir, fmt.Sprintf("p%04d.jpg", n))
		if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		files = append(files, f)
		recs = append(recs, Page{Source: n, Recipe: rc})
	}
	d := strconv.Itoa(dpi)
	args := append([]string{"--imgsize", d + "dpix" + d + "dpi", "-o", out}, files...)
	cmd := exec.CommandContext(ctx, "img2pdf", args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("img2pdf: %v: %s", err, msg)
	}
	return recs, nil
}
