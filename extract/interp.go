package extract

import (
	"context"
	"fmt"
	"math"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// gstate is the part of the graphics state extraction needs.
type gstate struct {
	ctm       matrix
	clip      Rect // in page space
	fillWhite bool
	fillCS    string
	lineWidth float64

	font     *font
	fontSize float64
	charSp   float64
	wordSp   float64
	hscale   float64 // Tz / 100
	leading  float64
	rise     float64
	render   int
}

// rawGlyph is one shown glyph in page space, before grouping into words.
type rawGlyph struct {
	text     string
	box      Rect
	ox, oy   float64 // origin of the glyph on the baseline (page space)
	ex, ey   float64 // end of its advance on the baseline
	size     float64
	font     *font
	render   int
	rot      int // 0..3: baseline direction right, down, left, up
	space    bool
	hasWidth bool
}

// interp runs content streams of one page.
type interp struct {
	ctx   context.Context
	doc   *Document
	page  matrix // default user space → page space
	pageR Rect   // visible page in page space

	gs    gstate
	stack []gstate

	// text object state
	tm, tlm matrix

	// current path
	path     Rect
	hasPath  bool
	cx, cy   float64 // current point (user space)
	sx, sy   float64 // subpath start
	pendClip bool

	ops    int
	glyphs []rawGlyph
	out    *Page
	warned map[string]bool
}

func (in *interp) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if in.warned[msg] || len(in.warned) > 50 {
		return
	}
	in.warned[msg] = true
	in.out.Warnings = append(in.out.Warnings, msg)
}

// resources is a resource dictionary with its sub-dictionaries resolved lazily.
type resources struct {
	d    *Document
	dict types.Dict
}

func (r resources) lookup(category, name string) types.Object {
	if r.dict == nil {
		return nil
	}
	cat := r.d.dict(r.dict[category])
	if cat == nil {
		return nil
	}
	return cat[name]
}

func num(ops []operand, i int) float64 {
	if i < len(ops) && (ops[i].k == kNum) {
		if finite(ops[i].num) {
			return ops[i].num
		}
	}
	return 0
}

// run interprets one content stream with the given resources. depth counts Form nesting.
func (in *interp) run(data []byte, res resources, depth int) error {
	lim := in.doc.cfg.limits
	l := lexer{b: data}
	ops := make([]operand, 0, 16)
	for {
		t, ok := l.next()
		if !ok {
			return nil
		}
		if t.k != kOp {
			if len(ops) < 64 {
				ops = append(ops, t)
			}
			continue
		}
		in.ops++
		if in.ops > lim.MaxOperators {
			return &LimitError{Limit: "MaxOperators", Value: int64(in.ops), Max: int64(lim.MaxOperators)}
		}
		if in.ops&0x3FFF == 0 {
			if err := in.ctx.Err(); err != nil {
				return err
			}
		}
		if err := in.op(string(t.s), ops, res, depth, &l); err != nil {
			return err
		}
		ops = ops[:0]
	}
}

