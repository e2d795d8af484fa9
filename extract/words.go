package extract

import (
	"math"
	"sort"
	"strings"
)

// Word segmentation follows the usual rules of PDF text extractors, so that boxes agree with
// them: a word ends at a space character, at a gap wider than wordGap × font size, when the
// text moves backwards by more than backGap × size, when the baseline moves, or when the
// font size changes.
const (
	wordGap     = 0.1
	backGap     = 0.2
	dupPriDelta = 0.1
	dupSecDelta = 0.2
	baseDelta   = 0.5
)

// along returns the coordinate along the baseline and across it, for direction rot.
func along(rot int, x, y float64) (float64, float64) {
	switch rot {
	case 1:
		return y, -x
	case 2:
		return -x, -y
	case 3:
		return -y, x
	}
	return x, y
}

// wordInfo is what line building needs to know about a word beyond Word itself.
type wordInfo struct {
	first, last *font // fonts of the first and last glyph
	contig      bool  // follows the previous word in the content stream with no space between
}

type wordAcc struct {
	w       Word
	rot     int
	base    float64 // across-baseline coordinate
	end     float64 // along-baseline end of the last glyph
	lastO   float64 // along-baseline origin of the last glyph
	lastBox Rect
	n       int
	text    strings.Builder
	font    *font
}

func buildWords(p *Page, glyphs []rawGlyph) []wordInfo {
	pageR := Rect{0, 0, p.Width, p.Height}
	var info []wordInfo
	var cur *wordAcc
	contig := false // the next word directly follows the previous one
	var last *font
	flush := func() {
		if cur != nil && cur.n > 0 {
			t := cur.text.String()
			if strings.TrimSpace(t) != "" {
				cur.w.Text = t
				p.Words = append(p.Words, cur.w)
				info = append(info, wordInfo{first: cur.font, last: last, contig: contig})
				contig = true
			}
		}
		cur = nil
	}
	addGlyph := func(g *rawGlyph) {
		if strings.TrimSpace(g.text) == "" {
			if g.text != "" || g.space {
				flush()
				contig = false
			}
			return
		}
		o, b := along(g.rot, g.ox, g.oy)
		e, _ := along(g.rot, g.ex, g.ey)
		if cur != nil {
			sp := o - cur.end
			delta := o - cur.lastO
			size := cur.w.Size
			overlap := math.Abs(delta) < dupPriDelta*size && math.Abs(b-cur.base) < dupSecDelta*size
			if g.rot != cur.rot || overlap || sp < -backGap*size || sp > wordGap*size ||
				math.Abs(b-cur.base) > baseDelta || math.Abs(g.size-size) > 1e-9*size {
				flush()
			}
		}
		if cur == nil {
			cur = &wordAcc{rot: g.rot, base: b, font: g.font}
			cur.w = Word{BBox: g.box, Font: g.font.base, Size: g.size, Bold: g.font.bold,
				Italic: g.font.italic, RenderMode: g.render, rot: g.rot}
		} else {
			cur.w.BBox = cur.w.BBox.Union(g.box)
			if g.box.Empty() {
				cur.w.BBox = unionPoint(cur.w.BBox, g.box)
			}
		}
		last = g.font
		cur.lastBox = g.box
		cur.text.WriteString(strings.TrimSpace(g.text))
		cur.n++
		cur.end = max(e, o)
		if cur.n == 1 {
			cur.end = max(e, o)
		}
		cur.lastO = o
	}
	var pending *rawGlyph // a spacing accent waiting for the letter it is drawn over
	for i := range glyphs {
		g := &glyphs[i]
		if g.box.Intersect(pageR).Empty() && !(g.box.Width() == 0 || g.box.Height() == 0) {
			continue // outside the visible page
		}
		if pending != nil {
			a := pending
			pending = nil
			cx := (a.box.X0 + a.box.X1) / 2
			if c, _ := combiningFor(a.text); strings.TrimSpace(g.text) != "" && g.box.X0 <= cx && cx <= g.box.X1 {
				// An accent drawn before the letter under it: the letter takes it as a combining mark.
				merged := *g
				merged.text = strings.TrimSpace(g.text) + string(c)
				g = &merged
			} else {
				addGlyph(a)
			}
		}
		if _, ok := combiningFor(g.text); ok {
			if cur != nil && cur.n > 0 {
				cx := (g.box.X0 + g.box.X1) / 2
				if cur.lastBox.X0 <= cx && cx <= cur.lastBox.X1 {
					// A spacing accent drawn over the previous letter.
					c, _ := combiningFor(g.text)
					cur.text.WriteRune(c)
					continue
				}
			}
			pending = g
			continue
		}
		addGlyph(g)
	}
	if pending != nil {
		addGlyph(pending)
	}
	flush()
	return info
}

