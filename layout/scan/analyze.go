package scan

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/eosinlab/eosin/layout/caption"
	"github.com/eosinlab/eosin/ocr"
)

// Tuning of the page analysis, as fractions of the page height H (pixels) unless noted.
const (
	lowDPI         = 100   // images below this resolution are enlarged…
	minWorkDPI     = 150   // …to at least this resolution for analysis
	clusterGap     = 0.025 // graphic blocks closer than this form one figure
	captionReach   = 0.12  // a caption starts at most this far from its figure
	smallBlockH    = 0.06  // text blocks up to this tall (and ≤ 3 lines) can be figure labels
	maxProbeBlocks = 4     // text blocks probed for a caption on each side of a figure
	maxProbeLines  = 3     // lines probed per block
	maxCaptionLine = 15    // caption lines read at most
	probeWidthEm   = 12    // a probe reads this many line heights from the start of a line
	minCaptionEm   = 9     // lines shorter than this many line heights are not probed
	maxLabelBlocks = 8     // small blocks absorbed into a figure on each side at most
)

// Analyze finds the figures of one page image: orientation, layout analysis, figure regions,
// caption probes, caption OCR. Boxes in the result are pixels of Result.Upright.
func (s *Scanner) Analyze(ctx context.Context, img *ocr.Image) (*Result, error) {
	b := img.Bounds()
	res := &Result{w: b.Dx(), h: b.Dy(), scale: 1}
	if b.Dx() < 32 || b.Dy() < 32 {
		return nil, fmt.Errorf("page image %dx%d: too small", b.Dx(), b.Dy())
	}
	err := s.pool.Do(ctx, func(e *ocr.Engine) error {
		work := img
		if dpi := img.DPI(); dpi > 0 && dpi < lowDPI {
			f := float64((minWorkDPI + dpi - 1) / dpi) // integral factors keep pixels sharp
			sc, err := img.Scale(f)
			if err != nil {
				return err
			}
			work, res.scale, res.owned = sc, f, true
		}
		// Orientation: text lines that read well mean the page is upright; only when they do
		// not is Tesseract's orientation detection (slow, and unreliable on small text) asked,
		// and its turn kept only if the text then reads better.
		t0 := time.Now()
		view, err := s.level(ctx, e, work, res)
		if err != nil {
			return err
		}
		slog.Debug("scan: line score", "score", view.score, "elapsed", time.Since(t0))
		if view.score < uprightScore {
			o, err := e.DetectOrientation(ctx, work)
			res.Orientation = o
			if err == nil && o.Rotate != 0 && o.Confidence >= s.opts.MinOrientationConf {
				turned, err := work.Rotate(o.Rotate / 90)
				if err != nil {
					return err
				}
				alt, err := s.level(ctx, e, turned, res)
				if err != nil {
					turned.Close()
					return err
				}
				if alt.score > view.score {
					view.close(work)
					view = alt
					if res.owned {
						work.Close()
					}
					work, res.owned, res.Rotated = turned, true, o.Rotate
				} else {
					alt.close(turned)
					turned.Close()
				}
			} else if err != nil && ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if res.Rotated == 0 {
			res.Orientation.Rotate = 0
		}
		res.Time.Orientation = time.Since(t0) - view.deskew - view.layout
		res.Time.Deskew, res.Time.Layout = view.deskew, view.layout
		if view.img != work {
			if res.owned {
				work.Close()
			}
			work, res.owned = view.img, true
		}
		res.Skew = view.skew
		res.Upright = work
		res.Layout = view.lp
		return s.findFigures(ctx, e, res)
	})
	if err != nil {
		if res.owned && res.Upright != nil {
			res.Upright.Close()
		}
		return nil, err
	}
	return res, nil
}

// uprightScore is the mean OCR confidence of a page's longest lines above which the page is
// taken as upright without orientation detection (upside-down text reads below 50).
const uprightScore = 65

// view is a levelled page image with its layout and how well its longest lines read.
type view struct {
	img            *ocr.Image
	skew           float64
	lp             *ocr.Page
	score          float64
	deskew, layout time.Duration
}

// close releases the view's image unless it is base.
func (v view) close(base *ocr.Image) {
	if v.img != base {
		v.img.Close()
	}
}

// level deskews img, analyses its layout and scores its longest lines.
func (s *Scanner) level(ctx context.Context, e *ocr.Engine, img *ocr.Image, res *Result) (view, error) {
	t0 := time.Now()
	straight, angle, err := img.Deskew()
	if err != nil {
		return view{}, err
	}
	v := view{img: straight, skew: angle}
	if angle == 0 {
		straight.Close()
		v.img = img
	}
	v.deskew = time.Since(t0)
	t0 = time.Now()
	v.lp, err = e.Layout(ctx, v.img, ocr.PSMAuto)
	if err != nil {
		v.close(img)
		return view{}, err
	}
	v.layout = time.Since(t0)
	v.score, err = lineScore(ctx, e, v.img, v.lp)
	if err != nil {
		v.close(img)
		return view{}, err
	}
	res.OCRRegions += 3
	return v, nil
}

// lineScore is the mean word confidence of the three longest text lines of the image.
func lineScore(ctx context.Context, e *ocr.Engine, img *ocr.Image, lp *ocr.Page) (float64, error) {
	var lines []image.Rectangle
	for _, b := range lp.Blocks {
		if b.Type.IsText() && b.Type != ocr.BlockVerticalText {
			for _, l := range b.Lines {
				lines = append(lines, l.Box)
			}
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].Dx() > lines[j].Dx() })
	if len(lines) > 3 {
		lines = lines[:3]
	}
	if len(lines) == 0 {
		return 0, nil
	}
	// The start of a line tells as much as the whole line, for a fraction of the work.
	for i, l := range lines {
		l = l.Inset(-max(2, l.Dy()/6))
		l.Max.X = min(l.Max.X, l.Min.X+probeWidthEm*l.Dy())
		lines[i] = l
	}
	ps, err := e.RecognizeRegions(ctx, img, lines, ocr.PSMSingleLine)
	if err != nil {
		return 0, err
	}
	var words []ocr.Word
	for _, p := range ps {
		words = append(words, p.Words()...)
	}
	if len(words) == 0 {
		return 0, nil
	}
	sum := 0.0
	for _, w := range words {
		sum += w.Confidence
	}
	return sum / float64(len(words)), nil
}