func (in *interp) op(name string, ops []operand, res resources, depth int, l *lexer) error {
	gs := &in.gs
	switch name {
	// graphics state
	case "q":
		if len(in.stack) < 256 {
			in.stack = append(in.stack, *gs)
		}
	case "Q":
		if n := len(in.stack); n > 0 {
			*gs = in.stack[n-1]
			in.stack = in.stack[:n-1]
		}
	case "cm":
		if len(ops) >= 6 {
			m := matrix{num(ops, 0), num(ops, 1), num(ops, 2), num(ops, 3), num(ops, 4), num(ops, 5)}
			gs.ctm = m.mul(gs.ctm)
		}
	case "w":
		gs.lineWidth = num(ops, 0)
	case "gs":
		if len(ops) > 0 && ops[0].k == kName {
			ext := in.doc.dict(res.lookup("ExtGState", ops[0].name()))
			if ext != nil {
				if lw, ok := in.doc.number(ext["LW"]); ok {
					gs.lineWidth = lw
				}
				if fa := in.doc.array(ext["Font"]); len(fa) == 2 {
					gs.font = in.doc.loadFont(fa[0])
					gs.fontSize, _ = in.doc.number(fa[1])
				}
			}
		}
	// colour (only whiteness of the fill matters)
	case "g":
		gs.fillCS = "DeviceGray"
		gs.fillWhite = num(ops, 0) >= 0.999
	case "rg":
		gs.fillCS = "DeviceRGB"
		gs.fillWhite = num(ops, 0) >= 0.999 && num(ops, 1) >= 0.999 && num(ops, 2) >= 0.999
	case "k":
		gs.fillCS = "DeviceCMYK"
		gs.fillWhite = num(ops, 0) <= 0.001 && num(ops, 1) <= 0.001 && num(ops, 2) <= 0.001 && num(ops, 3) <= 0.001
	case "cs":
		gs.fillCS = ""
		if len(ops) > 0 && ops[0].k == kName {
			gs.fillCS = in.colorSpaceName(ops[0].name(), res)
		}
		gs.fillWhite = false
	case "sc", "scn":
		switch {
		case len(ops) == 1 && (gs.fillCS == "DeviceGray" || gs.fillCS == "CalGray"):
			gs.fillWhite = num(ops, 0) >= 0.999
		case len(ops) == 3 && (gs.fillCS == "DeviceRGB" || gs.fillCS == "CalRGB" || gs.fillCS == "ICCBased3"):
			gs.fillWhite = num(ops, 0) >= 0.999 && num(ops, 1) >= 0.999 && num(ops, 2) >= 0.999
		case len(ops) == 4 && (gs.fillCS == "DeviceCMYK" || gs.fillCS == "ICCBased4"):
			gs.fillWhite = num(ops, 0) <= 0.001 && num(ops, 1) <= 0.001 && num(ops, 2) <= 0.001 && num(ops, 3) <= 0.001
		default:
			gs.fillWhite = false
		}
	// path construction
	case "m":
		if len(ops) >= 2 {
			in.cx, in.cy = num(ops, 0), num(ops, 1)
			in.sx, in.sy = in.cx, in.cy
			in.addPoint(in.cx, in.cy)
		}
	case "l":
		if len(ops) >= 2 {
			in.cx, in.cy = num(ops, 0), num(ops, 1)
			in.addPoint(in.cx, in.cy)
		}
	case "c":
		if len(ops) >= 6 {
			in.addPoint(num(ops, 0), num(ops, 1))
			in.addPoint(num(ops, 2), num(ops, 3))
			in.cx, in.cy = num(ops, 4), num(ops, 5)
			in.addPoint(in.cx, in.cy)
		}
	case "v":
		if len(ops) >= 4 {
			in.addPoint(num(ops, 0), num(ops, 1))
			in.cx, in.cy = num(ops, 2), num(ops, 3)
			in.addPoint(in.cx, in.cy)
		}
	case "y":
		if len(ops) >= 4 {
			in.addPoint(num(ops, 0), num(ops, 1))
			in.cx, in.cy = num(ops, 2), num(ops, 3)
			in.addPoint(in.cx, in.cy)
		}
	case "h":
		in.cx, in.cy = in.sx, in.sy
	case "re":
		if len(ops) >= 4 {
			x, y, w, h := num(ops, 0), num(ops, 1), num(ops, 2), num(ops, 3)
			in.addPoint(x, y)
			in.addPoint(x+w, y+h)
			in.addPoint(x+w, y)
			in.addPoint(x, y+h)
			in.cx, in.cy = x, y
			in.sx, in.sy = x, y
		}
	// path painting
	case "S", "s":
		in.paint(name, true, false)
	case "f", "F", "f*":
		in.paint(name, false, true)
	case "B", "B*", "b", "b*":
		in.paint(name, true, true)
	case "n":
		in.paint(name, false, false)
	case "W", "W*":
		in.pendClip = true
	case "sh":
		r := gs.clip.Intersect(in.pageR)
		if !r.Empty() {
			in.out.Graphics = append(in.out.Graphics, Graphic{BBox: r, Op: "sh", Background: r.Area() >= 0.9*in.pageR.Area()})
		}
	// text objects
	case "BT":
		in.tm, in.tlm = identity, identity
	case "ET":
	case "Tf":
		if len(ops) >= 2 && ops[0].k == kName {
			ref := res.lookup("Font", ops[0].name())
			if ref == nil {
				in.warn("font %s not in resources", ops[0].name())
				gs.font = in.doc.buildFont(nil)
			} else {
				gs.font = in.doc.loadFont(ref)
			}
			gs.fontSize = num(ops, 1)
		}
	case "Tc":
		gs.charSp = num(ops, 0)
	case "Tw":
		gs.wordSp = num(ops, 0)
	case "Tz":
		gs.hscale = num(ops, 0) / 100
	case "TL":
		gs.leading = num(ops, 0)
	case "Ts":
		gs.rise = num(ops, 0)
	case "Tr":
		gs.render = int(num(ops, 0))
	case "Td":
		in.tlm = matrix{1, 0, 0, 1, num(ops, 0), num(ops, 1)}.mul(in.tlm)
		in.tm = in.tlm
	case "TD":
		gs.leading = -num(ops, 1)
		in.tlm = matrix{1, 0, 0, 1, num(ops, 0), num(ops, 1)}.mul(in.tlm)
		in.tm = in.tlm
	case "Tm":
		if len(ops) >= 6 {
			in.tlm = matrix{num(ops, 0), num(ops, 1), num(ops, 2), num(ops, 3), num(ops, 4), num(ops, 5)}
			in.tm = in.tlm
		}
	case "T*":
		in.nextLine()
	case "Tj":
		if len(ops) > 0 && ops[0].k == kStr {
			in.show(ops[0].s)
		}
	case "'":
		in.nextLine()
		if len(ops) > 0 && ops[len(ops)-1].k == kStr {
			in.show(ops[len(ops)-1].s)
		}
	case "\"":
		if len(ops) >= 3 {
			gs.wordSp = num(ops, 0)
			gs.charSp = num(ops, 1)
			in.nextLine()
			if ops[2].k == kStr {
				in.show(ops[2].s)
			}
		}
	case "TJ":
		if len(ops) > 0 && ops[0].k == kArr {
			for _, e := range ops[0].arr {
				switch e.k {
				case kStr:
					in.show(e.s)
				case kNum:
					if finite(e.num) {
						in.adjust(e.num)
					}
				}
			}
		}
	// XObjects and inline images
	case "Do":
		if len(ops) > 0 && ops[0].k == kName {
			return in.doXObject(ops[0].name(), res, depth)
		}
	case "BI":
		return in.inlineImage(l, res)
	}
	return nil
}