// frame maps a page-space box into the frame of a baseline direction: x along the baseline,
// y across it (downwards for upright text).
func frame(rot int, r Rect) Rect {
	switch rot {
	case 1:
		return Rect{r.Y0, -r.X1, r.Y1, -r.X0}
	case 2:
		return Rect{-r.X1, -r.Y1, -r.X0, -r.Y0}
	case 3:
		return Rect{-r.Y1, r.X0, -r.Y0, r.X1}
	}
	return r
}

// unframe is the inverse of frame.
func unframe(rot int, r Rect) Rect {
	switch rot {
	case 1:
		return Rect{-r.Y1, r.X0, -r.Y0, r.X1}
	case 2:
		return Rect{-r.X1, -r.Y1, -r.X0, -r.Y0}
	case 3:
		return Rect{r.Y0, -r.X1, r.Y1, -r.X0}
	}
	return r
}

// unionPoint widens r to include s even when s has no area (zero-height glyph boxes).
func unionPoint(r, s Rect) Rect {
	return Rect{min(r.X0, s.X0), min(r.Y0, s.Y0), max(r.X1, s.X1), max(r.Y1, s.Y1)}
}

// buildLines groups words into lines (content order first, then merging fragments of the same
// line) and orders each line's words along the baseline.
func buildLines(p *Page, info []wordInfo) {
	type lineAcc struct {
		words []int
		box   Rect
		rot   int
	}
	var lines []*lineAcc
	var cur *lineAcc
	// Boxes are compared in each word's own frame: along its baseline and across it.
	for i, w := range p.Words {
		r := w.rot
		fb := frame(r, w.BBox)
		if cur != nil && r == cur.rot && sameLine(cur.box, fb, w.Size) {
			cur.words = append(cur.words, i)
			cur.box = unionPoint(cur.box, fb)
			continue
		}
		cur = &lineAcc{words: []int{i}, box: fb, rot: r}
		lines = append(lines, cur)
	}
	// Merge fragments of one line written out of order (superscripts, patched words).
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(lines) && !merged; i++ {
			for j := i + 1; j < len(lines); j++ {
				a, b := lines[i], lines[j]
				if a.rot != b.rot {
					continue
				}
				if vOverlap(a.box, b.box) > 0.6 && hGap(a.box, b.box) < 1.0*lineSize(p, a.words) {
					a.words = append(a.words, b.words...)
					a.box = unionPoint(a.box, b.box)
					lines = append(lines[:j], lines[j+1:]...)
					merged = true
					break
				}
			}
		}
	}
	for _, l := range lines {
		sort.SliceStable(l.words, func(x, y int) bool {
			return frame(l.rot, p.Words[l.words[x]].BBox).X0 < frame(l.rot, p.Words[l.words[y]].BBox).X0
		})
		l.box = unframe(l.rot, l.box)
	}
	// Join words of a line that were split by a gap much narrower than the line's spacing,
	// when they are adjacent in the content stream and in the same font.
	groups := make([][]int, len(lines))
	for li, l := range lines {
		groups[li] = l.words
	}
	rots := make([]int, len(lines))
	for li, l := range lines {
		rots[li] = l.rot
	}
	merged := mergeTightWords(p, info, groups, rots)
	for li := range lines {
		lines[li].words = merged[li]
	}
	p.Lines = make([]Line, 0, len(lines))
	for li, l := range lines {
		var b strings.Builder
		sizes := map[float64]int{}
		fonts := map[string]int{}
		bold := true
		for k, wi := range l.words {
			w := &p.Words[wi]
			w.Line = li
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w.Text)
			n := len([]rune(w.Text))
			sizes[math.Round(w.Size*10)/10] += n
			fonts[w.Font] += n
			bold = bold && w.Bold
		}
		p.Lines = append(p.Lines, Line{Text: b.String(), BBox: l.box, Words: l.words,
			Size: argmaxF(sizes), Font: argmaxS(fonts), Bold: bold})
	}
}

func lineSize(p *Page, words []int) float64 {
	s := 0.0
	for _, w := range words {
		s = max(s, p.Words[w].Size)
	}
	return max(s, 1)
}

// sameLine reports whether a word continues a line in content order: it overlaps the line
// vertically and starts near its end.
func sameLine(line, w Rect, size float64) bool {
	if vOverlap(line, w) < 0.5 {
		return false
	}
	gap := w.X0 - line.X1
	return gap < 1.5*max(size, 1) && gap > -0.5*max(size, 1) || (w.X0 >= line.X0 && w.X1 <= line.X1)
}

