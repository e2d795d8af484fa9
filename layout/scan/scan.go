// Package scan extracts figures and captions from scanned pages: pages that are one image with
// no usable text layer. The page image (the embedded image itself, or a MuPDF render when the
// image cannot be used as it is) is turned upright with Tesseract's orientation detection and
// analysed with Tesseract's layout analysis; figure regions are grown from its image, rule and
// graphic-text blocks; caption lines are found beside them by reading only the start of the
// nearby text blocks, with the caption rules shared with born-digital pages (layout/caption);
// only caption blocks are then read in full (region OCR). Whole pages are never recognised,
// which is what makes the path several times faster than full-page OCR.
//
// Scanner.Figures has the signature of layout.ScannedFunc.
package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
	"github.com/eosinlab/eosin/ocr"
	"github.com/eosinlab/eosin/shards"
)

// Options configure a Scanner.
type Options struct {
	// DPI is the resolution of page renders, when the embedded image cannot be used
	// (default 200).
	DPI int
	// MinOrientationConf is the orientation-detection confidence needed to turn a page
	// (default 3; Tesseract's scores run about 5–30 on real text).
	MinOrientationConf float64
	// NoCrops leaves Figure.ImageBytes empty (records only).
	NoCrops bool
	// Tables keeps table records (Kind "table") besides figures.
	Tables bool
	// MaxPixels is the largest page image (width × height) handed to Tesseract (default
	// DefaultMaxPixels). A larger embedded image is rendered at DPI instead; a render larger
	// than this fails the page with a *extract.LimitError (reject reason limit_pixels)
	// before MuPDF or Tesseract is called.
	MaxPixels int64
}

// DefaultMaxPixels bounds OCR work per page: 36 Mpx is a letter page at 700 dpi.
const DefaultMaxPixels = 36 << 20

// Scanner finds figures on scanned pages. It is safe for concurrent use; OCR engines come from
// the pool.
type Scanner struct {
	pool *ocr.Pool
	opts Options
}

// New returns a Scanner using engines of pool.
func New(pool *ocr.Pool, opts Options) *Scanner {
	if opts.DPI <= 0 {
		opts.DPI = 200
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = DefaultMaxPixels
	}
	if opts.MinOrientationConf <= 0 {
		opts.MinOrientationConf = 3
	}
	return &Scanner{pool: pool, opts: opts}
}

// ErrNoPageImage is returned when a page has neither a usable image nor a renderable form.
var ErrNoPageImage = errors.New("no page image")

// PageImage is a page image with its mapping to page space.
type PageImage struct {
	Image *ocr.Image
	// Source is "embedded" (the PDF's own image bytes) or "rendered" (a MuPDF render).
	Source string
	// Place is where the image lies on the page, in points; the image fills it.
	Place extract.Rect
	// PageW and PageH are the page size in points.
	PageW, PageH float64
}

// LoadPage returns the image of a scanned page: the embedded image when one image covers the
// page and its bytes decode (JPEG reaches Leptonica unchanged), otherwise a render at Options.DPI.
func (s *Scanner) LoadPage(ctx context.Context, doc *extract.Document, n int) (*PageImage, error) {
	p, err := doc.Page(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", n, err)
	}
	if im, ok := pageImage(p); ok && int64(im.Width)*int64(im.Height) <= s.opts.MaxPixels {
		dpi := int(math.Round(float64(im.Width) / (im.BBox.Width() / 72)))
		img, err := decodeEmbedded(im, dpi)
		if err == nil && img.Bounds().Dx() == im.Width && img.Bounds().Dy() == im.Height {
			img.SetDPI(dpi)
			return &PageImage{Image: img, Source: "embedded", Place: im.BBox, PageW: p.Width, PageH: p.Height}, nil
		}
		if err == nil {
			img.Close()
		}
		slog.Debug("scan: embedded page image unusable, rendering", "page", n, "err", err)
	}
	// The render's size is known before anything is rendered.
	if px := math.Ceil(p.Width*float64(s.opts.DPI)/72) * math.Ceil(p.Height*float64(s.opts.DPI)/72); px > float64(s.opts.MaxPixels) {
		return nil, fmt.Errorf("page %d: render for OCR at %d dpi: %w", n, s.opts.DPI,
			&extract.LimitError{Limit: "MaxRenderPixels", Value: int64(min(px, math.MaxInt64/2)), Max: s.opts.MaxPixels})
	}
	r, err := doc.Render(ctx, n, float64(s.opts.DPI), extract.Rect{})
	if err != nil {
		return nil, fmt.Errorf("page %d: %w: %v", n, ErrNoPageImage, err)
	}
	img, err := ocr.FromImage(r, s.opts.DPI)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", n, err)
	}
	return &PageImage{Image: img, Source: "rendered", Place: extract.Rect{X1: p.Width, Y1: p.Height}, PageW: p.Width, PageH: p.Height}, nil
}

