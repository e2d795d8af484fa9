package extract

import (
	"errors"
	"fmt"
	"math"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// LimitReason is the reject reason for an error that carries a *LimitError: limit_pages,
// limit_pixels (MaxImagePixels, MaxRenderPixels), limit_stream (MaxStreamBytes,
// MaxContentBytes), limit_document (MaxDocumentBytes), limit_operators, limit_form_depth;
// "" for any other error.
func LimitReason(err error) string {
	var le *LimitError
	if !errors.As(err, &le) {
		if errors.Is(err, ErrLimit) {
			return "limit"
		}
		return ""
	}
	switch le.Limit {
	case "MaxPages":
		return "limit_pages"
	case "MaxImagePixels", "MaxRenderPixels":
		return "limit_pixels"
	case "MaxStreamBytes", "MaxContentBytes":
		return "limit_stream"
	case "MaxDocumentBytes":
		return "limit_document"
	case "MaxOperators":
		return "limit_operators"
	case "MaxFormDepth":
		return "limit_form_depth"
	}
	return "limit"
}

// countPages counts the leaves of the page tree, following each node once (a cycle or a
// node listed twice counts once) and stopping past max pages with a *LimitError. The /Count
// entries are not read: they are what a hostile file lies about.
func countPages(ctx *model.Context, max int) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("%w: page tree: %v", ErrCorrupt, r)
		}
	}()
	root, err := ctx.Pages()
	if err != nil || root == nil {
		return 0, fmt.Errorf("%w: page tree: %v", ErrCorrupt, err)
	}
	seen := map[int]bool{}
	stack := []types.Object{*root}
	for len(stack) > 0 {
		o := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if ref, ok := o.(types.IndirectRef); ok {
			if seen[ref.ObjectNumber.Value()] {
				continue
			}
			seen[ref.ObjectNumber.Value()] = true
		}
		obj, err := ctx.Dereference(o)
		if err != nil {
			continue // a broken kid: pdfcpu fails that page alone
		}
		d, ok := obj.(types.Dict)
		if !ok {
			continue
		}
		kids, isNode := d["Kids"]
		if t := d.NameEntry("Type"); (t != nil && *t == "Page") || !isNode {
			n++
			if n > max {
				return 0, &LimitError{Limit: "MaxPages", Value: int64(n), Max: int64(max)}
			}
			continue
		}
		k, err := ctx.Dereference(kids)
		if err != nil {
			continue
		}
		arr, _ := k.(types.Array)
		for i := len(arr) - 1; i >= 0; i-- {
			stack = append(stack, arr[i])
		}
		if len(stack) > 4*max+1024 {
			return 0, &LimitError{Limit: "MaxPages", Value: int64(len(stack)), Max: int64(max)}
		}
	}
	return n, nil
}

// renderSize is the pixel size MuPDF gives page n at dpi, and the dpi to ask it for so that
// one point of page space is dpi/72 pixels whatever the page's UserUnit. It fails with a
// *LimitError (MaxRenderPixels) before anything is allocated when the render would be too
// large, and with ErrCorrupt when the page box is not a finite area.
func (d *Document) renderSize(n int, dpi float64) (w, h int, fzDPI float64, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pd, inh, err := d.pageDict(n)
	if err != nil {
		return 0, 0, 0, err
	}
	box := Rect{0, 0, 612, 792}
	if inh.MediaBox != nil {
		m := *inh.MediaBox
		box = Rect{min(m.LL.X, m.UR.X), min(m.LL.Y, m.UR.Y), max(m.LL.X, m.UR.X), max(m.LL.Y, m.UR.Y)}
	}
	if inh.CropBox != nil {
		c := *inh.CropBox
		if r := (Rect{min(c.LL.X, c.UR.X), min(c.LL.Y, c.UR.Y), max(c.LL.X, c.UR.X), max(c.LL.Y, c.UR.Y)}).Intersect(box); !r.Empty() {
			box = r
		}
	}
	pw, ph := box.X1-box.X0, box.Y1-box.Y0
	if !finite(pw) || !finite(ph) || pw <= 0 || ph <= 0 {
		return 0, 0, 0, fmt.Errorf("%w: page box %v", ErrCorrupt, box)
	}
	// MuPDF scales the page by its UserUnit; asking for dpi/UserUnit keeps the pixels per
	// point of page space at dpi/72.
	unit := 1.0
	if u, ok := d.number(pd["UserUnit"]); ok && finite(u) && u > 0 {
		unit = u
	}
	fzDPI = dpi / unit
	s := fzDPI * unit / 72
	fw, fh := math.Ceil(pw*s), math.Ceil(ph*s)
	max := float64(d.cfg.limits.MaxRenderPixels)
	// RGBA bytes must also fit an int32 (go-fitz copies the pixmap with C.GoBytes).
	if px := fw * fh; !finite(px) || px > max || 4*px >= math.MaxInt32 {
		v := int64(math.MaxInt64)
		if finite(px) && px < math.MaxInt64 {
			v = int64(px)
		}
		return 0, 0, 0, fmt.Errorf("%.0f × %.0f pixels at %g dpi: %w", fw, fh, dpi,
			&LimitError{Limit: "MaxRenderPixels", Value: v, Max: d.cfg.limits.MaxRenderPixels})
	}
	return int(fw), int(fh), fzDPI, nil
}
