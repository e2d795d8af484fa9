package layout

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
)

// Caption thresholds.
const (
	// maxCaptionLineHeight: a caption's first line is never taller than this (pdffigures2: 60 pt).
	maxCaptionLineHeight = 60.0
	// captionAlignTol is how far (pt) a caption continuation line's left edge may sit from the
	// block's left edge, and two centres may differ for centred captions.
	captionAlignTol = 2.5
	// captionSpacingSlack multiplies the line spacing allowed between two caption lines.
	captionSpacingSlack = 1.3
	// captionSizeTol is the largest font-size difference (pt) inside one caption.
	captionSizeTol = 1.1
)

// candidate is a line that opens a caption.
type candidate struct {
	page     int // 0-based page index
	line     int // index into the page's lines
	m        caption.Match
	parStart bool
	aligned  bool // left edge aligned with the next line's
	fontBody bool // the label word is set in the body font
}

// findCandidates lists every line of the document that opens a caption, then removes body-text
// mentions with document-wide formatting filters (the pdffigures2 order), and rejects
// separator-less openings followed by a lower-case word ("Figure 3 shows …") unless the label
// is set apart by a bold face.
//
// A bare label ("Table 1" alone, no separator) in a font size other than the body's that lies
// on a painted graphic is text inside a figure, not a caption.
func findCandidates(pages [][]tline, painted [][]extract.Rect, st docStats) []candidate {
	var all []candidate
	for pi, ls := range pages {
		for li, l := range ls {
			if l.box.Height() > maxCaptionLineHeight {
				continue
			}
			m, ok := caption.MatchLine(l.text)
			if !ok {
				continue
			}
			if m.HeaderOnly && m.Sep == "" && math.Abs(l.size-st.bodySize) > 1 && pi < len(painted) && onGraphic(l.box, painted[pi]) {
				continue
			}
			if m.Sep == "" && !l.bold && startsLower(m.Rest) {
				continue
			}
			if l.mono && m.Sep == "" {
				continue // code or program output
			}
			c := candidate{page: pi, line: li, m: m, fontBody: l.words[0].Font == st.bodyFont}
			prev, next := neighbours(ls, li)
			c.parStart = prev < 0 || ls[li].box.Y0-ls[prev].box.Y1 > 0.5*st.lineSpacing ||
				ls[li].box.X0-ls[prev].box.X0 > 3
			if next >= 0 {
				c.aligned = math.Abs(ls[next].box.X0-l.box.X0) < 1
			}
			all = append(all, c)
		}
	}
	return disambiguate(all)
}

// onGraphic reports whether box lies inside a painted box larger than itself.
func onGraphic(box extract.Rect, painted []extract.Rect) bool {
	for _, g := range painted {
		if g.Width() > box.Width() && g.Height() > box.Height() && contains(g, box, 1) {
			return true
		}
	}
	return false
}

func startsLower(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLower(r)
}

// neighbours returns the index of the line just above and just below li in the same column
// (horizontally overlapping), or −1.
func neighbours(ls []tline, li int) (prev, next int) {
	prev, next = -1, -1
	b := ls[li].box
	best := math.Inf(1)
	for j := range ls {
		if j == li || !overlapX(ls[j].box, b) {
			continue
		}
		if d := b.Y0 - ls[j].box.Y1; ls[j].box.Y1 <= b.Y0+1 && d < best {
			best, prev = d, j
		}
	}
	best = math.Inf(1)
	for j := range ls {
		if j == li || !overlapX(ls[j].box, b) {
			continue
		}
		if d := ls[j].box.Y0 - b.Y1; ls[j].box.Y0 >= b.Y1-1 && d < best {
			best, next = d, j
		}
	}
	return prev, next
}

type groupKey struct {
	kind  caption.Kind
	label string
}

