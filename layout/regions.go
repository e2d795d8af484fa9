package layout

import (
	"math"
	"regexp"
	"sort"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
)

// Region thresholds (points).
const (
	// graphicMergeGap merges graphics whose boxes come this close.
	graphicMergeGap = 3.0
	// textAbsorbGap: a figure-text line this close to a figure blob joins it.
	textAbsorbGap = 12.0
	// subcaptionGap: a sub-figure caption ("(a) Time series …") this close to a blob joins it.
	subcaptionGap = 20.0
	// smallTextAbsorbGap is textAbsorbGap for text clearly smaller than the body font.
	smallTextAbsorbGap = 16.0
	// maxCaptionGap is the largest gap between a caption and the figure it describes (with no
	// body text between them; the score prefers closer regions).
	maxCaptionGap = 144.0
	// minRegionSide: proposals smaller than this on a side are discarded.
	minRegionSide = 12.0
	// overlapTol is the overlap two chosen regions may have.
	overlapTol = 2.0
	// barrierGraze is how far (in body font sizes) a blob may reach into the text line that
	// bounds its region.
	barrierGraze = 0.3
	// maxCombinations bounds the exhaustive assignment per page; above it a greedy pass is used.
	maxCombinations = 200000
)

// subcaptionRE matches the opening of a sub-figure caption: "(a) …", "(B) …".
var subcaptionRE = regexp.MustCompile(`^\(([A-Za-z])\)\s+\S`)

// blob is a cluster of graphics and images, with the figure text absorbed into it.
type blob struct {
	box      extract.Rect
	gbox     extract.Rect // the painted graphics and images only
	graphics float64      // area of painted graphics and images inside
	images   []int        // indexes of page images inside
	nGraph   int
	text     []int // indexes of absorbed lines
}

// pageModel is everything the region search needs about one page.
type pageModel struct {
	page     *extract.Page
	lines    []tline
	blobs    []blob
	graphics []extract.Rect // cleaned graphics and image boxes
	frames   []frame        // boxes and rules framing figures with their captions
	// furniture are the painted boxes of running heads and feet (logos, header rules).
	furniture []extract.Rect
	tracer    TraceFunc
}

// frame is a painted box (or a pair of rules) around a figure and its caption: page layout,
// not figure content.
type frame struct {
	box extract.Rect
}

// paintedBoxes returns the boxes of visible graphics and images, clipped to the page, without
// white fills, backgrounds and running-header rules.
func paintedBoxes(p *extract.Page) (boxes []extract.Rect, isImage []int) {
	pageBox := extract.Rect{X1: p.Width, Y1: p.Height}
	for i, im := range p.Images {
		b := im.BBox.Intersect(pageBox)
		if b.Width() < 1 || b.Height() < 1 {
			continue
		}
		boxes = append(boxes, b)
		isImage = append(isImage, i)
	}
	for _, g := range p.Graphics {
		if g.White || g.Background {
			continue
		}
		b := clipLoose(g.BBox, pageBox)
		if b.Width() <= 0 && b.Height() <= 0 {
			continue
		}
		// Rules at the very top of the page spanning most of it belong to the running head.
		if b.Height() < 5 && b.Y1 < 72 && b.Width() > 0.7*p.Width {
			continue
		}
		boxes = append(boxes, b)
		isImage = append(isImage, -1)
	}
	return boxes, isImage
}

// clipLoose intersects with the page but keeps zero-width or zero-height boxes (hairlines).
func clipLoose(r, page extract.Rect) extract.Rect {
	o := extract.Rect{X0: math.Max(r.X0, page.X0), Y0: math.Max(r.Y0, page.Y0), X1: math.Min(r.X1, page.X1), Y1: math.Min(r.Y1, page.Y1)}
	if o.X1 < o.X0 || o.Y1 < o.Y0 {
		return extract.Rect{X0: 1, X1: 0}
	}
	return o
}

// near reports whether two boxes (hairlines allowed) come within gap of each other.
func nearBoxes(a, b extract.Rect, gap float64) bool {
	return a.X0-gap <= b.X1 && b.X0-gap <= a.X1 && a.Y0-gap <= b.Y1 && b.Y0-gap <= a.Y1
}

