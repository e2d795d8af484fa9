package layout

import (
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
)

// Thresholds of the text model, in points unless noted.
const (
	// mergeGapEm joins two line fragments on one baseline when they are closer than this many
	// font sizes (extract cuts lines at wide justified spaces).
	mergeGapEm = 3.0
	// splitGapEm: a caption opening inside a line, after a gap of at least this many font sizes,
	// starts a line of its own (two captions side by side on one baseline).
	splitGapEm = 0.5
	// scriptGapEm: a superscript or subscript sits within this many font sizes of its base.
	scriptGapEm = 0.12
	// scriptSizeShare: a script is smaller than its base by at least this share.
	scriptSizeShare = 0.15
	// scriptShiftEm: a script's bottom is raised or lowered by at least this many font sizes.
	scriptShiftEm = 0.1
	// gutterSplitShare: a line crossing the gutter is cut there only at a gap at least this share
	// of the gutter's width.
	gutterSplitShare = 0.5
)

// tline is one line of text as layout sees it: a run of words on one baseline without a
// column-sized gap.
type tline struct {
	text  string
	box   extract.Rect
	size  float64 // dominant size (by characters)
	font  string  // dominant font
	bold  bool    // first word bold
	mono  bool    // dominant font is a typewriter face
	words []extract.Word
	base  float64 // baseline estimate: the median bottom of the words
	// role is assigned by the classifier: body, caption, figure text.
	role role
	// furniture marks running heads, running feet and page numbers (see markFurniture).
	furniture bool
}

type role int

const (
	roleBody role = iota
	roleCaption
	roleFigureText
	roleOther // small text that is neither body nor part of a figure
)

// pageLines turns the extracted words into tlines, in reading order (top to bottom, then left
// to right), invisible text excluded: fragments on one baseline are joined, and a caption
// opening inside a line starts a new one.
func pageLines(p *extract.Page) []tline {
	var groups [][]extract.Word
	dup := stackedDuplicates(p.Words)
	if len(p.Lines) > 0 {
		for _, l := range p.Lines {
			var ws []extract.Word
			for _, i := range l.Words {
				if i >= 0 && i < len(p.Words) && !dup[i] && !p.Words[i].Invisible() && strings.TrimSpace(p.Words[i].Text) != "" {
					ws = append(ws, p.Words[i])
				}
			}
			if len(ws) > 0 {
				groups = append(groups, ws)
			}
		}
	} else {
		words := p.Words
		if len(dup) > 0 {
			words = nil
			for i, w := range p.Words {
				if !dup[i] {
					words = append(words, w)
				}
			}
		}
		groups = groupWords(words)
	}
	for _, g := range groups {
		sort.SliceStable(g, func(i, j int) bool { return g[i].BBox.X0 < g[j].BBox.X0 })
	}
	var out []tline
	for _, ws := range groups {
		start := 0
		for i := 1; i <= len(ws); i++ {
			if i < len(ws) {
				gap := ws[i].BBox.X0 - ws[i-1].BBox.X1
				if gap < splitGapEm*ws[i].Size || !opensCaption(ws[i:]) {
					continue
				}
			}
			out = append(out, makeLine(ws[start:i]))
			start = i
		}
	}
	sortLines(out)
	return dropShadowLines(out)
}

// dropShadowLines removes the second copy of a line printed twice a few points apart (a
// duplicated text layer in another font, offset from the visible one): two lines with the same
// text whose boxes overlap or nearly touch keep only the first in reading order.
func dropShadowLines(ls []tline) []tline {
	byText := map[string][]int{}
	for i, l := range ls {
		if len([]rune(l.text)) >= 3 {
			byText[l.text] = append(byText[l.text], i)
		}
	}
	drop := map[int]bool{}
	for _, idx := range byText {
		for a := 0; a < len(idx); a++ {
			if drop[idx[a]] {
				continue
			}
			for b := a + 1; b < len(idx); b++ {
				x, y := ls[idx[a]].box, ls[idx[b]].box
				h := math.Min(x.Height(), y.Height())
				if math.Abs(x.Y0-y.Y0) < h && hOverlap(x, y) > 0.8*math.Min(x.Width(), y.Width()) {
					drop[idx[b]] = true
				}
			}
		}
	}
	if len(drop) == 0 {
		return ls
	}
	out := ls[:0:0]
	for i, l := range ls {
		if !drop[i] {
			out = append(out, l)
		}
	}
	return out
}

func sortLines(out []tline) {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].box, out[j].box
		if math.Abs(a.Y0-b.Y0) > 2 {
			return a.Y0 < b.Y0
		}
		return a.X0 < b.X0
	})
}