// disambiguate applies, in order, the first filter that removes a candidate from some group
// holding more than one candidate for the same label without emptying any group.
func disambiguate(all []candidate) []candidate {
	filters := []func(c candidate) bool{
		func(c candidate) bool { return c.m.Sep == ":" },
		func(c candidate) bool { return c.m.Kind != caption.Figure || (c.m.AllCaps && c.m.Abbreviated) },
		func(c candidate) bool { return c.m.Kind != caption.Table || c.m.AllCaps },
		func(c candidate) bool { return !c.fontBody },
		func(c candidate) bool { return c.m.Abbreviated },
		func(c candidate) bool { return !c.m.HeaderOnly },
		func(c candidate) bool { return c.m.Sep == "." },
		func(c candidate) bool { return c.aligned },
		func(c candidate) bool { return c.m.HeaderOnly },
		func(c candidate) bool { return c.parStart },
	}
	for _, f := range filters {
		groups := map[groupKey][]int{}
		for i, c := range all {
			k := groupKey{c.m.Kind, c.m.Label}
			groups[k] = append(groups[k], i)
		}
		removes, empties := false, false
		drop := map[int]bool{}
		for _, idx := range groups {
			if len(idx) < 2 {
				continue
			}
			kept := 0
			for _, i := range idx {
				if f(all[i]) {
					kept++
				} else {
					drop[i] = true
				}
			}
			if kept == 0 {
				empties = true
			} else if kept < len(idx) {
				removes = true
			}
		}
		if removes && !empties {
			var next []candidate
			for i, c := range all {
				if !drop[i] {
					next = append(next, c)
				}
			}
			all = next
		}
	}
	return all
}

// captionBlock is a grown caption: its lines, box and text.
type captionBlock struct {
	cand  candidate
	lines []int
	box   extract.Rect
	text  string // the whole caption, label included, de-hyphenated
}

// growCaption grows a caption from its opening line over the lines that continue it: close
// below, the same size, left-aligned (or centred on the same axis), not wider than the block,
// not another caption opening, not over a graphic.
func growCaption(ls []tline, c candidate, st docStats, starts map[int]bool, graphics []extract.Rect) captionBlock {
	first := ls[c.line]
	blk := captionBlock{cand: c, lines: []int{c.line}, box: first.box}
	last := first
	texts := []string{first.text}
	spacing := math.Max(st.lineSpacing, first.size*1.15)
	used := map[int]bool{c.line: true}
	hang := restStart(first, c.m)
	if c.m.HeaderOnly {
		// A label set in a column of its own ("FIGURE 3.2" in the margin, the caption beside it
		// on the same baseline, continued with a hanging indent).
		if r := besideLabel(ls, c.line, starts); r >= 0 {
			used[r] = true
			blk.lines = append(blk.lines, r)
			blk.box = blk.box.Union(ls[r].box)
			texts[0] += " " + ls[r].text
			hang = ls[r].box.X0
			last = ls[r]
		}
	}
	for {
		next := -1
		best := math.Inf(1)
		for j := range ls {
			if used[j] || ls[j].box.Y0 < last.box.Y0+0.5*last.box.Height() {
				continue
			}
			if hOverlap(ls[j].box, blk.box) <= 0 {
				continue
			}
			if d := ls[j].box.Y0 - last.box.Y0; d < best {
				best, next = d, j
			}
		}
		if next < 0 || starts[next] && !midSentence(last.text) {
			break
		}
		l := ls[next]
		d := l.base - last.base
		if d > spacing*captionSpacingSlack || d < 0.4*l.size {
			break
		}
		if math.Abs(l.size-first.size) > captionSizeTol {
			break
		}
		leftOK := math.Abs(l.box.X0-blk.box.X0) < captionAlignTol ||
			hang > 0 && math.Abs(l.box.X0-hang) < captionAlignTol // hanging indent under the text after the label
		cx, _ := l.box.Center()
		bx, _ := blk.box.Center()
		centred := math.Abs(cx-bx) < captionAlignTol && len(blk.lines) == 1
		if !(leftOK || centred) {
			break
		}
		// A line wider than the block continues it only when set tight below it (ragged
		// captions); body text after a caption sits further away.
		if l.box.X1 > blk.box.X1+captionAlignTol && (!leftOK || d > 1.15*spacing) {
			break
		}
		if overGraphic(l.box, graphics, first.box) || !sameFamily(l, blk, ls) {
			break
		}
		used[next] = true
		blk.lines = append(blk.lines, next)
		blk.box = blk.box.Union(l.box)
		texts = append(texts, l.text)
		last = l
	}
	blk.text = joinLines(texts)
	return blk
}

