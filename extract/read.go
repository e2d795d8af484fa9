package extract

import (
	"context"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// pageGeometry returns the matrix from default user space to page space and the page size.
func pageGeometry(crop types.Rectangle, rotate int) (matrix, float64, float64) {
	x0, y0 := min(crop.LL.X, crop.UR.X), min(crop.LL.Y, crop.UR.Y)
	x1, y1 := max(crop.LL.X, crop.UR.X), max(crop.LL.Y, crop.UR.Y)
	w, h := x1-x0, y1-y0
	switch rotate {
	case 90:
		return matrix{0, 1, 1, 0, -y0, -x0}, h, w
	case 180:
		return matrix{-1, 0, 0, 1, x1, -y0}, w, h
	case 270:
		return matrix{0, -1, -1, 0, y1, x1}, h, w
	}
	return matrix{1, 0, 0, -1, -x0, y1}, w, h
}

func normRotation(r int) int {
	r %= 360
	if r < 0 {
		r += 360
	}
	return (r / 90) * 90
}

func (d *Document) readPage(ctx context.Context, n int) (*Page, error) {
	pd, inh, err := d.pageDict(n)
	if err != nil {
		return nil, err
	}
	media := types.Rectangle{LL: types.Point{X: 0, Y: 0}, UR: types.Point{X: 612, Y: 792}}
	if inh.MediaBox != nil {
		media = *inh.MediaBox
	}
	crop := media
	if inh.CropBox != nil {
		c := *inh.CropBox
		// The visible area is the CropBox clipped to the MediaBox.
		r := Rect{min(c.LL.X, c.UR.X), min(c.LL.Y, c.UR.Y), max(c.LL.X, c.UR.X), max(c.LL.Y, c.UR.Y)}.
			Intersect(Rect{min(media.LL.X, media.UR.X), min(media.LL.Y, media.UR.Y), max(media.LL.X, media.UR.X), max(media.LL.Y, media.UR.Y)})
		if !r.Empty() {
			crop = types.Rectangle{LL: types.Point{X: r.X0, Y: r.Y0}, UR: types.Point{X: r.X1, Y: r.Y1}}
		}
	}
	rot := normRotation(inh.Rotate)
	pm, w, h := pageGeometry(crop, rot)
	if !finite(w) || !finite(h) || w <= 0 || h <= 0 {
		return nil, fmt.Errorf("%w: page box %v", ErrCorrupt, crop)
	}
	p := &Page{Number: n, Width: w, Height: h, Rotation: rot, Words: []Word{}, Images: []Image{}, Graphics: []Graphic{}}
	content, err := d.pageContent(pd)
	if err != nil {
		return nil, err
	}
	pageR := Rect{0, 0, w, h}
	in := &interp{ctx: ctx, doc: d, page: pm, pageR: pageR, out: p, warned: map[string]bool{}}
	in.gs = gstate{ctm: identity, clip: pageR, lineWidth: 1, hscale: 1}
	in.tm, in.tlm = identity, identity
	if err := in.run(content, resources{d: d, dict: inh.Resources}, 0); err != nil {
		return nil, err
	}
	info := buildWords(p, in.glyphs)
	buildLines(p, info)
	return p, nil
}

// pageContent concatenates the page's content streams.
func (d *Document) pageContent(pd types.Dict) ([]byte, error) {
	c := pd["Contents"]
	if c == nil {
		return nil, nil
	}
	var parts []types.Object
	switch v := d.deref(c).(type) {
	case types.StreamDict:
		parts = []types.Object{c}
	case types.Array:
		parts = v
	default:
		return nil, nil
	}
	if len(parts) == 1 {
		data, _, err := d.streamData(parts[0])
		if err != nil {
			if isLimit(err) {
				return nil, err
			}
			return nil, fmt.Errorf("content stream: %w", err)
		}
		return data, nil
	}
	var out []byte
	for i, o := range parts {
		data, _, err := d.streamData(o)
		if err != nil {
			if isLimit(err) {
				return nil, err
			}
			// A broken part of a split content stream: keep the others.
			_ = i
			continue
		}
		if lim := min(d.cfg.limits.MaxContentBytes, d.cfg.limits.MaxStreamBytes); int64(len(out)+len(data)) > lim {
			return nil, &LimitError{Limit: "MaxContentBytes", Value: int64(len(out) + len(data)), Max: lim}
		}
		out = append(out, data...)
		out = append(out, '\n')
	}
	return out, nil
}