// opensCaption reports whether the words open a caption with a separator ("Figure 6:").
func opensCaption(ws []extract.Word) bool {
	var b strings.Builder
	for i, w := range ws {
		if i == 4 {
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.Text)
	}
	m, ok := caption.MatchLine(b.String())
	return ok && m.Sep != ""
}

// finishLines joins line fragments on one baseline (not across a gutter) and cuts lines that
// cross the gutter of a two-column page.
func finishLines(ls []tline, cols []span) []tline {
	groups := make([][]extract.Word, len(ls))
	for i, l := range ls {
		groups[i] = l.words
	}
	groups = mergeFragments(groups, cols)
	out := make([]tline, 0, len(groups))
	for _, g := range groups {
		out = append(out, makeLine(g))
	}
	return splitAtGutter(out, cols)
}

// mergeFragments joins word groups that sit on one baseline with a gap under mergeGapEm, unless
// the gap holds a column gutter or the right group opens a caption.
func mergeFragments(groups [][]extract.Word, cols []span) [][]extract.Word {
	type frag struct {
		ws  []extract.Word
		box extract.Rect
	}
	fs := make([]*frag, 0, len(groups))
	for _, g := range groups {
		f := &frag{ws: g}
		for _, w := range g {
			f.box = unionLoose(f.box, w.BBox, false)
		}
		fs = append(fs, f)
	}
	sort.SliceStable(fs, func(i, j int) bool {
		if math.Abs(fs[i].box.Y1-fs[j].box.Y1) > 1 {
			return fs[i].box.Y1 < fs[j].box.Y1
		}
		return fs[i].box.X0 < fs[j].box.X0
	})
	var out [][]extract.Word
	for i := 0; i < len(fs); i++ {
		cur := fs[i]
		if cur == nil {
			continue
		}
		for j := i + 1; j < len(fs); j++ {
			f := fs[j]
			if f == nil {
				continue
			}
			if f.box.Y1-cur.box.Y1 > 1 {
				break
			}
			a, b := cur.ws[len(cur.ws)-1], f.ws[0]
			gap := f.box.X0 - cur.box.X1
			if math.Abs(a.Size-b.Size) > 0.6 || gap < -0.5 || gap > mergeGapEm*math.Max(a.Size, b.Size) {
				continue
			}
			if len(cols) == 2 && cur.box.X1 <= cols[1].x0+2 && f.box.X0 >= cols[0].x1-2 {
				continue
			}
			if opensCaption(f.ws) {
				continue
			}
			cur.ws = append(cur.ws, f.ws...)
			cur.box = unionLoose(cur.box, f.box, false)
			fs[j] = nil
		}
		out = append(out, cur.ws)
	}
	return out
}

// splitAtGutter cuts lines that cross the gutter of a two-column page at the word gap lying in
// it.
func splitAtGutter(ls []tline, cols []span) []tline {
	if len(cols) != 2 {
		return ls
	}
	g0, g1 := cols[0].x1-2, cols[1].x0+2
	var out []tline
	for _, l := range ls {
		if l.box.X0 >= g0 || l.box.X1 <= g1 {
			out = append(out, l)
			continue
		}
		cut := -1
		for i := 1; i < len(l.words); i++ {
			a, b := l.words[i-1].BBox, l.words[i].BBox
			// A line running across the gutter with ordinary word spacing (a full-width caption)
			// is not two lines: the gap must be wide like a gutter.
			minGap := math.Max(splitGapEm*l.words[i].Size, gutterSplitShare*(cols[1].x0-cols[0].x1))
			if a.X1 <= g1 && b.X0 >= g0 && b.X0-a.X1 >= minGap {
				cut = i
				break
			}
		}
		if cut < 0 {
			out = append(out, l)
			continue
		}
		out = append(out, makeLine(l.words[:cut]), makeLine(l.words[cut:]))
	}
	sortLines(out)
	return out
}

// groupWords groups words into lines by vertical overlap when extract gave no lines.
func groupWords(words []extract.Word) [][]extract.Word {
	var ws []extract.Word
	for _, w := range words {
		if !w.Invisible() && strings.TrimSpace(w.Text) != "" {
			ws = append(ws, w)
		}
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].BBox.Y1 < ws[j].BBox.Y1 })
	var groups [][]extract.Word
	for _, w := range ws {
		placed := false
		for gi := len(groups) - 1; gi >= 0 && gi >= len(groups)-3; gi-- {
			g := groups[gi]
			ref := g[0].BBox
			ov := math.Min(ref.Y1, w.BBox.Y1) - math.Max(ref.Y0, w.BBox.Y0)
			if ov > 0.6*math.Min(ref.Height(), w.BBox.Height()) {
				groups[gi] = append(g, w)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []extract.Word{w})
		}
	}
	return groups
}