// cluster merges boxes that come within gap of each other, to a fixpoint. It returns the
// cluster of each box.
func cluster(boxes []extract.Rect, gap float64) []int {
	n := len(boxes)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return boxes[order[a]].X0 < boxes[order[b]].X0 })
	for a := 0; a < n; a++ {
		i := order[a]
		for b := a + 1; b < n; b++ {
			j := order[b]
			if boxes[j].X0 > boxes[i].X1+gap {
				break
			}
			if nearBoxes(boxes[i], boxes[j], gap) {
				ri, rj := find(i), find(j)
				if ri != rj {
					parent[ri] = rj
				}
			}
		}
	}
	// Cluster boxes may now come close to each other: repeat on the unions until stable.
	for {
		roots := map[int]extract.Rect{}
		for i := range boxes {
			r := find(i)
			roots[r] = unionLoose(roots[r], boxes[i], len(roots) == 0)
		}
		keys := make([]int, 0, len(roots))
		for k := range roots {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		merged := false
		for a := 0; a < len(keys); a++ {
			for b := a + 1; b < len(keys); b++ {
				if find(keys[a]) == find(keys[b]) {
					continue
				}
				if nearBoxes(roots[keys[a]], roots[keys[b]], gap) {
					parent[find(keys[a])] = find(keys[b])
					merged = true
				}
			}
		}
		if !merged {
			break
		}
	}
	out := make([]int, n)
	for i := range out {
		out[i] = find(i)
	}
	return out
}

var unset = extract.Rect{X0: math.Inf(1), Y0: math.Inf(1), X1: math.Inf(-1), Y1: math.Inf(-1)}

// unionLoose is a union that keeps hairlines (zero width or height).
func unionLoose(a, b extract.Rect, _ bool) extract.Rect {
	if a == (extract.Rect{}) {
		return b
	}
	return extract.Rect{X0: math.Min(a.X0, b.X0), Y0: math.Min(a.Y0, b.Y0), X1: math.Max(a.X1, b.X1), Y1: math.Max(a.Y1, b.Y1)}
}