// sameFamily reports whether a line's dominant font belongs to a font family (the first two
// letters of the name: CMR/CMTI, SFRM/SFTI, LMRoman/LMMono) used in the block so far; a line in
// another family (plot text under a caption) does not continue it.
func sameFamily(l tline, blk captionBlock, ls []tline) bool {
	fam := fontFamily
	want := fam(l.font)
	for _, i := range blk.lines {
		for _, w := range ls[i].words {
			if fam(w.Font) == want {
				return true
			}
		}
	}
	return false
}

// labelColumnEm bounds the gap (in font sizes) between a label set in a column of its own and
// the caption text beside it.
const labelColumnEm = 15.0

// besideLabel returns the line that continues a bare label on its baseline, to its right, in a
// size close to the label's and not itself a caption opening, or −1.
func besideLabel(ls []tline, li int, starts map[int]bool) int {
	lab := ls[li]
	best, bestGap := -1, math.Inf(1)
	for j, l := range ls {
		if j == li || starts[j] || math.Abs(l.base-lab.base) > 0.25*lab.size || math.Abs(l.size-lab.size) > captionSizeTol+1 {
			continue
		}
		gap := l.box.X0 - lab.box.X1
		if gap > 0 && gap < labelColumnEm*lab.size && gap < bestGap {
			best, bestGap = j, gap
		}
	}
	return best
}

// midSentence reports a line that ends inside a sentence (a word or a comma, no closing
// punctuation): a caption opening on the next line ("… correspond to PL numbers in" / "Table 1.
// Squares …") is then a cross-reference that wrapped, not a caption of its own.
func midSentence(line string) bool {
	r, _ := utf8.DecodeLastRuneInString(strings.TrimSpace(line))
	return unicode.IsLetter(r) || r == ','
}

// restStart is the left edge of the caption text after the label on the opening line ("Fig. 2.
// Histopathological …" → the x of "Histopathological"), or 0 when nothing follows the label.
// Captions set with a hanging indent continue at that edge.
func restStart(l tline, m caption.Match) float64 {
	if m.Rest == "" {
		return 0
	}
	for k := 1; k < len(l.words) && k <= 8; k++ {
		var b strings.Builder
		for i, w := range l.words[k:] {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w.Text)
		}
		if caption.Normalize(b.String()) == m.Rest {
			return l.words[k].BBox.X0
		}
	}
	return 0
}

// fontFamily is a coarse family key of a font name: the first two letters after any subset tag
// ("ABCDEF+CMR10" → "cm"). Fonts named by some typesetting systems as a random six-letter tag
// glued to a fixed marker ("DdljpgAdvTTb5929f4c", "RdksxjAdvTT99c4c969") carry no family in
// the name; they all count as one family.
func fontFamily(f string) string {
	if i := strings.IndexByte(f, '+'); i == 6 {
		f = f[i+1:]
	}
	if strings.Contains(f, "AdvTT") || strings.Contains(f, "AdvP") {
		return "adv"
	}
	if len(f) < 2 {
		return strings.ToLower(f)
	}
	return strings.ToLower(f[:2])
}

// overGraphic reports whether more than 20 % of box lies over graphics that do not already
// touch the caption's first line.
func overGraphic(box extract.Rect, graphics []extract.Rect, first extract.Rect) bool {
	area := 0.0
	for _, g := range graphics {
		if !g.Intersect(first).Empty() {
			continue
		}
		area += box.Intersect(g).Area()
	}
	return area > 0.2*box.Area()
}

// joinLines joins caption or paragraph lines, removing end-of-line hyphenation
// ("normal-" + "ized" → "normalized") but keeping real hyphens before capitals or digits.
func joinLines(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if i > 0 {
			prev := b.String()
			r, _ := utf8.DecodeRuneInString(l)
			if strings.HasSuffix(prev, "\u2010") && unicode.IsLetter(r) {
				b.WriteString(l) // an explicit hyphen at the line end belongs to the word
				continue
			}
			if strings.HasSuffix(prev, "-") && len(prev) > 1 && unicode.IsLower(r) {
				pr, _ := utf8.DecodeLastRuneInString(prev[:len(prev)-1])
				if unicode.IsLetter(pr) {
					s := prev[:len(prev)-1]
					b.Reset()
					b.WriteString(s)
					b.WriteString(l)
					continue
				}
			}
			b.WriteByte(' ')
		}
		b.WriteString(l)
	}
	return caption.Normalize(b.String())
}
