package layout

import (
	"math"
	"sort"
	"strings"

	"github.com/eosinlab/eosin/extract"
)

// Stacked-layer thresholds.
const (
	// stackOverlap: two words on one baseline overlapping by this share of the narrower one are
	// stacked (drawn over each other), which legible text never is.
	stackOverlap = 0.5
	// twinTol is how close (pt) the edges of a word and its twin must agree.
	twinTol = 0.6
	// twinReachEm is how far (in font sizes) above or below a word its twin may be.
	twinReachEm = 6.0
)

// stackedDuplicates finds the words of a duplicated text layer: some PDFs carry a second copy
// of a paragraph squeezed onto one baseline over other text, which scrambles the line it lands
// on ("Figure 2" + both caption lines interleaved). A word is such a copy when it is stacked on
// another word of its baseline and has a twin (same text, same horizontal extent and size) on
// another baseline nearby that is not stacked. It returns the indexes of the copies.
func stackedDuplicates(words []extract.Word) map[int]bool {
	idx := make([]int, 0, len(words))
	for i, w := range words {
		if !w.Invisible() && w.Text != "" {
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool { return words[idx[a]].BBox.Y1 < words[idx[b]].BBox.Y1 })
	stacked := map[int]bool{}
	for a := 0; a < len(idx); a++ {
		wa := words[idx[a]].BBox
		for b := a + 1; b < len(idx); b++ {
			wb := words[idx[b]].BBox
			if wb.Y1-wa.Y1 > 1 {
				break
			}
			ov := hOverlap(wa, wb)
			if ov > stackOverlap*math.Min(wa.Width(), wb.Width()) && ov > 0 {
				stacked[idx[a]], stacked[idx[b]] = true, true
			}
		}
	}
	if len(stacked) == 0 {
		return nil
	}
	// Every word on a baseline that holds stacked words may be a copy: the copy of a longer
	// line runs on past the words it covers.
	for changed := true; changed; {
		changed = false
		for _, i := range idx {
			if stacked[i] {
				continue
			}
			wi := words[i]
			for j := range stacked {
				wj := words[j]
				if math.Abs(wj.BBox.Y1-wi.BBox.Y1) <= 0.5 && gapBetween(wi.BBox, wj.BBox) < wi.Size {
					stacked[i], changed = true, true
					break
				}
			}
		}
	}
	// Twins are looked up by their first letter and compared by prefix: the copy may lack the
	// punctuation the original has ("group" for "group.").
	byStart := map[rune][]int{}
	for _, i := range idx {
		if !stacked[i] {
			r := []rune(words[i].Text)[0]
			byStart[r] = append(byStart[r], i)
		}
	}
	drop := map[int]bool{}
	for i := range stacked {
		w := words[i]
		for _, j := range byStart[[]rune(w.Text)[0]] {
			t := words[j]
			dy := math.Abs(t.BBox.Y1 - w.BBox.Y1)
			if dy > 1 && dy < twinReachEm*w.Size && math.Abs(t.BBox.X0-w.BBox.X0) < twinTol && strings.HasPrefix(t.Text, w.Text) &&
				w.BBox.X1 < t.BBox.X1+twinTol && math.Abs(t.Size-w.Size) < 0.5 {
				drop[i] = true
				break
			}
		}
	}
	return drop
}