// buildBlobs clusters the painted boxes and absorbs the figure text near them. Lines that are
// captions are never absorbed; lines set like body text (body size, long) are absorbed only
// when they lie over a blob.
func buildBlobs(pm *pageModel, st docStats, isCaption map[int]bool, capBoxes []extract.Rect) {
	boxes, isImage := paintedBoxes(pm.page)
	if len(pm.furniture) > 0 {
		var kb []extract.Rect
		var ki []int
		for i, b := range boxes {
			isFurniture := false
			for _, f := range pm.furniture {
				if nearSame(b, f, 0.5) {
					isFurniture = true
					break
				}
			}
			if !isFurniture {
				kb = append(kb, b)
				ki = append(ki, isImage[i])
			}
		}
		boxes, isImage = kb, ki
	}
	var parts map[int]bool
	pm.frames, parts = findFrames(boxes, isImage, pm.lines, capBoxes)
	if len(parts) > 0 {
		var kb []extract.Rect
		var ki []int
		for i := range boxes {
			if !parts[i] {
				kb = append(kb, boxes[i])
				ki = append(ki, isImage[i])
			}
		}
		boxes, isImage = kb, ki
	}
	trimUnderBodyText(boxes, isImage, pm.lines, st)
	pm.graphics = boxes
	if len(boxes) == 0 {
		markSmallText(pm, st)
		return
	}
	cl := cluster(boxes, graphicMergeGap)
	byRoot := map[int]*blob{}
	var roots []int
	for i, b := range boxes {
		r := cl[i]
		bl, ok := byRoot[r]
		if !ok {
			bl = &blob{}
			byRoot[r] = bl
			roots = append(roots, r)
		}
		bl.box = unionLoose(bl.box, b, false)
		bl.gbox = bl.box
		bl.graphics += math.Max(b.Width(), 1) * math.Max(b.Height(), 1)
		bl.nGraph++
		if isImage[i] >= 0 {
			bl.images = append(bl.images, isImage[i])
		}
	}
	sort.Ints(roots)
	var blobs []blob
	for _, r := range roots {
		b := *byRoot[r]
		if b.box.Width() < 2 && b.box.Height() < 2 {
			continue
		}
		blobs = append(blobs, b)
	}
	// Absorb figure text: lines over a blob's graphics, and lines in a face other than the
	// body's (or the code's) next to a blob. Body text is never absorbed from outside the
	// graphics, and text never pulls a one-column blob across a gutter.
	absorbed := map[int]bool{}
	gutter := -1.0
	if len(st.columns) == 2 {
		gutter = (st.columns[0].x1 + st.columns[1].x0) / 2
	}
	for pass := 0; pass < 3; pass++ {
		changed := false
		for li, l := range pm.lines {
			if absorbed[li] || isCaption[li] || l.furniture {
				continue
			}
			bodyFace := l.mono || (l.font == st.bodyFont && math.Abs(l.size-st.bodySize) < 0.6)
			gapMax := textAbsorbGap

			if l.size < st.bodySize-1.5 {
				gapMax = smallTextAbsorbGap
			}
			if !bodyFace {
				gapMax = math.Max(smallTextAbsorbGap, 1.6*l.size)
			}
			if subcaptionRE.MatchString(l.text) {
				bodyFace, gapMax = false, subcaptionGap
			}
			if isVertical(l) {
				gapMax = math.Max(gapMax, 2*l.size)
				bodyFace = false
			}
			lx, _ := l.box.Center()
			for bi := range blobs {
				b := &blobs[bi]
				over := l.box.Intersect(b.gbox).Area() > 0.5*l.box.Area()
				if !over {
					if bodyFace || gapBetween(l.box, b.box) > gapMax {
						continue
					}
					if hOverlap(l.box, b.box) <= 0 && vOverlap(l.box, b.box) <= 0 {
						continue // diagonal to the blob: not its label
					}
					if captionBetween(pm, isCaption, l.box, b.box) {
						continue
					}
					if b.box.Width() < 3 && b.nGraph == 1 {
						continue // a lone rule: text next to it is not figure text
					}
					if gutter > 0 && (b.gbox.X1 < gutter+2 && lx > gutter || b.gbox.X0 > gutter-2 && lx < gutter) {
						continue
					}
				}
				b.box = unionLoose(b.box, l.box, false)
				b.text = append(b.text, li)
				absorbed[li] = true
				changed = true
				break
			}
		}
		// Blobs that grew may now overlap: merge them.
		for {
			merged := false
			for i := 0; i < len(blobs) && !merged; i++ {
				for j := i + 1; j < len(blobs); j++ {
					if nearBoxes(blobs[i].box, blobs[j].box, 0.5) && blobs[i].box.Intersect(blobs[j].box).Area() > 0 {
						blobs[i] = mergeBlob(blobs[i], blobs[j])
						blobs = append(blobs[:j], blobs[j+1:]...)
						merged = true
						break
					}
				}
			}
			if !merged {
				break
			}
		}
		if !changed {
			break
		}
	}
	// Lines enclosed by a blob (an axis title between two panels, set in the body face) are figure
	// text too: body text never sits inside a figure.
	for li, l := range pm.lines {
		if absorbed[li] || isCaption[li] || l.furniture {
			continue
		}
		for bi := range blobs {
			if contains(blobs[bi].box, l.box, 1) {
				blobs[bi].text = append(blobs[bi].text, li)
				absorbed[li] = true
				break
			}
		}
	}
	for li := range absorbed {
		pm.lines[li].role = roleFigureText
	}
	pm.blobs = blobs
	markSmallText(pm, st)
}

