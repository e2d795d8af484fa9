package layout

import (
	"math"
	"sort"
	"strings"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
	"github.com/eosinlab/eosin/shards"
)

// panelRowTol groups panels or panel letters into one row when their tops differ by less.
const panelRowTol = 12.0

// panelBox is one panel of a figure region.
type panelBox struct {
	label string
	box   extract.Rect
}

// splitPanels divides a figure region into panels and pairs them with the caption's per-panel
// parts. Panels come from panel letters inside the region ("A", "(b)", "a)": single-letter
// words, in sequence from A/a) when there are at least two, else from the separate blobs of
// the region when their number equals the caption's panel count. Letter and panel counts that
// disagree mean no split.
func splitPanels(pm *pageModel, p proposal, capText string, region extract.Rect) []shards.SubFigure {
	parts, hasParts := caption.SplitPanels(capText)
	var panels []panelBox
	sub := map[string]string{}
	if ps, texts := panelsFromSubcaptions(pm, p, region); len(ps) >= 2 {
		panels, sub = ps, texts
	}
	if letters := panelLetters(pm, region); len(panels) == 0 && len(letters) >= 2 {
		panels = panelsFromLetters(letters, region)
	}
	if len(panels) == 0 && hasParts {
		want := len(parts.LabelSet())
		var boxes []extract.Rect
		for _, bi := range p.blobs {
			b := pm.blobs[bi].box
			if b.Width() > 20 && b.Height() > 20 {
				boxes = append(boxes, b)
			}
		}
		if len(boxes) != want {
			if cols := groupAlong(boxes, true, want); len(cols) == want {
				boxes = cols
			} else if rows := groupAlong(boxes, false, want); len(rows) == want {
				boxes = rows
			}
		}
		if len(boxes) == want {
			boxes = readingOrder(boxes)
			labels := parts.LabelSet()
			if isPositional(labels) {
				labels = positionalOrder(labels, boxes)
			}
			if labels != nil {
				for i, b := range boxes {
					panels = append(panels, panelBox{label: labels[i], box: b})
				}
			}
		}
	}
	if len(panels) < 2 {
		return nil
	}
	text := map[string]string{}
	if hasParts {
		for i, part := range parts.Parts {
			for _, l := range part.Labels {
				text[strings.ToLower(l)] = parts.Caption(i)
			}
		}
		// Letters found in the figure must agree with the caption's labels.
		for _, pb := range panels {
			if _, ok := text[strings.ToLower(pb.label)]; !ok {
				text = map[string]string{}
				break
			}
		}
	}
	var out []shards.SubFigure
	for _, pb := range panels {
		c := text[strings.ToLower(pb.label)]
		if t := sub[pb.label]; t != "" {
			c = strings.TrimSpace(t + " " + c)
			if hasParts && parts.Shared != "" && text[strings.ToLower(pb.label)] == "" {
				c = parts.Shared + " " + t
			}
		}
		out = append(out, shards.SubFigure{Label: pb.label, BBox: toBox(pb.box), Caption: c})
	}
	return out
}

// panelsFromSubcaptions finds sub-figure captions ("(a) Time series of weekly counts.") inside
// the region, in letter order from a/A, each under its own blob: the panel is the blob with its
// sub-caption, and the sub-caption's text is returned by label.
func panelsFromSubcaptions(pm *pageModel, p proposal, region extract.Rect) ([]panelBox, map[string]string) {
	type sc struct {
		label string
		li    int
	}
	var subs []sc
	for li, l := range pm.lines {
		m := subcaptionRE.FindStringSubmatch(l.text)
		if m == nil || !contains(region, l.box, 2) {
			continue
		}
		subs = append(subs, sc{m[1], li})
	}
	if len(subs) < 2 {
		return nil, nil
	}
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].label < subs[j].label })
	base := subs[0].label[0]
	if base != 'a' && base != 'A' {
		return nil, nil
	}
	var out []panelBox
	texts := map[string]string{}
	used := map[int]bool{}
	for k, s := range subs {
		if s.label[0] != base+byte(k) {
			return nil, nil
		}
		l := pm.lines[s.li]
		best, bestOv := -1, 0.0
		for _, bi := range p.blobs {
			b := pm.blobs[bi].gbox
			if used[bi] || b.Y1 > l.box.Y0+2 {
				continue
			}
			if ov := hOverlap(b, l.box); ov > bestOv {
				best, bestOv = bi, ov
			}
		}
		if best < 0 {
			return nil, nil
		}
		used[best] = true
		box := pm.blobs[best].gbox.Union(l.box)
		out = append(out, panelBox{label: s.label, box: box})
		texts[s.label] = strings.TrimSpace(strings.TrimPrefix(l.text, "("+s.label+")"))
	}
	return out, texts
}

// groupAlong splits boxes into want groups along the x axis (columns) or the y axis (rows):
// boxes whose projections overlap stay together, and the remaining groups are cut at the
// want−1 widest gaps. It returns one union box per group, in order, or nil when there are
// fewer than want separable groups.
func groupAlong(boxes []extract.Rect, columns bool, want int) []extract.Rect {
	lo := func(r extract.Rect) float64 {
		if columns {
			return r.X0
		}
		return r.Y0
	}
	hi := func(r extract.Rect) float64 {
		if columns {
			return r.X1
		}
		return r.Y1
	}
	bs := append([]extract.Rect(nil), boxes...)
	sort.Slice(bs, func(i, j int) bool { return lo(bs[i]) < lo(bs[j]) })
	var groups []extract.Rect
	for _, b := range bs {
		if n := len(groups); n > 0 && lo(b) < hi(groups[n-1]) {
			groups[n-1] = groups[n-1].Union(b)
			continue
		}
		groups = append(groups, b)
	}
	if len(groups) < want {
		return nil
	}
	type gap struct {
		i int
		w float64
	}
	var gaps []gap
	for i := 1; i < len(groups); i++ {
		gaps = append(gaps, gap{i, lo(groups[i]) - hi(groups[i-1])})
	}
	sort.SliceStable(gaps, func(a, b int) bool { return gaps[a].w > gaps[b].w })
	cut := map[int]bool{}
	for _, g := range gaps[:want-1] {
		cut[g.i] = true
	}
	var out []extract.Rect
	for i, g := range groups {
		if i == 0 || cut[i] {
			out = append(out, g)
			continue
		}
		out[len(out)-1] = out[len(out)-1].Union(g)
	}
	return out
}