func (in *interp) colorSpaceName(name string, res resources) string {
	switch name {
	case "DeviceGray", "DeviceRGB", "DeviceCMYK", "Pattern", "G", "RGB", "CMYK":
		switch name {
		case "G":
			return "DeviceGray"
		case "RGB":
			return "DeviceRGB"
		case "CMYK":
			return "DeviceCMYK"
		}
		return name
	}
	cs := in.doc.deref(res.lookup("ColorSpace", name))
	switch v := cs.(type) {
	case types.Name:
		return string(v)
	case types.Array:
		if len(v) > 0 {
			n := in.doc.name(v[0])
			if n == "ICCBased" && len(v) > 1 {
				if d := in.doc.dict(v[1]); d != nil {
					c, _ := in.doc.number(d["N"])
					return fmt.Sprintf("ICCBased%d", int(c))
				}
			}
			return n
		}
	}
	return ""
}

func (in *interp) addPoint(x, y float64) {
	if !finite(x) || !finite(y) {
		return
	}
	m := in.gs.ctm.mul(in.page)
	px, py := m.apply(x, y)
	if !in.hasPath {
		in.path = Rect{px, py, px, py}
		in.hasPath = true
		return
	}
	in.path.X0 = min(in.path.X0, px)
	in.path.Y0 = min(in.path.Y0, py)
	in.path.X1 = max(in.path.X1, px)
	in.path.Y1 = max(in.path.Y1, py)
}

func (in *interp) paint(op string, stroke, fill bool) {
	gs := &in.gs
	if in.hasPath && (stroke || fill) {
		r := in.path
		if stroke {
			hw := math.Max(gs.lineWidth, 0) * gs.ctm.mul(in.page).scale() / 2
			hw = math.Max(hw, 0.25)
			r = Rect{r.X0 - hw, r.Y0 - hw, r.X1 + hw, r.Y1 + hw}
		}
		r = r.Intersect(gs.clip)
		if !r.Empty() {
			g := Graphic{BBox: r, Op: op}
			g.White = fill && !stroke && gs.fillWhite
			g.Background = fill && r.Area() >= 0.9*in.pageR.Area()
			in.out.Graphics = append(in.out.Graphics, g)
		}
	}
	if in.pendClip {
		if in.hasPath {
			gs.clip = gs.clip.Intersect(in.path)
		} else {
			gs.clip = Rect{}
		}
		in.pendClip = false
	}
	in.hasPath = false
}

func (in *interp) nextLine() {
	in.tlm = matrix{1, 0, 0, 1, 0, -in.gs.leading}.mul(in.tlm)
	in.tm = in.tlm
}

// adjust applies a TJ number (thousandths of text space, subtracted from the advance).
func (in *interp) adjust(n float64) {
	gs := &in.gs
	if gs.font != nil && gs.font.vertical {
		in.tm = matrix{1, 0, 0, 1, 0, -n / 1000 * gs.fontSize}.mul(in.tm)
		return
	}
	in.tm = matrix{1, 0, 0, 1, -n / 1000 * gs.fontSize * gs.hscale, 0}.mul(in.tm)
}