// decodeEmbedded decodes a page image's native bytes for OCR with Leptonica, falling back to
// Go's decoder for JPEG: a binary built without the extlib tag links go-fitz's bundled MuPDF
// with its own libjpeg, whose symbols Leptonica then meets instead of the system libjpeg it
// was built against, and Leptonica's JPEG reader fails ("Wrong JPEG library version").
func decodeEmbedded(im extract.Image, dpi int) (*ocr.Image, error) {
	img, err := ocr.DecodeImage(im.Data, dpi)
	if err == nil || im.Format != "jpeg" {
		return img, err
	}
	src, jerr := jpeg.Decode(bytes.NewReader(im.Data))
	if jerr != nil {
		return nil, fmt.Errorf("%w; image/jpeg: %v", err, jerr)
	}
	return ocr.FromImage(src, dpi)
}

// pageImage returns the one image that makes up the page, if its bytes can be used directly:
// it covers most of the page, nothing else is drawn, and it is not turned on the page.
func pageImage(p *extract.Page) (extract.Image, bool) {
	area := p.Width * p.Height
	var big []extract.Image
	for _, im := range p.Images {
		if im.BBox.Area() >= 0.5*area {
			big = append(big, im)
		}
	}
	visible := 0
	for _, w := range p.Words {
		if !w.Invisible() {
			visible++
		}
	}
	if len(big) != 1 || len(p.Images) > 1 || visible > 0 {
		return extract.Image{}, false
	}
	im := big[0]
	if im.NeedsRender || len(im.Data) == 0 || im.Width <= 0 || im.Height <= 0 || im.SoftMask {
		return extract.Image{}, false
	}
	// Pixels stretched differently in x and y mean a turned or distorted placement.
	sx, sy := float64(im.Width)/im.BBox.Width(), float64(im.Height)/im.BBox.Height()
	if math.Abs(sx-sy) > 0.03*max(sx, sy) {
		return extract.Image{}, false
	}
	return im, true
}

// Figures extracts the figures of scanned page n of doc as records with crops cut from the page
// image. It has the signature of layout.ScannedFunc.
func (s *Scanner) Figures(ctx context.Context, doc *extract.Document, n int) ([]shards.Figure, error) {
	pi, err := s.LoadPage(ctx, doc, n)
	if err != nil {
		return nil, err
	}
	defer pi.Image.Close()
	res, err := s.Analyze(ctx, pi.Image)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", n, err)
	}
	sha := doc.SHA256()
	out := make([]shards.Figure, 0, len(res.Figures))
	for k, f := range res.Figures {
		rec := shards.Figure{
			ID:         figureID(sha, n, k),
			Kind:       string(f.Kind),
			Page:       n,
			PageSize:   shards.Size{Width: round2(pi.PageW), Height: round2(pi.PageH)},
			BBox:       pi.toPage(res.toImage(f.Box)),
			CaptionBox: pi.toPage(res.toImage(f.CaptionBox)),
			Label:      f.Label,
			Caption:    f.Caption,
			OCR:        shards.OCRInfo{Used: true, MeanConfidence: round2(f.Confidence)},
			Image:      shards.ImageInfo{Source: pi.Source, DPI: pi.Image.DPI()},
			Quality:    shards.Quality{Flags: f.Flags},
		}
		if res.Rotated != 0 {
			rec.Quality.Flags = append(rec.Quality.Flags, "page_rotated_"+strconv.Itoa(res.Rotated))
		}
		if parts, ok := caption.SplitPanels(f.Caption); ok {
			for i, p := range parts.Parts {
				rec.SubFigures = append(rec.SubFigures, shards.SubFigure{Label: strings.Join(p.Labels, ","), Caption: parts.Caption(i)})
			}
		}
		if !s.opts.NoCrops {
			crop, err := res.Upright.Crop(f.Box, 0)
			if err != nil {
				return nil, fmt.Errorf("page %d figure %q: crop: %w", n, f.Label, err)
			}
			data, err := crop.Encode(ocr.PNG)
			w, h := crop.Bounds().Dx(), crop.Bounds().Dy()
			crop.Close()
			if err != nil {
				return nil, fmt.Errorf("page %d figure %q: %w", n, f.Label, err)
			}
			sum := sha256.Sum256(data)
			rec.ImageBytes = data
			rec.Image.Format, rec.Image.Width, rec.Image.Height = "png", w, h
			rec.Image.SHA256 = hex.EncodeToString(sum[:])
		}
		out = append(out, rec)
	}
	res.Close()
	return out, nil
}

