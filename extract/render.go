package extract

import (
	"context"
	"fmt"
	"image"
	"image/draw"
	"io"

	fitz "github.com/gen2brain/go-fitz"
)

// renderer is the part of go-fitz's document used here.
type renderer interface {
	ImageDPI(page int, dpi float64) (*image.RGBA, error)
	NumPage() int
	io.Closer
}

// Render rasterises page n (1-based) at dpi. A non-empty region (page space, points) crops the
// result to that region; an empty one returns the whole page. MuPDF is not goroutine-safe per
// document, so renders of one Document run one at a time. A render larger than
// Limits.MaxRenderPixels fails with a *LimitError before MuPDF is called.
func (d *Document) Render(ctx context.Context, n int, dpi float64, region Rect) (image.Image, error) {
	if n < 1 || n > d.NumPages() {
		return nil, fmt.Errorf("render page %d of %d: %w", n, d.NumPages(), ErrPageRange)
	}
	if dpi <= 0 || dpi > 2400 {
		return nil, fmt.Errorf("render page %d: dpi %g out of range", n, dpi)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Checked before MuPDF is called: a page too large to render would make it allocate
	// (and abort on failing to allocate) tens of gigabytes.
	_, _, fzDPI, err := d.renderSize(n, dpi)
	if err != nil {
		return nil, fmt.Errorf("render page %d: %w", n, err)
	}
	// MuPDF sizes its page map by the root's /Count: a count that lies (two billion pages in
	// a few kilobytes) would make it allocate and fill tens of gigabytes.
	if d.declaredPages > d.cfg.limits.MaxPages && d.declaredPages != d.NumPages() {
		return nil, fmt.Errorf("render page %d: the page tree declares %d pages, it has %d: %w", n, d.declaredPages, d.NumPages(),
			&LimitError{Limit: "MaxPages", Value: int64(d.declaredPages), Max: int64(d.cfg.limits.MaxPages)})
	}
	d.renderMu.Lock()
	defer d.renderMu.Unlock()
	if d.fz == nil {
		fz, err := fitz.NewFromMemory(d.data)
		if err != nil {
			return nil, fmt.Errorf("render: open: %w", err)
		}
		d.fz = fz
	}
	img, err := d.fz.ImageDPI(n-1, fzDPI)
	if err != nil {
		return nil, fmt.Errorf("render page %d: %w", n, err)
	}
	if region.Empty() {
		return img, nil
	}
	s := dpi / 72
	r := image.Rect(int(region.X0*s), int(region.Y0*s), int(region.X1*s+0.999), int(region.Y1*s+0.999)).
		Add(img.Bounds().Min).Intersect(img.Bounds())
	if r.Empty() {
		return nil, fmt.Errorf("render page %d: region %v outside the page", n, region)
	}
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(out, out.Bounds(), img, r.Min, draw.Src)
	return out, nil
}
