package extract

import (
	"encoding/json"
	"fmt"
)

// Rect is an axis-aligned box in page space: PDF points, origin at the top-left corner of the
// visible page (CropBox), x to the right, y downwards, page rotation already applied.
// X0 ≤ X1 and Y0 ≤ Y1. Its JSON form is [x0, y0, x1, y1].
type Rect struct {
	X0, Y0, X1, Y1 float64
}

// Width is X1 − X0.
func (r Rect) Width() float64 { return r.X1 - r.X0 }

// Height is Y1 − Y0.
func (r Rect) Height() float64 { return r.Y1 - r.Y0 }

// Area is Width × Height (0 for an empty rectangle).
func (r Rect) Area() float64 {
	if r.Empty() {
		return 0
	}
	return r.Width() * r.Height()
}

// Empty reports whether the rectangle has no area.
func (r Rect) Empty() bool { return r.X1 <= r.X0 || r.Y1 <= r.Y0 }

// Center returns the centre point.
func (r Rect) Center() (x, y float64) { return (r.X0 + r.X1) / 2, (r.Y0 + r.Y1) / 2 }

// Union returns the smallest rectangle covering r and s; an empty operand is ignored.
func (r Rect) Union(s Rect) Rect {
	if r.Empty() {
		return s
	}
	if s.Empty() {
		return r
	}
	return Rect{min(r.X0, s.X0), min(r.Y0, s.Y0), max(r.X1, s.X1), max(r.Y1, s.Y1)}
}

// Intersect returns the overlap of r and s (empty when they do not overlap).
func (r Rect) Intersect(s Rect) Rect {
	o := Rect{max(r.X0, s.X0), max(r.Y0, s.Y0), min(r.X1, s.X1), min(r.Y1, s.Y1)}
	if o.Empty() {
		return Rect{}
	}
	return o
}

// MarshalJSON writes the rectangle as [x0, y0, x1, y1], rounded to 0.01 pt.
func (r Rect) MarshalJSON() ([]byte, error) {
	return json.Marshal([4]float64{round2(r.X0), round2(r.Y0), round2(r.X1), round2(r.Y1)})
}

// UnmarshalJSON reads [x0, y0, x1, y1].
func (r *Rect) UnmarshalJSON(b []byte) error {
	var a [4]float64
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("rect: %w", err)
	}
	*r = Rect{a[0], a[1], a[2], a[3]}
	return nil
}

func round2(v float64) float64 {
	if v < 0 {
		return -float64(int64(-v*100+0.5)) / 100
	}
	return float64(int64(v*100+0.5)) / 100
}