func makeLine(ws []extract.Word) tline {
	l := tline{words: append([]extract.Word(nil), ws...)}
	var b strings.Builder
	sizeChars := map[float64]int{}
	fontChars := map[string]int{}
	for i, w := range ws {
		if i > 0 && !attached(ws[i-1], w) {
			b.WriteByte(' ')
		}
		b.WriteString(w.Text)
		l.box = l.box.Union(w.BBox)
		n := len([]rune(w.Text))
		sizeChars[math.Round(w.Size*2)/2] += n
		fontChars[w.Font] += n
	}
	l.text = b.String()
	bottoms := make([]float64, len(ws))
	for i, w := range ws {
		bottoms[i] = w.BBox.Y1
	}
	sort.Float64s(bottoms)
	l.base = bottoms[len(bottoms)/2]
	l.size = argmaxF(sizeChars)
	l.font = argmaxS(fontChars)
	l.bold = len(ws) > 0 && ws[0].Bold
	l.mono = isMono(l.font) || (anonymousFont(l.font) && evenPitch(ws)) || consolePrompt(ws)
	return l
}

// attached reports whether word b is set against word a as a superscript or subscript of it
// (or a runs raised or lowered into b): no gap between them and a size or baseline change, as
// in "¹⁸F", "Fe²⁺", "H₂O". Such words are joined without a space ("18F", "Fe2+", "H2O").
func attached(a, b extract.Word) bool {
	gap := b.BBox.X0 - a.BBox.X1
	small := math.Min(a.Size, b.Size)
	if small <= 0 || gap > scriptGapEm*small || gap < -scriptGapEm*small {
		return false
	}
	sizeChange := math.Abs(a.Size-b.Size) > scriptSizeShare*math.Max(a.Size, b.Size)
	shift := math.Abs(a.BBox.Y1-b.BBox.Y1) > scriptShiftEm*small
	return sizeChange && shift
}

// consolePrompt reports a line of R console input ("> x <- 1", "R> plot(x)", "+ lwd = 2"):
// program text, set like code whatever its font.
func consolePrompt(ws []extract.Word) bool {
	if len(ws) < 2 || ws[0].Size < 6 {
		return false // tiny "+ x" is a plot label
	}
	switch ws[0].Text {
	case ">", "R>", "+":
		return true
	}
	return false
}

// anonymousFont reports a font whose name says nothing about its face (Type 3 fonts).
func anonymousFont(font string) bool {
	f := strings.ToLower(font)
	return f == "" || strings.HasPrefix(f, "type3") || strings.HasPrefix(f, "t3")
}

// evenPitch reports a line set in a fixed-pitch face whatever the font is called (Type 3 fonts
// have no useful name): at least four words of three or more characters, letters among them,
// whose widths per character agree within 4 %.
func evenPitch(ws []extract.Word) bool {
	var lo, hi float64
	n := 0
	for _, w := range ws {
		k := len([]rune(w.Text))
		if k < 3 || !strings.ContainsFunc(w.Text, unicode.IsLetter) {
			continue // digits are tabular in proportional faces too (axis labels)
		}
		pitch := w.BBox.Width() / float64(k)
		if n == 0 || pitch < lo {
			lo = pitch
		}
		if n == 0 || pitch > hi {
			hi = pitch
		}
		n++
	}
	return n >= 4 && lo > 0 && hi <= lo*1.04
}

func isMono(font string) bool {
	f := strings.ToLower(font)
	for _, k := range []string{"mono", "monaco", "menlo", "courier", "cmtt", "typewriter", "sfmt", "consol", "lmtt", "inconsolata", "beramono"} {
		if strings.Contains(f, k) {
			return true
		}
	}
	return false
}

