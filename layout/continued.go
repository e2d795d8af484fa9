package layout

import (
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
)

// continuedMaxLines bounds how many lines a caption may carry over to the next page.
const continuedMaxLines = 40

// continueCaption joins the part of a caption that runs over onto the next page, where the
// layout leaves no doubt: the caption's last line ends mid-sentence (or with a hyphen) and is
// the last text of its column at the foot of the page, and the next page opens (running heads
// aside) with lines in the caption's size and font family, the first starting in lower case:
// it can only continue a sentence. The joined lines become caption
// lines of the next page. Only figure captions are continued (tables carry their own
// "(continued)" headings).
func continueCaption(pm *pageModel, f *pageFigure, next []tline, st docStats) {
	blk := f.block
	if len(blk.lines) == 0 || f.kind != caption.Figure {
		return
	}
	last := pm.lines[blk.lines[len(blk.lines)-1]]
	if t := last.text; !midSentence(t) && !endsWithHyphen(t) {
		return
	}
	bottom := 0.0 // the foot of the text area
	for li, l := range pm.lines {
		if l.furniture {
			continue
		}
		bottom = math.Max(bottom, l.box.Y1)
		if inBlock(blk, li) || l.role == roleFigureText {
			continue
		}
		if l.box.Y0 > last.box.Y1 && hOverlap(l.box, blk.box) > 0 {
			return // text follows the caption on its page
		}
	}
	if bottom-last.box.Y1 > 2*st.lineSpacing {
		return // the caption ends above the foot of the page
	}
	first := pm.lines[blk.lines[0]]
	matches := func(l tline) bool {
		r, _ := utf8.DecodeRuneInString(l.text)
		return !l.furniture && unicode.IsLower(r) && math.Abs(l.size-first.size) <= captionSizeTol &&
			fontFamily(l.font) == fontFamily(last.font)
	}
	start := continuationStart(next, blk.box, first.size, st, matches)
	if start < 0 {
		return
	}
	cont := []int{start}
	for k := start + 1; k < len(next) && len(cont) < continuedMaxLines; k++ {
		l := next[k]
		if l.furniture || hOverlap(l.box, next[start].box) <= 0 {
			continue
		}
		prev := next[cont[len(cont)-1]]
		d := l.base - prev.base
		if math.Abs(l.size-first.size) > captionSizeTol || d <= 0 || d > captionSpacingSlack*1.3*l.size ||
			math.Abs(l.box.X0-next[start].box.X0) > captionAlignTol && math.Abs(l.box.X0-prev.box.X0) > captionAlignTol {
			break
		}
		if _, ok := caption.MatchLine(l.text); ok {
			break
		}
		cont = append(cont, k)
	}
	if len(cont) == 0 {
		return
	}
	texts := []string{blk.text}
	for _, k := range cont {
		texts = append(texts, next[k].text)
		next[k].role = roleCaption
	}
	f.block.text = joinLines(texts)
	f.text = captionText(f.block)
	f.flags = append(f.flags, "caption_continued")
}

// endsWithHyphen reports a line broken inside a word.
func endsWithHyphen(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r == '-' || r == '\u2010'
}

// continuationStart finds where a caption's rest begins on the next page: the first text line
// of the page, or else a line at the caption's left edge, in a size other than the body's,
// that opens a block of its own (the legend continued at the foot of the next page). Both must
// satisfy matches. It returns the line index or −1.
func continuationStart(next []tline, capBox extract.Rect, size float64, st docStats, matches func(tline) bool) int {
	for k, l := range next {
		if l.furniture {
			continue
		}
		if matches(l) {
			return k
		}
		break
	}
	if math.Abs(size-st.bodySize) <= 0.6 {
		return -1 // set like body text: only the top of the page is unambiguous
	}
	for k, l := range next {
		if math.Abs(l.box.X0-capBox.X0) > captionAlignTol || !matches(l) {
			continue
		}
		opens := true
		for j := k - 1; j >= 0; j-- {
			p := next[j]
			if p.furniture || hOverlap(p.box, l.box) <= 0 {
				continue
			}
			if math.Abs(p.size-l.size) <= captionSizeTol && l.box.Y0-p.box.Y1 < 1.5*l.size {
				opens = false
			}
			break
		}
		if opens {
			return k
		}
	}
	return -1
}

// continueInFrameColumns joins the second column of a caption set in two columns inside the
// frame it shares with its figure (a full-width frame over a two-column page): lines inside
// the same frame, right of the caption block, whose first line is level with the caption's
// first line and in its size and family. It reports whether a block changed.
func continueInFrameColumns(pm *pageModel, blocks []captionBlock, isCaption map[int]bool, st docStats) bool {
	boxes, isImage := paintedBoxes(pm.page)
	capBoxes := make([]extract.Rect, len(blocks))
	for i, b := range blocks {
		capBoxes[i] = b.box
	}
	frames, _ := findFrames(boxes, isImage, pm.lines, capBoxes)
	if len(frames) == 0 {
		return false
	}
	changed := false
	for bi := range blocks {
		blk := &blocks[bi]
		var fr extract.Rect
		found := false
		for _, f := range frames {
			if contains(f.box, blk.box, 2) && (!found || f.box.Area() < fr.Area()) {
				fr, found = f.box, true
			}
		}
		if !found {
			continue
		}
		first := pm.lines[blk.lines[0]]
		same := func(l tline) bool {
			return math.Abs(l.size-first.size) <= captionSizeTol && fontFamily(l.font) == fontFamily(first.font)
		}
		start := -1
		for k, l := range pm.lines {
			if !isCaption[k] && same(l) && contains(fr, l.box, 2) && l.box.X0 > blk.box.X1 &&
				math.Abs(l.box.Y0-first.box.Y0) < captionAlignTol {
				start = k
				break
			}
		}
		if start < 0 {
			continue
		}
		col := []int{start}
		for k := start + 1; k < len(pm.lines); k++ {
			l := pm.lines[k]
			prev := pm.lines[col[len(col)-1]]
			if isCaption[k] || !contains(fr, l.box, 2) || math.Abs(l.box.X0-pm.lines[start].box.X0) > captionAlignTol {
				continue
			}
			if d := l.base - prev.base; !same(l) || d <= 0 || d > captionSpacingSlack*1.3*l.size || l.box.Y1 > blk.box.Y1+2 {
				break
			}
			col = append(col, k)
		}
		texts := []string{blk.text}
		for _, k := range col {
			texts = append(texts, pm.lines[k].text)
			blk.lines = append(blk.lines, k)
			blk.box = blk.box.Union(pm.lines[k].box)
			isCaption[k] = true
			pm.lines[k].role = roleCaption
		}
		blk.text = joinLines(texts)
		changed = true
	}
	return changed
}