// cluster is a figure region under construction.
type cluster struct {
	box                  image.Rectangle
	images, hl, vl, vtxt int
	imageArea            int
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

// gap is the distance between two boxes (0 when they touch or overlap).
func gap(a, b image.Rectangle) int {
	dx := max(a.Min.X-b.Max.X, b.Min.X-a.Max.X, 0)
	dy := max(a.Min.Y-b.Max.Y, b.Min.Y-a.Max.Y, 0)
	return max(dx, dy)
}

// hOverlap is the horizontal overlap of two boxes relative to the narrower one.
func hOverlap(a, b image.Rectangle) float64 {
	o := min(a.Max.X, b.Max.X) - max(a.Min.X, b.Min.X)
	w := min(a.Dx(), b.Dx())
	if o <= 0 || w <= 0 {
		return 0
	}
	return float64(o) / float64(w)
}

// inside is the share of a's area within b.
func inside(a, b image.Rectangle) float64 {
	if area(a) == 0 {
		return 0
	}
	return float64(area(a.Intersect(b))) / float64(area(a))
}

// graphicClusters groups the page's picture-like blocks (images, rules, vertical text) into
// figure regions and keeps those that look like figures.
func graphicClusters(lp *ocr.Page) []cluster {
	W, H := lp.Width, lp.Height
	g := int(clusterGap * float64(H))
	var cs []cluster
	for _, b := range lp.Blocks {
		c := cluster{box: b.Box}
		switch {
		case b.Type.IsImage():
			c.images, c.imageArea = 1, area(b.Box)
		case b.Type == ocr.BlockHLine:
			c.hl = 1
		case b.Type == ocr.BlockVLine:
			c.vl = 1
		case b.Type == ocr.BlockVerticalText:
			c.vtxt = 1
		default:
			continue
		}
		cs = append(cs, c)
	}
	// Merge until no two clusters are within reach of each other.
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(cs); i++ {
			for j := i + 1; j < len(cs); j++ {
				if gap(cs[i].box, cs[j].box) > g {
					continue
				}
				a, b := &cs[i], cs[j]
				a.box = a.box.Union(b.box)
				a.images += b.images
				a.imageArea += b.imageArea
				a.hl += b.hl
				a.vl += b.vl
				a.vtxt += b.vtxt
				cs = slices.Delete(cs, j, j+1)
				merged = true
				j--
			}
		}
	}
	pageArea := W * H
	var out []cluster
	for _, c := range cs {
		if c.box.Dx() < W/30 || c.box.Dy() < H/30 {
			continue
		}
		a := area(c.box)
		picture := c.images > 0 && c.imageArea >= pageArea/300
		framed := c.hl > 0 && c.vl > 0 && a >= pageArea/50
		drawn := c.hl+c.vl+c.vtxt+c.images >= 3 && a >= pageArea/50
		if picture || framed || drawn {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].box.Min.Y < out[j].box.Min.Y })
	return out
}