// markSmallText gives the role roleOther to lines that are neither body text nor taken by a
// figure: vertical text, and short lines in a non-typewriter face that neither start at a
// column margin (headings, paragraph ends do) nor sit next to a long line of a paragraph.
// Such lines do not stop a figure region.
func markSmallText(pm *pageModel, st docStats) {
	colW := st.columns[0].width()
	long := func(l tline) bool { return l.box.Width() >= 0.5*colW }
	for i := range pm.lines {
		l := &pm.lines[i]
		if l.role != roleBody {
			continue
		}
		if l.furniture {
			l.role = roleOther // bounds nothing, joins nothing
			continue
		}
		if isVertical(*l) {
			l.role = roleOther
			continue
		}
		if l.mono || l.box.Width() >= 0.3*colW {
			continue
		}
		atMargin := false
		for _, c := range st.columns {
			if math.Abs(l.box.X0-c.x0) < 5 {
				atMargin = true
			}
		}
		if atMargin && l.size >= st.bodySize-1.5 {
			continue
		}
		inParagraph := false
		for j, m := range pm.lines {
			if j == i || m.role != roleBody || !long(m) || hOverlap(m.box, l.box) <= 0 {
				continue
			}
			if d := math.Abs(m.box.Y1 - l.box.Y1); d > 0.5*l.size && d < 1.5*st.lineSpacing {
				inParagraph = true
				break
			}
		}
		if !inParagraph {
			l.role = roleOther
		}
	}
}

// isVertical reports a line set vertically (rotated axis titles).
func isVertical(l tline) bool {
	return len([]rune(l.text)) > 1 && l.box.Height() > 1.5*l.box.Width()
}

// captionBetween reports whether a caption line lies between a text line and a blob, above or
// below: text on the far side of a caption is not that blob's label.
func captionBetween(pm *pageModel, isCaption map[int]bool, l, b extract.Rect) bool {
	for ci := range isCaption {
		c := pm.lines[ci].box
		if hOverlap(c, l) <= 0 {
			continue
		}
		if c.Y0 >= b.Y1-1 && c.Y1 <= l.Y0+1 || c.Y1 <= b.Y0+1 && c.Y0 >= l.Y1-1 {
			return true
		}
	}
	return false
}

func mergeBlob(a, b blob) blob {
	return blob{
		box:      unionLoose(a.box, b.box, false),
		gbox:     unionLoose(a.gbox, b.gbox, false),
		graphics: a.graphics + b.graphics,
		images:   append(append([]int(nil), a.images...), b.images...),
		nGraph:   a.nGraph + b.nGraph,
		text:     append(append([]int(nil), a.text...), b.text...),
	}
}

// direction of a proposal relative to its caption.
type direction int

const (
	dirUp direction = iota
	dirDown
	dirLeft
	dirRight
)

func (d direction) String() string { return [...]string{"above", "below", "left", "right"}[d] }

// proposal is a candidate figure region for a caption.
type proposal struct {
	box    extract.Rect
	dir    direction
	blobs  []int
	score  float64
	images []int
}

