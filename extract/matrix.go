package extract

import "math"

// matrix is a PDF transformation matrix [a b c d e f]: x' = a·x + c·y + e, y' = b·x + d·y + f.
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m then n (m × n in PDF's row-vector convention).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

// applyVec transforms a vector (no translation).
func (m matrix) applyVec(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y, m[1]*x + m[3]*y
}

// bbox transforms the rectangle (x0,y0)-(x1,y1) and returns its bounding box.
func (m matrix) bbox(x0, y0, x1, y1 float64) Rect {
	ax, ay := m.apply(x0, y0)
	bx, by := m.apply(x1, y0)
	cx, cy := m.apply(x0, y1)
	dx, dy := m.apply(x1, y1)
	return Rect{min(ax, bx, cx, dx), min(ay, by, cy, dy), max(ax, bx, cx, dx), max(ay, by, cy, dy)}
}

// scale is the geometric mean of the axis scale factors (for line widths).
func (m matrix) scale() float64 {
	return math.Sqrt(math.Abs(m[0]*m[3] - m[1]*m[2]))
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
