package layout

import (
	"math"

	"github.com/eosinlab/eosin/extract"
	"strings"
	"unicode"
)

// Page-furniture thresholds.
const (
	// furnitureBand is the share of the page height, at the top and at the bottom, where running
	// heads, running feet and page numbers sit.
	furnitureBand = 0.1
	// furnitureYBucket (pt) groups lines at the same height on different pages.
	furnitureYBucket = 4.0
	// furnitureMinShare: a line repeated (digits aside) at the same height on at least this share
	// of the pages, and on two pages at least, is a running head or foot.
	furnitureMinShare = 0.3
)

// markFurniture marks the running heads and feet of a document (pdffigures2's "formatting
// text"): lines in the top or bottom band of the page whose text, with digits masked, comes back
// at the same height on many pages, and bare page numbers there. Furniture is never figure
// content: it is never absorbed into a figure, and it does not bound one either (a figure may
// reach into the top band beside a page number).
func markFurniture(pages [][]tline, heights, widths []float64) {
	type key struct {
		text string
		y    int
	}
	seen := map[key]map[int]bool{}
	nPages := 0
	keyOf := func(l tline, h, w float64) (key, bool) {
		if h <= 0 {
			return key{}, false
		}
		if isVertical(l) && w > 0 && (l.box.X1 < furnitureBand*w || l.box.X0 > (1-furnitureBand)*w) {
			// A running head set vertically in the side margin, keyed by its distance from
			// that edge.
			x := l.box.X0
			if x > w/2 {
				x = x - w
			}
			return key{"|" + maskDigits(l.text), int(math.Round(x / furnitureYBucket))}, true
		}
		if l.box.Y1 > furnitureBand*h && l.box.Y0 < (1-furnitureBand)*h {
			return key{}, false
		}
		y := l.box.Y0
		if y > h/2 {
			y = y - h // feet keyed from the bottom edge: page heights can differ
		}
		return key{maskDigits(l.text), int(math.Round(y / furnitureYBucket))}, true
	}
	for pi, ls := range pages {
		if len(ls) == 0 {
			continue
		}
		nPages++
		for _, l := range ls {
			if k, ok := keyOf(l, heights[pi], widths[pi]); ok {
				if seen[k] == nil {
					seen[k] = map[int]bool{}
				}
				seen[k][pi] = true
			}
		}
	}
	need := max(2, int(math.Ceil(furnitureMinShare*float64(nPages))))
	for pi, ls := range pages {
		for li := range ls {
			k, ok := keyOf(ls[li], heights[pi], widths[pi])
			if !ok {
				continue
			}
			if len(seen[k]) >= need || pageNumber(ls[li].text) {
				ls[li].furniture = true
			}
		}
	}
}

// maskDigits lower-cases text and replaces every run of digits with '#'.
func maskDigits(s string) string {
	var b strings.Builder
	inDigits := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if unicode.IsDigit(r) {
			if !inDigits {
				b.WriteByte('#')
			}
			inDigits = true
			continue
		}
		inDigits = false
		b.WriteRune(r)
	}
	return b.String()
}

// pageNumber reports a line that is only a page number ("12", "- 12 -", "xii").
func pageNumber(s string) bool {
	t := strings.Trim(strings.TrimSpace(s), "-–— ")
	if t == "" || len(t) > 6 {
		return false
	}
	for _, r := range t {
		if !unicode.IsDigit(r) && !strings.ContainsRune("ivxlc", unicode.ToLower(r)) {
			return false
		}
	}
	return true
}

// furnitureGraphics finds the painted boxes of running heads and feet (a journal logo, a rule
// under the running head): boxes in the top or bottom band of the page that come back at the
// same place on many pages. It returns them per page.
func furnitureGraphics(painted [][]extract.Rect, heights []float64) [][]extract.Rect {
	type key struct{ x0, y0, x1, y1 int }
	keyOf := func(b extract.Rect) key {
		return key{int(math.Round(b.X0 / furnitureYBucket)), int(math.Round(b.Y0 / furnitureYBucket)),
			int(math.Round(b.X1 / furnitureYBucket)), int(math.Round(b.Y1 / furnitureYBucket))}
	}
	inBand := func(b extract.Rect, h float64) bool {
		return h > 0 && (b.Y1 <= furnitureBand*h || b.Y0 >= (1-furnitureBand)*h)
	}
	seen := map[key]map[int]bool{}
	nPages := 0
	for pi, bs := range painted {
		if heights[pi] <= 0 {
			continue
		}
		nPages++
		for _, b := range bs {
			if inBand(b, heights[pi]) {
				k := keyOf(b)
				if seen[k] == nil {
					seen[k] = map[int]bool{}
				}
				seen[k][pi] = true
			}
		}
	}
	need := max(2, int(math.Ceil(furnitureMinShare*float64(nPages))))
	out := make([][]extract.Rect, len(painted))
	for pi, bs := range painted {
		for _, b := range bs {
			if inBand(b, heights[pi]) && len(seen[keyOf(b)]) >= need {
				out[pi] = append(out[pi], b)
			}
		}
	}
	return out
}