// toPage maps a box in pixels of the (unturned) page image to page points.
func (pi *PageImage) toPage(r image.Rectangle) shards.Box {
	b := pi.Image.Bounds()
	sx, sy := pi.Place.Width()/float64(b.Dx()), pi.Place.Height()/float64(b.Dy())
	return shards.Box{
		round2(pi.Place.X0 + float64(r.Min.X)*sx), round2(pi.Place.Y0 + float64(r.Min.Y)*sy),
		round2(pi.Place.X0 + float64(r.Max.X)*sx), round2(pi.Place.Y0 + float64(r.Max.Y)*sy),
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// unskew maps a box of an image turned by deg (clockwise positive, about the centre of
// bounds) back to the unturned image: the bounding box of its turned-back corners.
func unskew(b, bounds image.Rectangle, deg float64) image.Rectangle {
	sin, cos := math.Sincos(-deg * math.Pi / 180)
	cx, cy := float64(bounds.Dx())/2, float64(bounds.Dy())/2
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range [4][2]int{{b.Min.X, b.Min.Y}, {b.Max.X, b.Min.Y}, {b.Min.X, b.Max.Y}, {b.Max.X, b.Max.Y}} {
		dx, dy := float64(p[0])-cx, float64(p[1])-cy
		x, y := cx+cos*dx-sin*dy, cy+sin*dx+cos*dy
		x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
	}
	return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1))).Intersect(bounds)
}

// figureID is a stable id: a hash of document sha256, page and index on the page, in hex (the
// same scheme as born-digital figures; a page is either scanned or not).
func figureID(sha string, page, index int) string {
	h := sha256.Sum256([]byte(sha + "/" + strconv.Itoa(page) + "/" + strconv.Itoa(index)))
	return hex.EncodeToString(h[:])[:24]
}

// Figure is a figure (or table) found on a page image; boxes are pixels of the upright image.
type Figure struct {
	Kind       caption.Kind
	Box        image.Rectangle
	CaptionBox image.Rectangle
	Label      string
	// Caption is the caption text after the label and its separator.
	Caption string
	// Confidence is the mean OCR word confidence of the caption, 0–100.
	Confidence float64
	Flags      []string
}

// Result is the analysis of one page image.
type Result struct {
	// Upright is the page image turned upright (the input itself when it was upright).
	Upright *ocr.Image
	// Rotated is the clockwise rotation applied to the input, in degrees.
	Rotated int
	// Skew is the small rotation applied after that to level the text lines (degrees,
	// clockwise positive).
	Skew float64
	// Orientation is what orientation detection said (zero when it failed).
	Orientation ocr.Orientation
	// Layout is Tesseract's layout analysis of the upright image.
	Layout *ocr.Page
	// Figures found, in reading order.
	Figures []Figure
	// Regions are figure regions found without a caption (not records; for evaluation).
	Regions []image.Rectangle
	// OCRRegions counts the regions read by OCR, OCRPixels their area.
	OCRRegions, OCRPixels int
	// Time spent in each stage.
	Time  Timings
	w, h  int     // size of the input image
	scale float64 // the input was enlarged by this factor for analysis
	owned bool
}

// Close releases the upright image when it is a turned copy of the input.
func (r *Result) Close() {
	if r.owned {
		r.Upright.Close()
	}
}

// Timings break the analysis of a page down by stage.
type Timings struct {
	Orientation, Deskew, Layout, Probes, Captions time.Duration
}

// ToInput maps a box of the upright image (Result's boxes) back to the input image.
func (r *Result) ToInput(b image.Rectangle) image.Rectangle { return r.toImage(b) }

func (r *Result) toImage(b image.Rectangle) image.Rectangle {
	if b.Empty() {
		return b
	}
	// The upright image is the (enlarged) input turned clockwise by Rotated, then levelled by
	// Skew; undo all three.
	s := r.scale
	if s <= 0 {
		s = 1
	}
	W, H := int(float64(r.w)*s+0.5), int(float64(r.h)*s+0.5) // enlarged input size
	if r.Skew != 0 {
		b = unskew(b, r.Upright.Bounds(), r.Skew)
	}
	switch r.Rotated {
	case 90: // input (x, y) → upright (H−y, x)
		b = image.Rect(b.Min.Y, H-b.Max.X, b.Max.Y, H-b.Min.X)
	case 180:
		b = image.Rect(W-b.Max.X, H-b.Max.Y, W-b.Min.X, H-b.Min.Y)
	case 270: // input (x, y) → upright (y, W−x)
		b = image.Rect(W-b.Max.Y, b.Min.X, W-b.Min.Y, b.Max.X)
	}
	if s != 1 {
		b = image.Rect(int(float64(b.Min.X)/s), int(float64(b.Min.Y)/s), int(float64(b.Max.X)/s+0.999), int(float64(b.Max.Y)/s+0.999))
	}
	return b
}