// probe is a caption opening found by reading the start of a line.
type probe struct {
	block, line int
	m           caption.Match
}

// findFigures grows each graphic cluster over nearby small text blocks (axis labels, legends)
// and looks for its caption below, then above it.
func (s *Scanner) findFigures(ctx context.Context, e *ocr.Engine, res *Result) error {
	lp := res.Layout
	H := lp.Height
	clusters := graphicClusters(lp)
	var text []int // indexes of text blocks with lines
	for i, b := range lp.Blocks {
		if b.Type.IsText() && len(b.Lines) > 0 && (s.opts.Tables || b.Type != ocr.BlockTable) {
			text = append(text, i)
		}
	}
	usedCaption := map[int]int{} // text block index → figure index
	reach := int(captionReach * float64(H))
	for _, c := range clusters {
		if err := ctx.Err(); err != nil {
			return err
		}
		box := c.box
		// Text inside the region (tick labels, panel letters) belongs to it.
		var below, above []int
		for _, ti := range text {
			tb := lp.Blocks[ti].Box
			if inside(tb, box) > 0.5 || hOverlap(tb, box) == 0 {
				continue
			}
			if tb.Min.Y >= box.Max.Y-H/100 {
				below = append(below, ti)
			} else if tb.Max.Y <= box.Min.Y+H/100 {
				above = append(above, ti)
			}
		}
		sort.Slice(below, func(i, j int) bool { return lp.Blocks[below[i]].Box.Min.Y < lp.Blocks[below[j]].Box.Min.Y })
		sort.Slice(above, func(i, j int) bool { return lp.Blocks[above[i]].Box.Max.Y > lp.Blocks[above[j]].Box.Max.Y })

		var found *probe
		grown := box
		// A caption can sit inside the region when rules frame figure and caption together:
		// probe long text lines inside it that lie on no picture.
		slog.Debug("scan: figure candidate", "box", box, "inner", inner(lp, text, box))
		for _, ti := range inner(lp, text, box) {
			p, err := s.probeBlock(ctx, e, res, ti)
			if err != nil {
				return err
			}
			if p == nil {
				continue
			}
			if _, taken := usedCaption[ti]; taken {
				continue
			}
			tb := lp.Blocks[ti].Box
			if cy := (tb.Min.Y + tb.Max.Y) / 2; cy > (box.Min.Y+box.Max.Y)/2 {
				grown.Max.Y = tb.Min.Y
			} else {
				grown.Min.Y = tb.Max.Y
			}
			found = p
			break
		}
		for side, list := range [][]int{below, above} {
			if found != nil {
				break
			}
			cur := box
			probed, absorbed := 0, 0
			for _, ti := range list {
				if probed >= maxProbeBlocks || absorbed >= maxLabelBlocks {
					break
				}
				tb := lp.Blocks[ti]
				d := tb.Box.Min.Y - cur.Max.Y
				if side == 1 {
					d = cur.Min.Y - tb.Box.Max.Y
				}
				if d > reach {
					break
				}
				small := len(tb.Lines) <= 3 && tb.Box.Dy() <= int(smallBlockH*float64(H))
				if small && !probeable(tb, lp.Width) {
					cur = cur.Union(tb.Box) // too short for a caption: a label of the figure
					absorbed++
					continue
				}
				probed++
				p, err := s.probeBlock(ctx, e, res, ti)
				if err != nil {
					return err
				}
				if p != nil {
					if _, taken := usedCaption[ti]; !taken {
						found = p
					}
					break
				}
				if !small {
					break // body text: the figure ends here
				}
				cur = cur.Union(tb.Box) // a label of the figure
				absorbed++
			}
			if found != nil {
				grown = cur
				break
			}
			if side == 0 {
				grown = cur
			}
		}
		if found == nil {
			res.Regions = append(res.Regions, grown)
			continue
		}
		f, err := s.readCaption(ctx, e, res, found)
		if err != nil {
			return err
		}
		if f == nil {
			res.Regions = append(res.Regions, grown)
			continue
		}
		if f.Kind == caption.Table && !s.opts.Tables {
			continue
		}
		f.Box = grown
		usedCaption[found.block] = len(res.Figures)
		res.Figures = append(res.Figures, *f)
	}
	return nil
}