// proposals returns the regions beside a caption block: above, below, left and right.
func proposals(pm *pageModel, blk captionBlock, others []extract.Rect, st docStats, kind caption.Kind) []proposal {
	c := blk.box
	span := captionSpan(pm, blk, others, st)
	// A caption inside a frame has its figure inside the same frame.
	fr, framed := pm.frameOf(c)
	inFrame := func(b extract.Rect) bool { return !framed || contains(fr, b, 2) }
	if framed {
		span.X0, span.X1 = math.Max(span.X0, fr.X0), math.Min(span.X1, fr.X1)
	}
	var out []proposal
	barrier := func(l int) bool {
		r := pm.lines[l].role
		return r == roleBody || r == roleCaption
	}
	// Up and down.
	for _, dir := range []direction{dirUp, dirDown} {
		limit := 0.0
		if dir == dirDown {
			limit = pm.page.Height
		}
		if framed {
			limit = fr.Y0
			if dir == dirDown {
				limit = fr.Y1
			}
		}
		for li, l := range pm.lines {
			if !barrier(li) || inBlock(blk, li) || hOverlap(l.box, span) <= 0 {
				continue
			}
			if dir == dirUp && l.box.Y1 <= c.Y0+1 && l.box.Y1 > limit {
				limit = l.box.Y1
			}
			if dir == dirDown && l.box.Y0 >= c.Y1-1 && l.box.Y0 < limit {
				limit = l.box.Y0
			}
		}
		for _, o := range others {
			if hOverlap(o, span) <= 0 {
				continue
			}
			if dir == dirUp && o.Y1 <= c.Y0+1 && o.Y1 > limit {
				limit = o.Y1
			}
			if dir == dirDown && o.Y0 >= c.Y1-1 && o.Y0 < limit {
				limit = o.Y0
			}
		}
		var p proposal
		p.dir = dir
		for bi, b := range pm.blobs {
			if !inSpan(b.box, span) || !inFrame(b.box) {
				continue
			}
			// A blob may graze the text line that bounds it (a clip or a white margin a point or
			// two into the line); the region is then cut at the line.
			graze := math.Max(1, barrierGraze*st.bodySize)
			if dir == dirUp && (b.box.Y1 > c.Y0+2 || b.box.Y0 < limit-graze) {
				continue
			}
			if dir == dirDown && (b.box.Y0 < c.Y1-2 || b.box.Y1 > limit+graze) {
				continue
			}
			p.add(bi, b)
		}
		if dir == dirUp && p.box.Y0 < limit {
			p.box.Y0 = limit
		}
		if dir == dirDown && len(p.blobs) > 0 && p.box.Y1 > limit {
			p.box.Y1 = limit
		}
		if len(p.blobs) == 0 {
			continue
		}
		gap := c.Y0 - p.box.Y1
		if dir == dirDown {
			gap = p.box.Y0 - c.Y1
		}
		if gap > maxCaptionGap {
			// Keep only the blobs nearest the caption, chained by small gaps.
			p = chain(pm, p, c, dir)
			if len(p.blobs) == 0 {
				continue
			}
		}
		out = append(out, p)
	}
	// Left and right: blobs beside the caption, vertically overlapping it, grown over blobs
	// overlapping the region vertically.
	for _, dir := range []direction{dirLeft, dirRight} {
		var p proposal
		p.dir = dir
		region := c
		for changed := true; changed; {
			changed = false
			for bi, b := range pm.blobs {
				if contains1(p.blobs, bi) || !inFrame(b.box) {
					continue
				}
				if dir == dirLeft && b.box.X1 > c.X0+2 || dir == dirRight && b.box.X0 < c.X1-2 {
					continue
				}
				if vOverlap(b.box, region) <= 0 {
					continue
				}
				if dir == dirLeft && c.X0-b.box.X1 > maxCaptionGap || dir == dirRight && b.box.X0-c.X1 > maxCaptionGap && len(p.blobs) == 0 {
					continue
				}
				p.add(bi, b)
				region = region.Union(b.box)
				changed = true
			}
		}
		if len(p.blobs) == 0 {
			continue
		}
		// Body text across the region's rows means this is not a side-by-side layout.
		blocked := false
		for li, l := range pm.lines {
			if barrier(li) && !inBlock(blk, li) && !l.box.Intersect(p.box).Empty() {
				blocked = true
			}
		}
		if !blocked && vOverlap(p.box, c) > 0.5*c.Height() {
			out = append(out, p)
		}
	}
	if framed && len(out) == 0 {
		// Nothing painted found beside the caption, but the frame says where the figure is: the
		// larger part of the frame's inside above or below the caption.
		up := extract.Rect{X0: fr.X0, Y0: fr.Y0, X1: fr.X1, Y1: c.Y0}
		down := extract.Rect{X0: fr.X0, Y0: c.Y1, X1: fr.X1, Y1: fr.Y1}
		p := proposal{box: inflate(up, -frameEdgeTol), dir: dirUp}
		if down.Height() > up.Height() {
			p = proposal{box: inflate(down, -frameEdgeTol), dir: dirDown}
		}
		if p.box.Height() > 3*minRegionSide {
			out = append(out, p)
		}
	}
	if kind == caption.Table {
		out = append(out, tableProposals(pm, blk, others, st)...)
	}
	var kept []proposal
	for _, p := range out {
		if p.box.Width() < minRegionSide || p.box.Height() < minRegionSide {
			continue
		}
		p.score = scoreProposal(p, c, kind, st)
		kept = append(kept, p)
	}
	return kept
}

func contains1(a []int, x int) bool {
	for _, v := range a {
		if v == x {
			return true
		}
	}
	return false
}

func (p *proposal) add(bi int, b blob) {
	p.blobs = append(p.blobs, bi)
	p.box = unionLoose(p.box, b.box, false)
	p.images = append(p.images, b.images...)
}