func isPositional(labels []string) bool {
	for _, l := range labels {
		switch l {
		case "Left", "Right", "Top", "Bottom", "Upper", "Lower", "Middle", "Centre", "Center":
		default:
			return false
		}
	}
	return true
}

// positionalOrder maps "Left"/"Right"/"Top"/"Bottom" labels onto boxes already in reading
// order; nil when the layout does not fit the words.
func positionalOrder(labels []string, boxes []extract.Rect) []string {
	if len(boxes) != 2 {
		return nil
	}
	sideBySide := vOverlap(boxes[0], boxes[1]) > 0
	out := make([]string, 2)
	for _, l := range labels {
		switch l {
		case "Left":
			if !sideBySide {
				return nil
			}
			out[0] = l
		case "Right":
			if !sideBySide {
				return nil
			}
			out[1] = l
		case "Top", "Upper":
			if sideBySide {
				return nil
			}
			out[0] = l
		case "Bottom", "Lower":
			if sideBySide {
				return nil
			}
			out[1] = l
		}
	}
	if out[0] == "" || out[1] == "" {
		return nil
	}
	return out
}

// panelLetters finds single-letter words inside the region that run A, B, C… (or a, b, c…),
// optionally in parentheses or followed by ")" or ".".
func panelLetters(pm *pageModel, region extract.Rect) []panelBox {
	byLetter := map[byte][]extract.Rect{}
	upper := 0
	for _, l := range pm.lines {
		if !contains(region, l.box, 1) {
			continue
		}
		for _, w := range l.words {
			t := strings.Trim(w.Text, "()[].")
			if len(t) != 1 || !(t[0] >= 'a' && t[0] <= 'z' || t[0] >= 'A' && t[0] <= 'Z') {
				continue
			}
			// A letter that is part of a longer line (a legend, an axis title) is not a label.
			if len(l.words) > 2 {
				continue
			}
			if t[0] >= 'A' && t[0] <= 'Z' {
				upper++
			}
			byLetter[t[0]] = append(byLetter[t[0]], w.BBox)
		}
	}
	base := byte('a')
	if upper > 0 {
		base = 'A'
	}
	var out []panelBox
	for c := base; c < base+26; c++ {
		bs := byLetter[c]
		if len(bs) != 1 {
			break // missing or ambiguous (an axis letter repeated in each panel)
		}
		out = append(out, panelBox{label: string(c), box: bs[0]})
	}
	if len(out) < 2 {
		return nil
	}
	// The letters must sit in reading order.
	boxes := make([]extract.Rect, len(out))
	for i := range out {
		boxes[i] = out[i].box
	}
	ordered := readingOrder(append([]extract.Rect(nil), boxes...))
	for i := range ordered {
		if ordered[i] != boxes[i] {
			return nil
		}
	}
	return out
}

// panelsFromLetters cuts the region into one cell per letter: rows by letter tops, each
// letter's cell from its left edge to the next letter in the row.
func panelsFromLetters(letters []panelBox, region extract.Rect) []panelBox {
	type row struct {
		y     float64
		items []panelBox
	}
	var rows []row
	for _, l := range letters {
		placed := false
		for i := range rows {
			if math.Abs(rows[i].y-l.box.Y0) < panelRowTol {
				rows[i].items = append(rows[i].items, l)
				placed = true
				break
			}
		}
		if !placed {
			rows = append(rows, row{y: l.box.Y0, items: []panelBox{l}})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].y < rows[j].y })
	var out []panelBox
	for ri, r := range rows {
		sort.Slice(r.items, func(i, j int) bool { return r.items[i].box.X0 < r.items[j].box.X0 })
		y0 := math.Min(r.y, r.items[0].box.Y0) - 2
		if ri == 0 {
			y0 = region.Y0
		}
		y1 := region.Y1
		if ri+1 < len(rows) {
			y1 = rows[ri+1].y - 2
		}
		for i, it := range r.items {
			x0 := it.box.X0 - 2
			if i == 0 {
				x0 = region.X0
			}
			x1 := region.X1
			if i+1 < len(r.items) {
				x1 = r.items[i+1].box.X0 - 2
			}
			out = append(out, panelBox{label: it.label, box: extract.Rect{X0: x0, Y0: math.Max(y0, region.Y0), X1: x1, Y1: y1}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].label < out[j].label })
	return out
}

// readingOrder sorts boxes by rows (tops within panelRowTol), then left to right.
func readingOrder(boxes []extract.Rect) []extract.Rect {
	sort.SliceStable(boxes, func(i, j int) bool {
		a, b := boxes[i], boxes[j]
		if math.Abs(a.Y0-b.Y0) >= panelRowTol && vOverlap(a, b) < 0.5*math.Min(a.Height(), b.Height()) {
			return a.Y0 < b.Y0
		}
		return a.X0 < b.X0
	})
	return boxes
}

func toBox(r extract.Rect) shards.Box {
	return shards.Box{round2(r.X0), round2(r.Y0), round2(r.X1), round2(r.Y1)}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