// inner lists the text blocks inside box that could be a caption framed with its figure:
// long lines on no picture, nearest to the box's bottom or top edge first, two at most.
func inner(lp *ocr.Page, text []int, box image.Rectangle) []int {
	var out []int
	for _, ti := range text {
		tb := lp.Blocks[ti]
		if inside(tb.Box, box) <= 0.5 || !probeable(tb, lp.Width) || len(tb.Lines) > 8 {
			continue
		}
		onPicture := false
		for _, b := range lp.Blocks {
			if b.Type.IsImage() && area(tb.Box.Intersect(b.Box))*10 > area(tb.Box) {
				onPicture = true
				break
			}
		}
		if !onPicture {
			out = append(out, ti)
		}
	}
	edge := func(r image.Rectangle) int { return min(box.Max.Y-r.Max.Y, r.Min.Y-box.Min.Y) }
	sort.Slice(out, func(i, j int) bool { return edge(lp.Blocks[out[i]].Box) < edge(lp.Blocks[out[j]].Box) })
	if len(out) > 2 {
		out = out[:2]
	}
	return out
}

// probeable reports whether a text block has a line long enough to open a caption.
func probeable(b ocr.Block, pageW int) bool {
	for i, l := range b.Lines {
		if i >= maxProbeLines {
			break
		}
		if longLine(l.Box, pageW) {
			return true
		}
	}
	return false
}

// longLine reports a line long enough to hold a caption opening ("Figure 12: Some words"):
// a fifth of the page width and several line heights.
func longLine(r image.Rectangle, pageW int) bool {
	return r.Dx() >= minCaptionEm*r.Dy() && r.Dx()*5 >= pageW
}

// probeBlock reads the start of the first lines of text block ti and reports a caption
// opening.
func (s *Scanner) probeBlock(ctx context.Context, e *ocr.Engine, res *Result, ti int) (*probe, error) {
	defer func(t0 time.Time) { res.Time.Probes += time.Since(t0) }(time.Now())
	b := res.Layout.Blocks[ti]
	var regions []image.Rectangle
	var lineNo []int
	for li, l := range b.Lines {
		if li >= maxProbeLines {
			break
		}
		h := l.Box.Dy()
		if !longLine(l.Box, res.Layout.Width) {
			continue
		}
		lineNo = append(lineNo, li)
		r := l.Box.Inset(-max(2, h/6))
		r.Max.X = min(r.Max.X, l.Box.Min.X+probeWidthEm*h)
		regions = append(regions, r)
	}
	pages, err := e.RecognizeRegions(ctx, res.Upright, regions, ocr.PSMSingleLine)
	if err != nil {
		return nil, fmt.Errorf("caption probe: %w", err)
	}
	for li, p := range pages {
		res.OCRRegions++
		res.OCRPixels += area(regions[li])
		slog.Debug("scan: caption probe", "region", regions[li], "text", p.Text())
		if m, ok := matchCaption(p.Text()); ok {
			return &probe{block: ti, line: lineNo[li], m: m}, nil
		}
	}
	return nil, nil
}