func argmaxF(m map[float64]int) float64 {
	best, bn := 0.0, -1
	for k, n := range m {
		if n > bn || (n == bn && k < best) {
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

// docStats are the document-wide text statistics the rules compare against.
type docStats struct {
	bodySize    float64 // most common font size (by characters)
	bodyFont    string  // most common font (by characters)
	lineSpacing float64 // median baseline-to-baseline distance of consecutive body lines
	// Text block: the left and right edges most body lines share, per column.
	columns []span
}

type span struct{ x0, x1 float64 }

func (s span) width() float64 { return s.x1 - s.x0 }

// computeStats gathers docStats over the lines of all pages.
func computeStats(pages [][]tline, pageWidth float64) docStats {
	st := docStats{bodySize: 10, lineSpacing: 12}
	sizeChars := map[float64]int{}
	fontChars := map[string]int{}
	for _, mono := range []bool{false, true} {
		for _, ls := range pages {
			for _, l := range ls {
				if l.mono != mono {
					continue
				}
				n := len([]rune(l.text))
				sizeChars[l.size] += n
				fontChars[l.font] += n
			}
		}
		if len(sizeChars) > 0 {
			break // typewriter text counts only when there is nothing else
		}
	}
	if len(sizeChars) == 0 {
		// No text at all (blank, image-only or vector-only pages): one column, the page.
		st.columns = []span{{0, pageWidth}}
		return st
	}
	st.bodySize = argmaxF(sizeChars)
	st.bodyFont = argmaxS(fontChars)
	var gaps []float64
	lefts := map[float64]int{}
	rights := map[float64]int{}
	for _, ls := range pages {
		for i, l := range ls {
			if math.Abs(l.size-st.bodySize) > 0.6 || l.mono {
				continue
			}
			lefts[math.Round(l.box.X0)] += len(l.words)
			rights[math.Round(l.box.X1)] += len(l.words)
			for j := i + 1; j < len(ls) && j < i+4; j++ {
				m := ls[j]
				if math.Abs(m.size-st.bodySize) > 0.6 || !overlapX(l.box, m.box) {
					continue
				}
				if d := m.box.Y1 - l.box.Y1; d > 0.5*st.bodySize && d < 3*st.bodySize {
					gaps = append(gaps, d)
					break
				}
			}
		}
	}
	if len(gaps) > 0 {
		sort.Float64s(gaps)
		st.lineSpacing = gaps[len(gaps)/2]
	} else {
		st.lineSpacing = 1.2 * st.bodySize
	}
	st.columns = findColumns(lefts, rights, pageWidth)
	return st
}

// findColumns finds one or two text columns from the histograms of body-line edges.
func findColumns(lefts, rights map[float64]int, pageWidth float64) []span {
	top := func(m map[float64]int, k int) []float64 {
		type kv struct {
			x float64
			n int
		}
		var a []kv
		for x, n := range m {
			a = append(a, kv{x, n})
		}
		sort.Slice(a, func(i, j int) bool {
			if a[i].n != a[j].n {
				return a[i].n > a[j].n
			}
			return a[i].x < a[j].x
		})
		var out []float64
		for _, e := range a {
			dup := false
			for _, o := range out {
				if math.Abs(o-e.x) < 6 {
					dup = true
				}
			}
			if !dup {
				out = append(out, e.x)
			}
			if len(out) == k {
				break
			}
		}
		return out
	}
	ls := top(lefts, 2)
	rs := top(rights, 2)
	if len(ls) == 0 || len(rs) == 0 {
		return []span{{0, pageWidth}}
	}
	total := 0
	for _, n := range lefts {
		total += n
	}
	if len(ls) == 2 && len(rs) == 2 {
		l0, l1 := math.Min(ls[0], ls[1]), math.Max(ls[0], ls[1])
		r0, r1 := math.Min(rs[0], rs[1]), math.Max(rs[0], rs[1])
		n0, n1 := near(lefts, l0), near(lefts, l1)
		if l1-l0 > 0.3*pageWidth && r0 < l1 && r0 > l0 && float64(min(n0, n1)) > 0.6*float64(max(n0, n1)) &&
			float64(n0+n1) > 0.5*float64(total) {
			return []span{{l0, r0}, {l1, r1}}
		}
	}
	x1 := 0.0
	for x, n := range rights {
		if x > x1 && n >= 3 {
			x1 = x
		}
	}
	if x1 <= ls[0] {
		x1 = rs[0]
	}
	return []span{{ls[0], x1}}
}

func near(m map[float64]int, x float64) int {
	n := 0
	for k, v := range m {
		if math.Abs(k-x) < 3 {
			n += v
		}
	}
	return n
}

func overlapX(a, b extract.Rect) bool { return math.Min(a.X1, b.X1)-math.Max(a.X0, b.X0) > 0 }
func overlapY(a, b extract.Rect) bool { return math.Min(a.Y1, b.Y1)-math.Max(a.Y0, b.Y0) > 0 }

// hOverlap is the horizontal overlap length of a and b (negative when apart).
func hOverlap(a, b extract.Rect) float64 { return math.Min(a.X1, b.X1) - math.Max(a.X0, b.X0) }

// vOverlap is the vertical overlap length of a and b (negative when apart).
func vOverlap(a, b extract.Rect) float64 { return math.Min(a.Y1, b.Y1) - math.Max(a.Y0, b.Y0) }

// gapBetween is the distance between two boxes (0 when they touch or overlap).
func gapBetween(a, b extract.Rect) float64 {
	dx := math.Max(0, math.Max(a.X0-b.X1, b.X0-a.X1))
	dy := math.Max(0, math.Max(a.Y0-b.Y1, b.Y0-a.Y1))
	return math.Hypot(dx, dy)
}

func contains(outer, inner extract.Rect, tol float64) bool {
	return inner.X0 >= outer.X0-tol && inner.Y0 >= outer.Y0-tol && inner.X1 <= outer.X1+tol && inner.Y1 <= outer.Y1+tol
}