// show shows a string: one rawGlyph per character code, advancing the text matrix.
func (in *interp) show(s []byte) {
	gs := &in.gs
	f := gs.font
	if f == nil {
		in.warn("text shown without a font")
		f = in.doc.buildFont(nil)
		gs.font = f
	}
	fs := gs.fontSize
	th := gs.hscale
	base := gs.ctm.mul(in.page)
	for len(s) > 0 {
		n := f.codeLen(s)
		code := codeValue(s[:n])
		s = s[n:]
		g := f.glyph(code, n)
		// text rendering matrix without the translation by the advance
		trm := matrix{fs * th, 0, 0, fs, 0, gs.rise}.mul(in.tm).mul(base)
		var adv float64
		if f.vertical {
			adv = 0
		} else {
			adv = g.width
		}
		if f.kind == fontType3 {
			// Type 3 widths are already in text space through FontMatrix; the box uses it too.
		}
		box := trm.bbox(0, f.descent, adv, f.ascent)
		if f.vertical {
			box = trm.bbox(-0.5, -1, 0.5, 0)
		}
		ox, oy := trm.apply(0, 0)
		ex, ey := trm.apply(adv, 0)
		if finite(box.X0) && finite(box.Y0) && finite(box.X1) && finite(box.Y1) {
			vx, vy := (matrix{in.tm[0], in.tm[1], in.tm[2], in.tm[3], 0, 0}).mul(base).applyVec(0, fs)
			size := math.Hypot(vx, vy) * f.sizeScale
			rg := rawGlyph{text: g.text, box: box, ox: ox, oy: oy, ex: ex, ey: ey, size: size,
				font: f, render: gs.render, space: g.space && n == 1}
			rg.rot = direction(trm)
			in.glyphs = append(in.glyphs, rg)
		}
		// advance
		if f.vertical {
			ty := -1*fs + gs.charSp
			if g.space {
				ty += gs.wordSp
			}
			in.tm = matrix{1, 0, 0, 1, 0, ty}.mul(in.tm)
			continue
		}
		tx := g.width*fs + gs.charSp
		if g.space {
			tx += gs.wordSp
		}
		tx *= th
		in.tm = matrix{1, 0, 0, 1, tx, 0}.mul(in.tm)
	}
}

// direction classifies the baseline direction of a text rendering matrix in page space
// (y down): 0 right, 1 down, 2 left, 3 up.
func direction(trm matrix) int {
	dx, dy := trm[0], trm[1]
	if math.Abs(dx) >= math.Abs(dy) {
		if dx >= 0 {
			return 0
		}
		return 2
	}
	if dy > 0 {
		return 1
	}
	return 3
}

func (in *interp) doXObject(name string, res resources, depth int) error {
	ref := res.lookup("XObject", name)
	if ref == nil {
		in.warn("XObject %s not in resources", name)
		return nil
	}
	sd, ok := in.doc.deref(ref).(types.StreamDict)
	if !ok {
		in.warn("XObject %s is not a stream", name)
		return nil
	}
	switch in.doc.name(sd.Dict["Subtype"]) {
	case "Image":
		in.placeImage(ref, sd, name)
	case "Form":
		lim := in.doc.cfg.limits
		if depth+1 > lim.MaxFormDepth {
			return &LimitError{Limit: "MaxFormDepth", Value: int64(depth + 1), Max: int64(lim.MaxFormDepth)}
		}
		data, _, err := in.doc.streamData(ref)
		if err != nil {
			if isLimit(err) {
				return err
			}
			in.warn("form %s: %v", name, err)
			return nil
		}
		saved := in.gs
		savedStack := len(in.stack)
		if m := in.doc.array(sd.Dict["Matrix"]); len(m) == 6 {
			var fm matrix
			for i := range m {
				fm[i], _ = in.doc.number(m[i])
			}
			in.gs.ctm = fm.mul(in.gs.ctm)
		}
		if bb := in.doc.array(sd.Dict["BBox"]); len(bb) == 4 {
			var v [4]float64
			for i := range bb {
				v[i], _ = in.doc.number(bb[i])
			}
			r := in.gs.ctm.mul(in.page).bbox(min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3]))
			in.gs.clip = in.gs.clip.Intersect(r)
		}
		fres := res
		if rd := in.doc.dict(sd.Dict["Resources"]); rd != nil {
			fres = resources{d: in.doc, dict: rd}
		}
		savedTm, savedTlm := in.tm, in.tlm
		err = in.run(data, fres, depth+1)
		in.gs = saved
		in.stack = in.stack[:min(savedStack, len(in.stack))]
		in.tm, in.tlm = savedTm, savedTlm
		in.hasPath = false
		return err
	default:
		// PostScript XObjects and unknown kinds paint nothing we can read.
	}
	return nil
}
