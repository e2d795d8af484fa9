package extract

import (
	"bytes"
	"math"
	"strings"

	pdffont "github.com/pdfcpu/pdfcpu/pkg/font"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

type fontKind uint8

const (
	fontSimple fontKind = iota
	fontType0
	fontType3
)

// fontKey identifies a font dictionary within a document (indirect object number).
type fontKey struct{ obj int }

// glyph is what the interpreter needs to know about one character code.
type glyph struct {
	text  string
	width float64 // horizontal advance in text space (before font size), e.g. 0.5
	space bool    // single-byte code 32: word spacing applies
}

// font is a font dictionary prepared for text extraction: code splitting, widths, text.
type font struct {
	base         string
	bold, italic bool
	kind         fontKind
	vertical     bool

	widths   [256]float64
	hasWidth [256]bool
	missing  float64 // width of codes without one
	enc      [256]string

	encCMap *cmap // Type0 encoding; nil means Identity (2-byte codes, CID = code)
	cidW    map[uint32]float64
	dw      float64

	toUni *cmap

	ascent, descent float64 // text space, e.g. 0.95 and -0.35
	sizeScale       float64 // apparent size / nominal size (Type 3 fonts; 1 otherwise)
	matrix          matrix  // Type3 FontMatrix

	cache map[uint32]glyph
}

// stdFonts maps names of the standard 14 fonts and their usual aliases to the standard name,
// with (ascender, descender) from their metrics.
var stdAscent = map[string][2]float64{
	"Courier": {0.629, -0.157}, "Courier-Bold": {0.629, -0.157}, "Courier-Oblique": {0.629, -0.157},
	"Courier-BoldOblique": {0.629, -0.157}, "Helvetica": {0.718, -0.207}, "Helvetica-Bold": {0.718, -0.207},
	"Helvetica-Oblique": {0.718, -0.207}, "Helvetica-BoldOblique": {0.718, -0.207},
	"Times-Roman": {0.683, -0.217}, "Times-Bold": {0.676, -0.205}, "Times-Italic": {0.683, -0.205},
	"Times-BoldItalic": {0.683, -0.205}, "Symbol": {1.010, -0.293}, "ZapfDingbats": {0.820, -0.143},
}

// standardFont maps a base font name to one of the standard 14 ("" when it is none of them).
func standardFont(name string) string {
	if _, ok := stdAscent[name]; ok {
		return name
	}
	n := strings.ToLower(strings.NewReplacer(" ", "", "-", "", ",", "", "PS", "", "MT", "").Replace(name))
	bold := strings.Contains(n, "bold")
	ital := strings.Contains(n, "italic") || strings.Contains(n, "oblique")
	family := ""
	switch {
	case strings.HasPrefix(n, "helvetica") || strings.HasPrefix(n, "arial"):
		family = "Helvetica"
	case strings.HasPrefix(n, "times"):
		family = "Times"
	case strings.HasPrefix(n, "courier"):
		family = "Courier"
	case strings.HasPrefix(n, "symbol"):
		return "Symbol"
	case strings.HasPrefix(n, "zapfdingbats"):
		return "ZapfDingbats"
	default:
		return ""
	}
	switch family {
	case "Times":
		switch {
		case bold && ital:
			return "Times-BoldItalic"
		case bold:
			return "Times-Bold"
		case ital:
			return "Times-Italic"
		}
		return "Times-Roman"
	default:
		switch {
		case bold && ital:
			return family + "-BoldOblique"
		case bold:
			return family + "-Bold"
		case ital:
			return family + "-Oblique"
		}
		return family
	}
}

// stripSubset removes a subset tag ("ABCDEF+") from a font name.
func stripSubset(name string) string {
	if len(name) > 7 && name[6] == '+' {
		for i := 0; i < 6; i++ {
			if name[i] < 'A' || name[i] > 'Z' {
				return name
			}
		}
		return name[7:]
	}
	return name
}

// styleFromName guesses bold and italic from a font name (including TeX's CM/EC names).
func styleFromName(name string) (bold, italic bool) {
	n := strings.ToLower(name)
	for _, w := range []string{"bold", "black", "heavy", "semibold", "demi", "-bd", "extrab"} {
		if strings.Contains(n, w) {
			bold = true
		}
	}
	for _, w := range []string{"italic", "oblique", "-it", "slant"} {
		if strings.Contains(n, w) {
			italic = true
		}
	}
	for _, p := range []string{"cmbx", "cmb", "cmssbx", "ecbx", "ecrb", "cmbsy", "cmmib", "lmroman10-bold"} {
		if strings.HasPrefix(n, p) {
			bold = true
		}
	}
	for _, p := range []string{"cmti", "cmmi", "cmsl", "cmssi", "cmitt", "ecti", "ecsl", "cmbxti", "cmbxsl", "cmmib"} {
		if strings.HasPrefix(n, p) {
			italic = true
		}
	}
	return bold, italic
}

// loadFont prepares a font dictionary (cached per document by object number).
func (d *Document) loadFont(ref types.Object) *font {
	key := fontKey{}
	if ir, ok := ref.(types.IndirectRef); ok {
		key.obj = int(ir.ObjectNumber)
		if f, ok := d.fonts[key]; ok {
			return f
		}
	}
	f := d.buildFont(d.dict(ref))
	if key.obj != 0 {
		d.fonts[key] = f
	}
	return f
}

func (d *Document) buildFont(fd types.Dict) *font {
	f := &font{ascent: 0.95, descent: -0.35, missing: 0, dw: 1, sizeScale: 1, cache: map[uint32]glyph{}}
	if fd == nil {
		f.base = "unknown"
		f.missing = 0.5
		return f
	}
	f.base = stripSubset(d.name(fd["BaseFont"]))
	subtype := d.name(fd["Subtype"])
	desc := d.dict(fd["FontDescriptor"])
	switch subtype {
	case "Type0":
		f.kind = fontType0
		if a := d.array(fd["DescendantFonts"]); len(a) > 0 {
			cid := d.dict(a[0])
			if cid != nil {
				desc = d.dict(cid["FontDescriptor"])
				d.readCIDWidths(f, cid)
			}
		}
		switch enc := d.deref(fd["Encoding"]).(type) {
		case types.Name:
			if strings.HasSuffix(string(enc), "-V") {
				f.vertical = true
			}
			if !strings.HasPrefix(string(enc), "Identity") {
				// Predefined CMaps other than Identity: 2-byte codes (UCS-2 based ones dominate).
				f.encCMap = nil
			}
		case types.StreamDict:
			if data, _, err := d.streamData(fd["Encoding"]); err == nil {
				f.encCMap = parseCMap(data)
				if f.encCMap.wmode == 1 {
					f.vertical = true
				}
			}
		}
	case "Type3":
		f.kind = fontType3
		f.matrix = matrix{0.001, 0, 0, 0.001, 0, 0}
		if m := d.array(fd["FontMatrix"]); len(m) == 6 {
			for i := range m {
				f.matrix[i], _ = d.number(m[i])
			}
		}
		if f.base == "" {
			f.base = "Type3"
		}
	}
	if f.base == "" {
		f.base = "unknown"
	}
	f.bold, f.italic = styleFromName(f.base)
	embedded := false
	var fontFile []byte
	if desc != nil {
		flags, _ := d.number(desc["Flags"])
		fl := int(flags)
		if fl&(1<<6) != 0 {
			f.italic = true
		}
		if fl&(1<<18) != 0 {
			f.bold = true
		}
		if w, ok := d.number(desc["FontWeight"]); ok && w >= 600 {
			f.bold = true
		}
		if a, ok := d.number(desc["ItalicAngle"]); ok && a != 0 && a > -80 && a < 80 {
			f.italic = true
		}
		if a, ok := d.number(desc["Ascent"]); ok {
			t := a / 1000
			if t < 0 {
				t = -t
			}
			if t != 0 && t < 3 {
				f.ascent = t
			}
		}
		if a, ok := d.number(desc["Descent"]); ok {
			t := a / 1000
			if t > 0 {
				t = -t
			}
			if t != 0 && t > -3 {
				f.descent = t
			}
		}
		if w, ok := d.number(desc["MissingWidth"]); ok {
			f.missing = w / 1000
		}
		for _, k := range []string{"FontFile", "FontFile2", "FontFile3"} {
			if desc[k] != nil {
				embedded = true
				if k == "FontFile" && f.kind == fontSimple {
					fontFile, _, _ = d.streamData(desc[k])
				}
			}
		}
	}
	std := ""
	if !embedded && f.kind == fontSimple {
		std = standardFont(f.base)
		if a, ok := stdAscent[std]; ok {
			f.ascent, f.descent = a[0], a[1]
		}
	}
	if tu := fd["ToUnicode"]; tu != nil {
		if data, _, err := d.streamData(tu); err == nil {
			f.toUni = parseCMap(data)
		}
	}
	if f.kind != fontType0 {
		d.readSimpleEncoding(f, fd, desc, fontFile, std)
		d.readSimpleWidths(f, fd, std)
	}
	if f.kind == fontType3 {
		f.sizeScale = type3SizeScale(f)
		if bb := d.array(fd["FontBBox"]); len(bb) == 4 {
			y0, _ := d.number(bb[1])
			y1, _ := d.number(bb[3])
			_, a := f.matrix.apply(0, y1)
			_, de := f.matrix.apply(0, y0)
			if a > 0 && a < 3 && a > de && de > -3 {
				f.ascent, f.descent = a, min(de, 0)
			}
		}
	}
	return f
}

// type3SizeScale estimates how large a Type 3 font looks compared with its nominal size: the
// font size and FontMatrix of Type 3 fonts are arbitrary, so the advance of 'm' (about 0.6 em
// in text fonts) or of any letter (about 0.5 em) tells the real size, as other extractors do.
func type3SizeScale(f *font) float64 {
	k := 1.0
	m, letter, any := -1, -1, -1
	for c := 0; c < 256; c++ {
		name := f.enc[c]
		if name == "" {
			continue
		}
		if name == "m" {
			m = c
		}
		if letter < 0 && len(name) == 1 && (name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
			letter = c
		}
		if any < 0 && f.hasWidth[c] && f.widths[c] > 0 {
			any = c
		}
	}
	switch {
	case m >= 0 && f.widths[m] > 0:
		k = f.widths[m] / 0.6
	case letter >= 0 && f.widths[letter] > 0:
		k = f.widths[letter] / 0.5
	case any >= 0:
		k = f.widths[any] / 0.5
	}
	if f.matrix[0] != 0 {
		k *= math.Abs(f.matrix[3] / f.matrix[0])
	}
	if !finite(k) || k <= 0 || k > 100 {
		return 1
	}
	return k
}

func (d *Document) readCIDWidths(f *font, cid types.Dict) {
	f.cidW = map[uint32]float64{}
	if v, ok := d.number(cid["DW"]); ok {
		f.dw = v / 1000
	}
	w := d.array(cid["W"])
	n := 0
	for i := 0; i < len(w) && n < maxCMapEntries; {
		first, ok := d.number(w[i])
		if !ok || i+1 >= len(w) {
			break
		}
		if arr := d.array(w[i+1]); arr != nil {
			for j, v := range arr {
				x, _ := d.number(v)
				f.cidW[uint32(first)+uint32(j)] = x / 1000
				n++
			}
			i += 2
			continue
		}
		if i+2 >= len(w) {
			break
		}
		last, _ := d.number(w[i+1])
		x, _ := d.number(w[i+2])
		for c := first; c <= last && n < maxCMapEntries; c++ {
			f.cidW[uint32(c)] = x / 1000
			n++
		}
		i += 3
	}
}

func (d *Document) readSimpleEncoding(f *font, fd, desc types.Dict, fontFile []byte, std string) {
	symbolic := false
	if desc != nil {
		flags, _ := d.number(desc["Flags"])
		symbolic = int(flags)&(1<<2) != 0 && int(flags)&(1<<5) == 0
	}
	subtype := d.name(fd["Subtype"])
	var base [256]string
	switch {
	case std == "Symbol":
		base = symbolEncoding
	case std == "ZapfDingbats":
		base = dingbatsEncoding
	case fontFile != nil:
		if e, ok := type1Encoding(fontFile); ok {
			base = e
		} else {
			base = standardEncoding
		}
	case subtype == "TrueType":
		if !symbolic {
			base = winAnsiEncoding
		}
	case subtype == "Type3":
		// Type 3 fonts have no built-in encoding: only Encoding and its Differences name glyphs.
	default:
		base = standardEncoding
	}
	var diffs types.Array
	switch e := d.deref(fd["Encoding"]).(type) {
	case types.Name:
		if t, ok := namedEncoding(string(e)); ok {
			base = t
		}
	case types.Dict:
		if t, ok := namedEncoding(d.name(e["BaseEncoding"])); ok {
			base = t
		}
		diffs = d.array(e["Differences"])
	}
	f.enc = base
	code := 0
	for _, o := range diffs {
		switch v := d.deref(o).(type) {
		case types.Integer:
			code = int(v)
		case types.Float:
			code = int(v)
		case types.Name:
			if code >= 0 && code < 256 {
				f.enc[code] = string(v)
			}
			code++
		}
	}
}

func namedEncoding(n string) ([256]string, bool) {
	switch n {
	case "WinAnsiEncoding":
		return winAnsiEncoding, true
	case "MacRomanEncoding":
		return macRomanEncoding, true
	case "StandardEncoding":
		return standardEncoding, true
	case "PDFDocEncoding":
		return winAnsiEncoding, true
	}
	return [256]string{}, false
}

// type1Encoding reads the built-in encoding ("dup 65 /A put" lines) from the clear-text part
// of an embedded Type 1 font program.
func type1Encoding(prog []byte) ([256]string, bool) {
	var e [256]string
	if i := bytes.Index(prog, []byte("eexec")); i > 0 {
		prog = prog[:i]
	}
	i := bytes.Index(prog, []byte("/Encoding"))
	if i < 0 {
		return e, false
	}
	rest := prog[i+len("/Encoding"):]
	if bytes.HasPrefix(bytes.TrimSpace(rest), []byte("StandardEncoding")) {
		return standardEncoding, true
	}
	l := lexer{b: rest}
	var prev [3]operand
	found := false
	for n := 0; n < 4096; n++ {
		t, ok := l.next()
		if !ok {
			break
		}
		if t.k == kOp && string(t.s) == "put" && prev[0].k == kOp && string(prev[0].s) == "dup" &&
			prev[1].k == kNum && prev[2].k == kName {
			c := int(prev[1].num)
			if c >= 0 && c < 256 {
				e[c] = prev[2].name()
				found = true
			}
		}
		if t.k == kOp && (string(t.s) == "readonly" || string(t.s) == "def") && found {
			break
		}
		prev[0], prev[1], prev[2] = prev[1], prev[2], t
	}
	return e, found
}

func (d *Document) readSimpleWidths(f *font, fd types.Dict, std string) {
	first, _ := d.number(fd["FirstChar"])
	ws := d.array(fd["Widths"])
	scale := 0.001
	if f.kind == fontType3 {
		scale = f.matrix[0]
	}
	for i, o := range ws {
		c := int(first) + i
		if c < 0 || c > 255 {
			continue
		}
		if w, ok := d.number(o); ok {
			f.widths[c] = w * scale
			f.hasWidth[c] = true
		}
	}
	if len(ws) > 0 {
		return
	}
	if std == "" {
		std = standardFont(f.base)
	}
	if std == "" {
		if f.missing == 0 {
			f.missing = 0.5
		}
		return
	}
	for c := 0; c < 256; c++ {
		var w int
		switch std {
		case "Symbol", "ZapfDingbats":
			w, _ = pdffont.CharWidth(std, rune(c))
		default:
			name := f.enc[c]
			if name == "" {
				continue
			}
			w = stdNameWidth(std, name)
		}
		if w > 0 {
			f.widths[c] = float64(w) / 1000
			f.hasWidth[c] = true
		}
	}
}

// stdNameWidth is the width of a named glyph in a standard font (0 if unknown).
func stdNameWidth(std, name string) int {
	switch name {
	case "minus":
		name = "plus" // same advance in all standard Latin fonts
	case "fi", "fl":
		// The standard fonts' ligatures are not in WinAnsi; their widths (equal for fi and fl).
		switch std {
		case "Courier", "Courier-Bold", "Courier-Oblique", "Courier-BoldOblique":
			return 600
		case "Helvetica", "Helvetica-Oblique", "Times-Italic":
			return 500
		case "Helvetica-Bold", "Helvetica-BoldOblique":
			return 611
		case "Times-Roman", "Times-Bold", "Times-BoldItalic":
			return 556
		}
		return 0
	}
	s := glyphToUnicode(name)
	r := []rune(s)
	if len(r) != 1 {
		return 0
	}
	code, ok := winAnsiCode[r[0]]
	if !ok {
		return 0
	}
	w, err := pdffont.CharWidth(std, rune(code))
	if err != nil {
		return 0
	}
	return w
}

// glyph describes a character code of this font.
func (f *font) glyph(code uint32, n int) glyph {
	if g, ok := f.cache[code]; ok {
		return g
	}
	var g glyph
	switch f.kind {
	case fontType0:
		cid := code
		if f.encCMap != nil {
			cid = f.encCMap.cid(code)
		}
		if w, ok := f.cidW[cid]; ok {
			g.width = w
		} else {
			g.width = f.dw
		}
		g.space = n == 1 && code == 32
	default:
		c := code & 0xFF
		if f.hasWidth[c] {
			g.width = f.widths[c]
		} else {
			g.width = f.missing
		}
		g.space = code == 32
	}
	text, ok := "", false
	if f.toUni != nil {
		text, ok = f.toUni.lookupUnicode(code)
	}
	if !ok && f.kind != fontType0 {
		text = glyphToUnicode(f.enc[code&0xFF])
		if text == "" && f.enc[code&0xFF] == "" && code >= 32 && code < 127 && f.kind == fontSimple {
			text = string(rune(code)) // symbolic fonts without an encoding: codes are usually ASCII
		}
	}
	g.text = text
	if len(f.cache) < 1<<16 {
		f.cache[code] = g
	}
	return g
}

// codeLen is the byte length of the next code in s.
func (f *font) codeLen(s []byte) int {
	if f.kind != fontType0 {
		return 1
	}
	return f.encCMap.split(s, 2)
}