// vOverlap is the vertical overlap of a and b divided by the smaller height.
func vOverlap(a, b Rect) float64 {
	o := min(a.Y1, b.Y1) - max(a.Y0, b.Y0)
	h := min(a.Height(), b.Height())
	if h <= 0 {
		if o >= 0 {
			return 1
		}
		return 0
	}
	return o / h
}

// hGap is the horizontal distance between a and b (negative when they overlap).
func hGap(a, b Rect) float64 {
	return max(a.X0, b.X0) - min(a.X1, b.X1)
}

func argmaxF(m map[float64]int) float64 {
	best, bn := 0.0, -1
	for k, n := range m {
		if n > bn || (n == bn && k > best) {
			best, bn = k, n
		}
	}
	return best
}

func argmaxS(m map[string]int) string {
	best, bn := "", -1
	for k, n := range m {
		if n > bn || (n == bn && k < best) {
			best, bn = k, n
		}
	}
	return best
}

// Constants of the tight-word merge: the largest gap joined is maxCharSpacing × size, or,
// in lines made only of one-character words (letter-spaced text, formulas), wideMul × the
// narrowest gap up to wideMax × size.
const (
	maxCharSpacing = 0.03
	wideMul        = 1.3
	wideMax        = 0.4
	maxSizeDelta   = 0.05
)

// mergeTightWords merges words within each group (a line, words ordered along it) and
// renumbers p.Words; it returns the groups with the new indexes.
func mergeTightWords(p *Page, info []wordInfo, groups [][]int, rots []int) [][]int {
	if len(info) != len(p.Words) {
		return groups
	}
	into := make([]int, len(p.Words)) // word → the word it was merged into (itself if none)
	for i := range into {
		into[i] = i
	}
	for gi, g := range groups {
		if len(g) < 2 {
			continue
		}
		fb := func(i int) Rect { return frame(rots[gi], p.Words[i].BBox) }
		size := p.Words[g[0]].Size
		minSpace := 0.0
		if len([]rune(p.Words[g[0]].Text)) == 1 && len([]rune(p.Words[g[1]].Text)) == 1 {
			minSpace = math.Inf(1)
			for k := 1; k < len(g) && minSpace > 0; k++ {
				if len([]rune(p.Words[g[k]].Text)) > 1 {
					minSpace = 0
					break
				}
				minSpace = min(minSpace, fb(g[k]).X0-fb(g[k-1]).X1)
			}
		}
		space := maxCharSpacing * size
		if minSpace > 0 && !math.IsInf(minSpace, 1) {
			space = min(wideMul*minSpace, wideMax*size)
		}
		head := g[0]
		for k := 1; k < len(g); k++ {
			w0, w1 := &p.Words[head], &p.Words[g[k]]
			f0, f1 := fb(head), fb(g[k])
			gap := f1.X0 - f0.X1
			lastOf0 := info[g[k-1]].last
			if gap < space && gap > -backGap*size && math.Abs(f0.Y1-f1.Y1) < baseDelta && g[k] == g[k-1]+1 && info[g[k]].contig && lastOf0 == info[g[k]].first &&
				math.Abs(w0.Size-w1.Size) < maxSizeDelta*size && into[g[k-1]] == head {
				w0.Text += w1.Text
				w0.BBox = unionPoint(w0.BBox, w1.BBox)
				into[g[k]] = head
				continue
			}
			head = g[k]
		}
	}
	// Renumber.
	newIdx := make([]int, len(p.Words))
	words := p.Words[:0:0]
	for i, w := range p.Words {
		if into[i] != i {
			newIdx[i] = -1
			continue
		}
		newIdx[i] = len(words)
		words = append(words, w)
	}
	out := make([][]int, len(groups))
	for gi, g := range groups {
		for _, i := range g {
			if newIdx[i] >= 0 {
				out[gi] = append(out[gi], newIdx[i])
			}
		}
	}
	p.Words = words
	return out
}

// combiningFor maps a spacing diacritic (as fonts draw accents over letters in formulas) to
// the combining mark Unicode uses after the base letter.
func combiningFor(text string) (rune, bool) {
	r := []rune(text)
	if len(r) != 1 {
		return 0, false
	}
	switch r[0] {
	case 0x02C6:
		return 0x0302, true
	case 0x02DC:
		return 0x0303, true
	case 0x00AF, 0x02C9:
		return 0x0304, true
	case 0x02D8:
		return 0x0306, true
	case 0x02D9:
		return 0x0307, true
	case 0x00A8:
		return 0x0308, true
	case 0x02DA:
		return 0x030A, true
	case 0x00B4:
		return 0x0301, true
	case 0x02C7:
		return 0x030C, true
	case 0x20D7:
		return 0x20D7, true
	}
	if r[0] >= 0x0300 && r[0] <= 0x036F {
		return r[0], true
	}
	return 0, false
}