// readCaption reads the caption that opens at the probed line: that line and the following
// ones of its block, up to a paragraph gap.
func (s *Scanner) readCaption(ctx context.Context, e *ocr.Engine, res *Result, p *probe) (*Figure, error) {
	defer func(t0 time.Time) { res.Time.Captions += time.Since(t0) }(time.Now())
	b := res.Layout.Blocks[p.block]
	lines := b.Lines[p.line:]
	// Stop at a gap clearly wider than the usual line spacing (the end of the paragraph).
	if len(lines) > 2 {
		var gaps []int
		for i := 1; i < len(lines); i++ {
			gaps = append(gaps, lines[i].Box.Min.Y-lines[i-1].Box.Max.Y)
		}
		sorted := slices.Clone(gaps)
		slices.Sort(sorted)
		med := sorted[len(sorted)/2]
		for i, g := range gaps {
			if g > med+max(med, lines[i].Box.Dy()/2) {
				lines = lines[:i+1]
				break
			}
		}
	}
	if len(lines) > maxCaptionLine {
		lines = lines[:maxCaptionLine]
	}
	var box image.Rectangle
	for _, l := range lines {
		box = box.Union(l.Box)
	}
	pad := max(3, lines[0].Box.Dy()/4)
	region := box.Inset(-pad)
	pages, err := e.RecognizeRegions(ctx, res.Upright, []image.Rectangle{region}, ocr.PSMSingleBlock)
	if err != nil {
		return nil, fmt.Errorf("caption: %w", err)
	}
	res.OCRRegions++
	res.OCRPixels += area(region)
	pg := pages[0]
	text := joinLines(pg)
	// The caption text is kept without its label, as on born-digital pages. When the block
	// read as a whole does not open with the label, the probe's label stands.
	m, ok := matchCaption(text)
	if ok {
		text = m.Rest
	} else {
		m = p.m
	}
	return &Figure{
		Kind:       m.Kind,
		CaptionBox: box,
		Label:      m.Label,
		Caption:    caption.Normalize(text),
		Confidence: pg.MeanConfidence(),
	}, nil
}

// labelWords are the caption label words as OCR should read them.
var labelWords = []string{"Figure", "Fig.", "FIGURE", "FIG.", "Table", "TABLE", "Plate", "PLATE"}

// fixLabelWord corrects one OCR slip in the first word of a line when it then reads as a
// caption label word ("Pig." → "Fig.", "Figurc" → "Figure").
func fixLabelWord(line string) string {
	line = strings.TrimSpace(line)
	word, rest, _ := strings.Cut(line, " ")
	if len(word) < 4 || len(word) > 7 {
		return line
	}
	for _, w := range labelWords {
		if word != w && editDistance(word, w) == 1 {
			return w + " " + rest
		}
	}
	return line
}

// matchCaption applies the shared caption rules to an OCR line, allowing one OCR slip in the
// label word.
// Without a separator after the number, a line going on in lower case is a body-text
// mention ("Fig. 1 shows …"), not a caption.
func matchCaption(line string) (caption.Match, bool) {
	m, ok := caption.MatchLine(line)
	if !ok {
		if fixed := fixLabelWord(line); fixed != strings.TrimSpace(line) {
			m, ok = caption.MatchLine(fixed)
		}
	}
	if ok && m.Sep == "" && m.Rest != "" && unicode.IsLower([]rune(m.Rest)[0]) {
		return caption.Match{}, false
	}
	return m, ok
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// joinLines joins OCR lines into running text, undoing end-of-line hyphenation.
func joinLines(p *ocr.Page) string {
	var sb strings.Builder
	for _, b := range p.Blocks {
		for _, l := range b.Lines {
			t := strings.TrimSpace(l.Text)
			if t == "" {
				continue
			}
			s := sb.String()
			switch {
			case sb.Len() == 0:
			case strings.HasSuffix(s, "-") && len(s) > 1 && isLower(t[0]):
				str := strings.TrimSuffix(s, "-")
				sb.Reset()
				sb.WriteString(str)
			default:
				sb.WriteByte(' ')
			}
			sb.WriteString(t)
		}
	}
	return sb.String()
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