// chain keeps the blobs reachable from the caption by gaps no larger than maxCaptionGap.
func chain(pm *pageModel, p proposal, c extract.Rect, dir direction) proposal {
	sort.Slice(p.blobs, func(i, j int) bool {
		a, b := pm.blobs[p.blobs[i]].box, pm.blobs[p.blobs[j]].box
		if dir == dirUp {
			return a.Y1 > b.Y1
		}
		return a.Y0 < b.Y0
	})
	var q proposal
	q.dir = dir
	edge := c.Y0
	if dir == dirDown {
		edge = c.Y1
	}
	for _, bi := range p.blobs {
		b := pm.blobs[bi].box
		gap := edge - b.Y1
		if dir == dirDown {
			gap = b.Y0 - edge
		}
		if gap > maxCaptionGap {
			break
		}
		q.add(bi, pm.blobs[bi])
		if dir == dirUp {
			edge = math.Min(edge, b.Y0)
		} else {
			edge = math.Max(edge, b.Y1)
		}
	}
	return q
}

func inBlock(blk captionBlock, li int) bool {
	for _, l := range blk.lines {
		if l == li {
			return true
		}
	}
	return false
}

// inSpan: a blob belongs to a horizontal span when its centre lies in it or most of it does.
func inSpan(b, span extract.Rect) bool {
	cx, _ := b.Center()
	if cx >= span.X0 && cx <= span.X1 {
		return true
	}
	return hOverlap(b, span) > 0.5*math.Max(b.Width(), 1)
}

// captionSpan is the horizontal band a caption's figure may occupy: its text column (or the
// whole text width when the caption crosses the gutter), cut at neighbouring captions on the
// same rows (two figures side by side).
func captionSpan(pm *pageModel, blk captionBlock, others []extract.Rect, st docStats) extract.Rect {
	c := blk.box
	x0, x1 := 0.0, pm.page.Width
	if len(st.columns) == 2 {
		gutter := (st.columns[0].x1 + st.columns[1].x0) / 2
		switch {
		case c.X1 <= gutter+2:
			x1 = gutter
		case c.X0 >= gutter-2:
			x0 = gutter
		}
	}
	for _, o := range others {
		if vOverlap(o, c) <= 0 {
			continue
		}
		if o.X0 >= c.X1-1 {
			x1 = math.Min(x1, (c.X1+o.X0)/2)
		}
		if o.X1 <= c.X0+1 {
			x0 = math.Max(x0, (o.X1+c.X0)/2)
		}
	}
	return extract.Rect{X0: x0, Y0: 0, X1: x1, Y1: pm.page.Height}
}

// scoreProposal rates a proposal: content density, graphics, closeness, and the usual side
// (figures above their caption, tables below).
func scoreProposal(p proposal, c extract.Rect, kind caption.Kind, st docStats) float64 {
	s := 1.0
	var gap float64
	switch p.dir {
	case dirUp:
		gap = c.Y0 - p.box.Y1
		if kind == caption.Figure {
			s += 0.3
		} else {
			s += 0.1
		}
	case dirDown:
		gap = p.box.Y0 - c.Y1
		if kind == caption.Table {
			s += 0.3
		} else {
			s += 0.1
		}
	case dirLeft:
		gap = c.X0 - p.box.X1
		s *= 0.75
	case dirRight:
		gap = p.box.X0 - c.X1
		s *= 0.75
	}
	s -= 0.004 * math.Max(gap, 0)
	if p.box.Area() < 2000 {
		s -= 0.3
	}
	return s
}

