package layout

import (
	"math"
	"sort"

	"github.com/eosinlab/eosin/extract"
)

// Frame thresholds (points).
const (
	// frameRuleThickness: a painted box thinner than this on one side is a rule, a candidate side
	// of a frame drawn as separate strokes.
	frameRuleThickness = 3.0
	// frameEdgeTol is how far a rule may sit from the edge of the frame it belongs to.
	frameEdgeTol = 3.0
	// frameMaxCaptionShare: a caption filling more than this share of a box is a caption
	// box, not a figure frame.
	frameMaxCaptionShare = 0.5
	// frameCornerSize: a painted box this small on both sides may be a rounded corner of a frame.
	frameCornerSize = 8.0
	// frameCornerGap: the sides of a rounded frame drawn without their corners leave this much
	// room at each corner.
	frameCornerGap = 5.0
	// frameMinSide: a rule shorter than this is no side of a frame.
	frameMinSide = 20.0
)

// findFrames finds the boxes that frame a figure together with its caption: a painted box
// (filled, stroked or rounded) or a set of rules on the sides of one rectangle, which holds a
// caption block that fills at most half of it and which no body-text line crosses. A frame is
// page layout, not figure content (the pdffigures2 "boxed figure" idea): its edges bound the
// figure and its own paint is left out of the figure blobs. It returns the frames and the
// indexes of the painted boxes that draw them.
func findFrames(boxes []extract.Rect, isImage []int, lines []tline, captions []extract.Rect) ([]frame, map[int]bool) {
	var frames []frame
	parts := map[int]bool{}
	if len(captions) == 0 {
		return nil, parts
	}
	holdsCaption := func(f extract.Rect) bool {
		for _, c := range captions {
			if contains(f, c, 2) && c.Area() < frameMaxCaptionShare*f.Area() {
				return true
			}
		}
		return false
	}
	crossed := func(f extract.Rect) bool {
		for _, l := range lines {
			if l.role != roleBody {
				continue
			}
			if !l.box.Intersect(f).Empty() && !contains(f, l.box, 2) {
				return true
			}
		}
		return false
	}
	add := func(f extract.Rect, members []int) {
		for _, o := range frames {
			if nearSame(o.box, f, frameEdgeTol) {
				for _, m := range members {
					parts[m] = true
				}
				return
			}
		}
		frames = append(frames, frame{box: f})
		for _, m := range members {
			parts[m] = true
		}
	}
	// One painted box around the caption.
	for i, b := range boxes {
		if isImage[i] >= 0 || !holdsCaption(b) || crossed(b) {
			continue
		}
		add(b, []int{i})
	}
	// Rules drawn one side at a time: group the long rules that meet (or nearly meet, at corners
	// left undrawn or drawn as separate arcs), and take a group whose rules all lie on the edges
	// of its bounding box. Small pieces in the corners of such a frame belong to it.
	var rules []int
	var rb []extract.Rect
	for i, b := range boxes {
		thin := b.Width() < frameRuleThickness || b.Height() < frameRuleThickness
		if isImage[i] < 0 && thin && math.Max(b.Width(), b.Height()) >= frameMinSide {
			rules = append(rules, i)
			rb = append(rb, b)
		}
	}
	if len(rules) >= 2 {
		cl := touching(rb, frameCornerGap)
		groups := map[int][]int{}
		for k, r := range cl {
			groups[r] = append(groups[r], k)
		}
		for _, g := range groups {
			if len(g) < 2 {
				continue
			}
			box := rb[g[0]]
			for _, k := range g[1:] {
				box = unionLoose(box, rb[k], false)
			}
			onEdges := true
			for _, k := range g {
				if !onEdge(rb[k], box) {
					onEdges = false
					break
				}
			}
			if !onEdges || !holdsCaption(box) || crossed(box) {
				continue
			}
			members := make([]int, 0, len(g)+4)
			for _, k := range g {
				members = append(members, rules[k])
			}
			for i, b := range boxes {
				if isImage[i] < 0 && b.Width() < frameCornerSize && b.Height() < frameCornerSize && onEdge(b, box) &&
					contains(inflate(box, 1), b, 0) {
					members = append(members, i)
				}
			}
			add(box, members)
		}
	}
	return frames, parts
}

// onEdge reports whether a rule lies along one edge of box, or a small piece in one of its
// corners.
func onEdge(r, box extract.Rect) bool {
	if r.Width() < frameCornerSize && r.Height() < frameCornerSize {
		nearX := math.Abs(r.X0-box.X0) < frameEdgeTol || math.Abs(r.X1-box.X1) < frameEdgeTol
		nearY := math.Abs(r.Y0-box.Y0) < frameEdgeTol || math.Abs(r.Y1-box.Y1) < frameEdgeTol
		if nearX && nearY {
			return true
		}
	}
	return r.Height() < frameRuleThickness && (math.Abs(r.Y0-box.Y0) < frameEdgeTol || math.Abs(r.Y1-box.Y1) < frameEdgeTol) ||
		r.Width() < frameRuleThickness && (math.Abs(r.X0-box.X0) < frameEdgeTol || math.Abs(r.X1-box.X1) < frameEdgeTol)
}

// nearSame reports two boxes whose edges all agree within tol.
func nearSame(a, b extract.Rect, tol float64) bool {
	return math.Abs(a.X0-b.X0) < tol && math.Abs(a.Y0-b.Y0) < tol && math.Abs(a.X1-b.X1) < tol && math.Abs(a.Y1-b.Y1) < tol
}

// frameOf returns the innermost frame holding a caption box, if any.
func (pm *pageModel) frameOf(c extract.Rect) (extract.Rect, bool) {
	best, ok := extract.Rect{}, false
	for _, f := range pm.frames {
		if contains(f.box, c, 2) && (!ok || f.box.Area() < best.Area()) {
			best, ok = f.box, true
		}
	}
	return best, ok
}

// touching groups boxes connected by chains of boxes within gap of each other (no merging of
// group bounds, unlike cluster). It returns a group id per box.
func touching(boxes []extract.Rect, gap float64) []int {
	parent := make([]int, len(boxes))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return boxes[order[a]].X0 < boxes[order[b]].X0 })
	for a := 0; a < len(order); a++ {
		i := order[a]
		for b := a + 1; b < len(order); b++ {
			j := order[b]
			if boxes[j].X0 > boxes[i].X1+gap {
				break
			}
			if nearBoxes(boxes[i], boxes[j], gap) {
				parent[find(i)] = find(j)
			}
		}
	}
	out := make([]int, len(boxes))
	for i := range out {
		out[i] = find(i)
	}
	return out
}
