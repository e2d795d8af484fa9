package layout

import (
	"image"
	"math"

	"github.com/eosinlab/eosin/extract"
)

// Ink-growth thresholds (points unless noted).
const (
	// inkBand is the width of the bands compared on both sides of a region's edge.
	inkBand = 1.5
	// inkStep is how far an edge moves at a time.
	inkStep = 2.0
	// inkMaxGrow bounds how far one edge may move.
	inkMaxGrow = 48.0
	// inkPaper: a pixel whose luminance (0–1) is above this is paper.
	inkPaper = 0.85
	// inkMinCrossings is the number of places (pixels along the edge) where ink must cross the
	// edge for it to count as cut.
	inkMinCrossings = 3
)

// growOverCutInk is the rendered-page view of a region: where the region's edge cuts through
// ink that carries on outside it (a plot whose axis and tick labels are drawn as paths the
// content-stream view did not see), the edge moves out, step by step, until the ink stops, a
// text word that is not in the region is met, or the page ends. Edges that run through paper
// stay, so frames and neighbours beyond a white gap are never taken in. img is the page
// rendered at dpi; obstacles are the boxes the region must not grow into.
func growOverCutInk(img image.Image, region extract.Rect, dpi int, obstacles []extract.Rect, page extract.Rect) extract.Rect {
	s := float64(dpi) / 72
	b := img.Bounds()
	inkAt := func(x, y int) bool {
		x, y = x+b.Min.X, y+b.Min.Y
		if x < b.Min.X || y < b.Min.Y || x >= b.Max.X || y >= b.Max.Y {
			return false
		}
		r, g, bl, _ := img.At(x, y).RGBA()
		lum := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 65535
		return lum < inkPaper
	}
	// anyInk reports ink in a box (points).
	anyInk := func(r extract.Rect) bool {
		x0, y0 := int(math.Floor(r.X0*s)), int(math.Floor(r.Y0*s))
		x1, y1 := int(math.Ceil(r.X1*s)), int(math.Ceil(r.Y1*s))
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if inkAt(x, y) {
					return true
				}
			}
		}
		return false
	}
	blocked := func(r extract.Rect) bool {
		if r.X0 < page.X0 || r.Y0 < page.Y0 || r.X1 > page.X1 || r.Y1 > page.Y1 {
			return true
		}
		for _, o := range obstacles {
			if !o.Intersect(r).Empty() {
				return true
			}
		}
		return false
	}
	// cut reports whether ink crosses the given side of r: ink in the band just inside and the
	// band just outside at the same place along the edge, in several places.
	cut := func(r extract.Rect, side direction) bool {
		n := 0
		switch side {
		case dirLeft, dirRight:
			xin, xout := r.X0+inkBand/2, r.X0-inkBand/2
			if side == dirRight {
				xin, xout = r.X1-inkBand/2, r.X1+inkBand/2
			}
			for y := int(r.Y0 * s); y < int(r.Y1*s); y++ {
				if inkAt(int(xin*s), y) && inkAt(int(xout*s), y) {
					n++
				}
			}
		default:
			yin, yout := r.Y0+inkBand/2, r.Y0-inkBand/2
			if side == dirDown {
				yin, yout = r.Y1-inkBand/2, r.Y1+inkBand/2
			}
			for x := int(r.X0 * s); x < int(r.X1*s); x++ {
				if inkAt(x, int(yin*s)) && inkAt(x, int(yout*s)) {
					n++
				}
			}
		}
		return n >= inkMinCrossings
	}
	for _, side := range []direction{dirLeft, dirRight, dirUp, dirDown} {
		if !cut(region, side) {
			continue
		}
		for grown := 0.0; grown < inkMaxGrow; grown += inkStep {
			strip := region
			switch side {
			case dirLeft:
				strip.X1, strip.X0 = region.X0, region.X0-inkStep
			case dirRight:
				strip.X0, strip.X1 = region.X1, region.X1+inkStep
			case dirUp:
				strip.Y1, strip.Y0 = region.Y0, region.Y0-inkStep
			case dirDown:
				strip.Y0, strip.Y1 = region.Y1, region.Y1+inkStep
			}
			if blocked(strip) || !anyInk(strip) {
				break
			}
			region = region.Union(strip)
		}
	}
	return region
}

// inkObstacles are the boxes a figure's region may not grow into: the page's words outside
// the region (body text, captions, other figures' text) and the figure's own caption.
func inkObstacles(p *extract.Page, region, captionBox extract.Rect) []extract.Rect {
	var out []extract.Rect
	if captionBox.Width() > 0 {
		out = append(out, captionBox)
	}
	if p == nil {
		return out
	}
	for _, w := range p.Words {
		if w.Invisible() || contains(inflate(region, 1), w.BBox, 0) {
			continue
		}
		out = append(out, w.BBox)
	}
	return out
}