// assign picks the best set of non-overlapping proposals, at most one per caption.
// It returns the chosen proposal index per caption (−1 for none).
func assign(props [][]proposal, captions []extract.Rect) []int {
	n := len(props)
	choice := make([]int, n)
	best := make([]int, n)
	for i := range best {
		best[i] = -1
	}
	combos := 1
	for _, ps := range props {
		combos *= len(ps) + 1
		if combos > maxCombinations {
			break
		}
	}
	valid := func(i, pi int) bool {
		b := props[i][pi].box
		for k, cb := range captions {
			if k != i && inflate(b, -overlapTol).Intersect(cb).Area() > 0 {
				return false
			}
		}
		return true
	}
	conflict := func(a, b extract.Rect) bool {
		return inflate(a, -overlapTol).Intersect(inflate(b, -overlapTol)).Area() > 0
	}
	if combos > maxCombinations {
		// Greedy: best proposals first.
		type cand struct{ i, pi int }
		var all []cand
		for i, ps := range props {
			for pi := range ps {
				all = append(all, cand{i, pi})
			}
		}
		sort.SliceStable(all, func(a, b int) bool { return props[all[a].i][all[a].pi].score > props[all[b].i][all[b].pi].score })
		var taken []extract.Rect
		for _, c := range all {
			if best[c.i] >= 0 || !valid(c.i, c.pi) {
				continue
			}
			ok := true
			for _, t := range taken {
				if conflict(t, props[c.i][c.pi].box) {
					ok = false
				}
			}
			if ok {
				best[c.i] = c.pi
				taken = append(taken, props[c.i][c.pi].box)
			}
		}
		return best
	}
	bestScore := math.Inf(-1)
	var rec func(i int, score float64, taken []extract.Rect)
	rec = func(i int, score float64, taken []extract.Rect) {
		if i == n {
			if score > bestScore+1e-9 {
				bestScore = score
				copy(best, choice)
			}
			return
		}
		choice[i] = -1
		rec(i+1, score, taken)
		for pi, p := range props[i] {
			if !valid(i, pi) {
				continue
			}
			ok := true
			for _, t := range taken {
				if conflict(t, p.box) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			choice[i] = pi
			rec(i+1, score+p.score, append(taken, p.box))
		}
		choice[i] = -1
	}
	rec(0, 0, nil)
	return best
}

func inflate(r extract.Rect, d float64) extract.Rect {
	return extract.Rect{X0: r.X0 - d, Y0: r.Y0 - d, X1: r.X1 + d, Y1: r.Y1 + d}
}

// tableProposals proposes table regions from horizontal rules: starting with a rule close to
// the caption (above or below it), rules are chained while no paragraph of body text or other
// caption lies between them; the region is the rules with the text between them.
func tableProposals(pm *pageModel, blk captionBlock, others []extract.Rect, st docStats) []proposal {
	c := blk.box
	span := captionSpan(pm, blk, others, st)
	var rules []extract.Rect
	for _, g := range pm.graphics {
		if g.Height() < 2 && g.Width() > 40 && inSpan(g, span) {
			rules = append(rules, g)
		}
	}
	colW := st.columns[0].width()
	paragraphBetween := func(y0, y1 float64) bool {
		for li, l := range pm.lines {
			if inBlock(blk, li) || l.box.Y0 < y0 || l.box.Y1 > y1 || hOverlap(l.box, span) <= 0 {
				continue
			}
			if l.role == roleCaption {
				return true
			}
			if !l.mono && l.font == st.bodyFont && l.box.Width() > 0.85*colW {
				return true
			}
		}
		for _, o := range others {
			if o.Y0 >= y0 && o.Y1 <= y1 && hOverlap(o, span) > 0 {
				return true
			}
		}
		return false
	}
	var out []proposal
	for _, dir := range []direction{dirUp, dirDown} {
		var rs []extract.Rect
		for _, r := range rules {
			if dir == dirUp && r.Y1 <= c.Y0+1 || dir == dirDown && r.Y0 >= c.Y1-1 {
				rs = append(rs, r)
			}
		}
		sort.Slice(rs, func(i, j int) bool {
			if dir == dirUp {
				return rs[i].Y0 > rs[j].Y0
			}
			return rs[i].Y0 < rs[j].Y0
		})
		if len(rs) == 0 {
			continue
		}
		first := rs[0]
		gap := c.Y0 - first.Y1
		if dir == dirDown {
			gap = first.Y0 - c.Y1
		}
		if gap > maxCaptionGap || paragraphBetween(math.Min(first.Y1, c.Y1), math.Max(first.Y0, c.Y0)) {
			continue
		}
		box := first
		last := first
		for _, r := range rs[1:] {
			y0, y1 := math.Min(last.Y0, r.Y0), math.Max(last.Y1, r.Y1)
			if paragraphBetween(y0, y1) {
				break
			}
			box = unionLoose(box, r, false)
			last = r
		}
		if box.Height() < minRegionSide {
			continue
		}
		for li, l := range pm.lines {
			if !inBlock(blk, li) && l.role != roleCaption && vOverlap(l.box, box) > 0 && hOverlap(l.box, box) > 0 {
				box = unionLoose(box, l.box, false)
			}
		}
		p := proposal{box: box, dir: dir}
		for bi, b := range pm.blobs {
			if contains(box, b.box, 1) {
				p.blobs = append(p.blobs, bi)
			}
		}
		out = append(out, p)
	}
	return out
}

// splitNested adds, for a proposal that holds another caption's proposal at its top or bottom
// (a table above a figure whose blobs grew into one), the proposal without that part, shrunk to
// the content left, so that the assignment can give each caption its own region.
func splitNested(pm *pageModel, props [][]proposal, blocks []captionBlock, st docStats) [][]proposal {
	out := make([][]proposal, len(props))
	for i := range props {
		out[i] = append([]proposal(nil), props[i]...)
		for _, p := range props[i] {
			for j := range props {
				if j == i {
					continue
				}
				for _, q := range props[j] {
					if !contains(p.box, q.box, 2) || q.box.Area() > nestedMaxShare*p.box.Area() {
						continue
					}
					rest := p.box
					switch {
					case q.box.Y0-p.box.Y0 < 2:
						rest.Y0 = q.box.Y1 + 1
					case p.box.Y1-q.box.Y1 < 2:
						rest.Y1 = q.box.Y0 - 1
					default:
						continue
					}
					r := pm.shrinkToContent(rest)
					if r.Width() < minRegionSide || r.Height() < minRegionSide {
						continue
					}
					np := proposal{box: r, dir: p.dir}
					np.score = scoreProposal(np, blocks[i].box, blocks[i].cand.m.Kind, st) - nestedPenalty
					out[i] = append(out[i], np)
				}
			}
		}
	}
	return out
}

// Nested-proposal constants.
const (
	// nestedMaxShare: a proposal inside another one is split off only when it is at most this
	// share of it.
	nestedMaxShare = 0.8
	// nestedPenalty lowers the score of a split proposal below the unsplit one.
	nestedPenalty = 0.05
)

// shrinkToContent shrinks a box to the painted graphics and the non-body text inside it.
func (pm *pageModel) shrinkToContent(b extract.Rect) extract.Rect {
	var out extract.Rect
	first := true
	add := func(r extract.Rect) {
		if first {
			out, first = r, false
			return
		}
		out = unionLoose(out, r, false)
	}
	for _, g := range pm.graphics {
		if in := g.Intersect(b); in.Width() > 0 || in.Height() > 0 {
			if contains(b, g, 1) {
				add(g)
			} else if !in.Empty() {
				add(in)
			}
		}
	}
	for _, l := range pm.lines {
		if l.role != roleBody && l.role != roleCaption && contains(b, l.box, 1) {
			add(l.box)
		}
	}
	return out
}

// trimUnderBodyText shrinks image boxes that reach under lines of body text (an image placed
// with white margins that the text above or below it is set over): body text is legible, so
// the image is blank there. Only the top and bottom are trimmed, and only when most of the
// image is left.
func trimUnderBodyText(boxes []extract.Rect, isImage []int, lines []tline, st docStats) {
	colW := st.columns[0].width()
	for i := range boxes {
		if isImage[i] < 0 {
			continue
		}
		b := boxes[i]
		t := b
		_, cy := b.Center()
		for _, l := range lines {
			if l.role != roleBody || l.mono || l.font != st.bodyFont || math.Abs(l.size-st.bodySize) > 0.6 ||
				l.box.Width() < 0.5*colW || l.box.Intersect(b).Empty() || hOverlap(l.box, b) < 0.5*l.box.Width() {
				continue
			}
			if _, ly := l.box.Center(); ly < cy {
				t.Y0 = math.Max(t.Y0, l.box.Y1+0.5)
			} else {
				t.Y1 = math.Min(t.Y1, l.box.Y0-0.5)
			}
		}
		if t != b && t.Height() > 0.5*b.Height() {
			boxes[i] = t
		}
	}
}
