// Package hostile generates the hostile-input corpus: small PDFs that once crashed, hung or
// exhausted a build (pages without text, NaN and huge page boxes, lying page counts, bombs,
// recursive forms, broken fonts and CMaps, truncation, bit flips, encryption), and long books
// for the memory benchmark. Everything is generated (no downloads) and deterministic.
//
//	go run ./internal/hostile/gen -out DIR          # the corpus, one file per case
//	go run ./internal/hostile/gen -book 5000 -out F # a 5,000-page book
package hostile

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Case is one hostile document.
type Case struct {
	Name  string // file name without .pdf
	Class string // what it attacks: crash, limit, corrupt, encrypted, bomb, …
	Data  []byte
}

// builder writes PDFs object by object with a cross-reference table.
type builder struct{ objs [][]byte }

func (b *builder) add(body string) int {
	b.objs = append(b.objs, []byte(body))
	return len(b.objs)
}

func (b *builder) reserve() int { return b.add("null") }

func (b *builder) set(n int, body string) { b.objs[n-1] = []byte(body) }

func (b *builder) stream(dict string, data []byte) int {
	var o bytes.Buffer
	fmt.Fprintf(&o, "<< %s /Length %d >>\nstream\n", dict, len(data))
	o.Write(data)
	o.WriteString("\nendstream")
	b.objs = append(b.objs, o.Bytes())
	return len(b.objs)
}

func (b *builder) flate(dict string, data []byte) int {
	return b.stream(dict+" /Filter /FlateDecode", Deflate(data))
}

// Deflate is zlib at the best compression (bombs shrink most).
func Deflate(data []byte) []byte {
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	w.Write(data)
	w.Close()
	return z.Bytes()
}

// deflateZeros compresses n zero bytes without holding them.
func deflateZeros(n int64) []byte {
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		w.Write(chunk[:k])
		n -= k
	}
	w.Close()
	return z.Bytes()
}

func (b *builder) bytes(root int) []byte {
	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(b.objs))
	for i, o := range b.objs {
		offs[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n", i+1)
		out.Write(o)
		out.WriteString("\nendobj\n")
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(b.objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(b.objs)+1, root, xref)
	return out.Bytes()
}

// page is one page of a generated document.
type page struct {
	content   string
	resources string // inside of the Resources dictionary; Helvetica as /F1 when empty
	box       string // MediaBox array; [0 0 612 792] when empty
	extra     string // more page dictionary entries
	contents  int    // a ready Contents object instead of content
}

const helvetica = "/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >> >>"

// document writes a PDF of pages; count overrides the root /Count when non-zero.
func (b *builder) document(count int, pages ...page) []byte {
	pagesObj := b.reserve()
	var kids strings.Builder
	for _, p := range pages {
		c := p.contents
		if c == 0 {
			c = b.stream("", []byte(p.content))
		}
		res, box := p.resources, p.box
		if res == "" {
			res = helvetica
		}
		if box == "" {
			box = "[0 0 612 792]"
		}
		pg := b.add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox %s /Resources << %s >> /Contents %d 0 R %s >>",
			pagesObj, box, res, c, p.extra))
		fmt.Fprintf(&kids, "%d 0 R ", pg)
	}
	if count == 0 {
		count = len(pages)
	}
	b.set(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), count))
	root := b.add(fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj))
	return b.bytes(root)
}

// text is a content-stream fragment writing lines of Helvetica from (x, y) downwards.
func text(x, y, size float64, lines ...string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "BT /F1 %g Tf %g TL %g %g Td\n", size, size*1.2, x, y)
	for _, l := range lines {
		l = strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l)
		fmt.Fprintf(&s, "(%s) Tj T*\n", l)
	}
	s.WriteString("ET\n")
	return s.String()
}

// body is a paragraph of body text for a page at 10 pt.
func body(x, y float64, n int) string {
	var ls []string
	for i := range n {
		ls = append(ls, fmt.Sprintf("Body text line %d of a generated page, long enough to read as a column of prose.", i+1))
	}
	return text(x, y, 10, ls...)
}

// figurePage is a letter page with body text, a vector figure (boxes and lines) and its
// caption "Figure n.": what layout finds as one figure.
func figurePage(n int) string {
	var s strings.Builder
	s.WriteString(body(72, 740, 6))
	s.WriteString("q 0 0 0 RG 1 w 100 400 m 500 400 l 500 640 l 100 640 l h S\n")
	s.WriteString("0.2 0.4 0.8 rg 130 420 60 150 re f 220 420 60 200 re f 310 420 60 90 re f 400 420 60 180 re f\n")
	s.WriteString("100 400 m 100 640 l S 100 400 m 500 400 l S Q\n")
	s.WriteString(text(72, 380, 9, fmt.Sprintf("Figure %d. Bar chart of four generated groups, drawn with vector paths for the test.", n)))
	s.WriteString(body(72, 340, 12))
	return s.String()
}

// Corpus returns every hostile case. Bombs stay small on disk (kilobytes to a megabyte).
func Corpus() []Case {
	var cs []Case
	add := func(name, class string, data []byte) { cs = append(cs, Case{Name: name, Class: class, Data: data}) }
	doc := func(count int, pages ...page) []byte { var b builder; return b.document(count, pages...) }

	// Pages without text at all: layout's statistics see no line.
	add("blank_page", "crash", doc(0, page{content: ""}))
	add("vector_only", "crash", doc(0, page{content: "0 0 1 rg 100 100 300 300 re f 0 G 50 50 m 500 700 l S"}))
	{
		var b builder
		img := b.flate("/Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 8", bytes.Repeat([]byte{0x80}, 64*64))
		add("image_only", "crash", b.document(0, page{content: "q 200 0 0 200 100 300 cm /Im Do Q", resources: fmt.Sprintf("/XObject << /Im %d 0 R >>", img)}))
	}
	{
		var b builder
		img := b.flate("/Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 8", bytes.Repeat([]byte{0xff}, 64*64))
		add("blank_scan", "crash", b.document(0, page{content: "q 612 0 0 792 0 0 cm /Im Do Q", resources: fmt.Sprintf("/XObject << /Im %d 0 R >>", img)}))
	}
	add("nan_mediabox", "crash", doc(0, page{content: figurePage(1), box: "[0 0 nan 792]"}))
	add("inf_mediabox", "crash", doc(0, page{content: figurePage(1), box: "[0 0 1e400 792]"}))
	add("empty_mediabox", "crash", doc(0, page{content: figurePage(1), box: "[0 0 0 0]"}))
	add("inline_unterminated", "crash", doc(0, page{content: "BT /F1 10 Tf 72 700 Td (Before) Tj ET BI /W 100 /H 100 /CS /G /BPC 8 ID " + strings.Repeat("\x00\x01", 200)}))
	add("inline_unterminated_only", "crash", doc(0, page{content: "BI /W 100 /H 100 /CS /G /BPC 8 ID \x00\x01\x02"}))
	{
		var b builder
		self := b.reserve()
		b.set(self, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /Loop /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>", self, self))
		add("type0_self_reference", "crash", b.document(0, page{content: "BT /F2 12 Tf 72 700 Td <00410042> Tj ET", resources: fmt.Sprintf("/Font << /F2 %d 0 R >>", self)}))
	}
	{
		var b builder
		a, c := b.reserve(), b.reserve()
		b.set(a, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /A /Encoding %d 0 R /DescendantFonts [%d 0 R] >>", c, a))
		b.set(c, fmt.Sprintf("<< /Type /CMap /UseCMap %d 0 R >>", c))
		add("type0_cycle", "crash", b.document(0, page{content: "BT /F2 12 Tf 72 700 Td <0041> Tj ET", resources: fmt.Sprintf("/Font << /F2 %d 0 R >>", a)}))
	}

	// Huge pages: a render at 200 dpi would need tens of gigabytes.
	add("huge_mediabox", "limit", doc(0, page{content: figurePage(1), box: "[0 0 14400 14400]"}))
	add("userunit_100", "limit", doc(0, page{content: figurePage(1), extra: "/UserUnit 100"}))
	add("userunit_nan", "crash", doc(0, page{content: figurePage(1), extra: "/UserUnit nan"}))
	{
		// A scanned page of 20000 × 20000 pixels (Flate, 1 bit), too many to decode or render.
		var b builder
		const side = 20000
		img := b.stream("/Type /XObject /Subtype /Image /Width 20000 /Height 20000 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode", deflateZeros(side*side/8))
		add("scan_20000px", "limit", b.document(0, page{content: "q 14400 0 0 14400 0 0 cm /Im Do Q", box: "[0 0 14400 14400]", resources: fmt.Sprintf("/XObject << /Im %d 0 R >>", img)}))
	}

	// Page counts that lie.
	add("count_2e9", "limit", doc(2_000_000_000, page{content: figurePage(1)}))
	add("count_1e6", "limit", doc(1_000_000, page{content: figurePage(1)}))
	{
		var b builder
		pagesObj := b.reserve()
		b.set(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 2 >>", pagesObj, pagesObj))
		root := b.add(fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj))
		add("page_tree_cycle", "corrupt", b.bytes(root))
	}

	// Decompression bombs: decoded sizes far beyond the file.
	{
		var b builder
		c := b.stream("/Filter /FlateDecode", deflateZeros(250<<20))
		add("flate_bomb_content", "bomb", b.document(0, page{contents: c}))
	}
	{
		var b builder
		// Spaces decode to nothing for the interpreter but cost the decoder: 200 MB.
		var z bytes.Buffer
		w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
		chunk := bytes.Repeat([]byte("0 0 m "), 1<<18)
		for range 200 << 20 / len(chunk) {
			w.Write(chunk)
		}
		w.Close()
		c := b.stream("/Filter /FlateDecode", z.Bytes())
		add("flate_bomb_operators", "bomb", b.document(0, page{contents: c}))
	}
	{
		var b builder
		img := b.stream("/Type /XObject /Subtype /Image /Width 10000 /Height 10000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode", deflateZeros(10000*10000*3))
		add("flate_bomb_image", "bomb", b.document(0, page{content: figurePage(1) + "q 400 0 0 230 100 405 cm /Im Do Q", resources: helvetica + fmt.Sprintf(" /XObject << /Im %d 0 R >>", img)}))
	}
	{
		// Many streams each under the stream limit: the document total is what trips.
		var b builder
		var pages []page
		z := deflateZeros(40 << 20)
		for range 40 {
			c := b.stream("/Filter /FlateDecode", z)
			pages = append(pages, page{contents: c})
		}
		add("flate_bomb_many", "bomb", b.document(0, pages...))
	}

	// Recursive and exponential Form XObjects.
	{
		var b builder
		f := b.reserve()
		b.set(f, string(formObj(fmt.Sprintf("/Resources << /XObject << /Fm %d 0 R >> >>", f), "0 0 10 10 re f /Fm Do")))
		add("form_self", "crash", b.document(0, page{content: "/Fm Do", resources: fmt.Sprintf("/XObject << /Fm %d 0 R >>", f)}))
	}
	{
		var b builder
		prev := b.add(string(formObj("", "0 0 1 1 re f")))
		for range 30 {
			prev = b.add(string(formObj(fmt.Sprintf("/Resources << /XObject << /X %d 0 R >> >>", prev), strings.Repeat("/X Do ", 10))))
		}
		add("form_exponential", "bomb", b.document(0, page{content: "/X Do", resources: fmt.Sprintf("/XObject << /X %d 0 R >>", prev)}))
	}

	// Broken CMaps and fonts.
	{
		var b builder
		cm := b.stream("", []byte("/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <00> <FF> endcodespacerange "+
			"1 beginbfrange <0000> <FFFF> <0041> endbfrange 2 beginbfchar <41> <D800DC00DC00> <42 endbfchar 1 beginbfrange <FFFFFFFF> <00000000> [<0041> <0042>] endbfrange"))
		f := b.add(fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode %d 0 R >>", cm))
		add("cmap_broken", "corrupt", b.document(0, page{content: "BT /F2 12 Tf 72 700 Td (ABCABC) Tj ET" + figurePage(1), resources: fmt.Sprintf("/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> /F2 %d 0 R >>", f)}))
	}
	{
		var b builder
		cm := b.flate("", bytes.Repeat([]byte("1 beginbfrange <00000000> <FFFFFFFF> <0041> endbfrange\n"), 20000))
		f := b.add(fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /Big /Encoding /Identity-H /DescendantFonts [<< /Subtype /CIDFontType2 >>] /ToUnicode %d 0 R >>", cm))
		add("cmap_huge_ranges", "bomb", b.document(0, page{content: "BT /F2 12 Tf 72 700 Td <00410042> Tj ET", resources: fmt.Sprintf("/Font << /F2 %d 0 R >>", f)}))
	}
	{
		var b builder
		enc := b.add("<< /Type /Encoding /Differences [0 /a 99999999 /b -5 /c] >>")
		f := b.add(fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding %d 0 R /Widths [1 2 3] /FirstChar -100 /LastChar 1000000 >>", enc))
		add("font_bad_encoding", "corrupt", b.document(0, page{content: "BT /F2 12 Tf 72 700 Td (abc) Tj ET", resources: fmt.Sprintf("/Font << /F2 %d 0 R >>", f)}))
	}
	{
		var b builder
		f := b.add("<< /Type /Font /Subtype /Type3 /FontMatrix [0 0 0 0 0 0] /FontBBox [0 0 0 0] /CharProcs << /a 999 0 R >> /Encoding << /Differences [97 /a] >> /FirstChar 97 /LastChar 97 /Widths [1e300] >>")
		add("type3_degenerate", "crash", b.document(0, page{content: "BT /F2 1e30 Tf 1e30 0 0 1e30 0 0 Tm (aaaa) Tj ET", resources: fmt.Sprintf("/Font << /F2 %d 0 R >>", f)}))
	}
	add("matrix_nan", "crash", doc(0, page{content: "nan 0 0 nan 0 0 cm BT /F1 10 Tf 72 700 Td (Figure 1. Not a number.) Tj ET 0 0 100 100 re f"}))
	add("matrix_huge", "crash", doc(0, page{content: "1e38 0 0 1e38 0 0 cm 0 0 1 1 re f BT /F1 1e38 Tf (Figure 1. Huge.) Tj ET"}))
	add("operators_garbage", "corrupt", doc(0, page{content: strings.Repeat("] >> } ( BT Tj ET [ << { ", 2000)}))

	// Damaged files: truncation, bit flips, encryption, garbage.
	good := doc(0, page{content: figurePage(1)}, page{content: figurePage(2)})
	add("truncated_half", "corrupt", good[:len(good)/2])
	add("truncated_header", "corrupt", good[:20])
	rng := rand.New(rand.NewPCG(16, 16))
	for k := range 4 {
		flipped := bytes.Clone(good)
		for range 40 {
			i := rng.IntN(len(flipped))
			flipped[i] ^= 1 << rng.IntN(8)
		}
		add(fmt.Sprintf("bitflip_%d", k), "corrupt", flipped)
	}
	add("no_xref_garbage", "corrupt", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("obj << /Type /Page >> endobj\n"), 100)...))
	add("empty_file", "corrupt", nil)
	if enc, err := encrypt(good, "secret"); err == nil {
		add("encrypted_password", "encrypted", enc)
	}
	return cs
}

// formObj is a Form XObject with the given extra dictionary entries and content.
func formObj(dict, content string) []byte {
	return []byte(fmt.Sprintf("<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] %s /Length %d >>\nstream\n%s\nendstream", dict, len(content), content))
}

// encrypt encrypts a PDF with a user password (AES-256, pdfcpu).
func encrypt(pdf []byte, pw string) ([]byte, error) {
	conf := model.NewAESConfiguration(pw, pw+"-owner", 256)
	conf.Offline = true
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(pdf), &out, conf); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// GoodDocument is a two-page document with one vector figure on each page, drawn unlike the
// hostile cases' bar charts (so that deduplication never takes a hostile copy for it): what
// the corpus is mixed with when no real PDFs are at hand.
func GoodDocument() []byte {
	var b builder
	return b.document(0, page{content: drawingPage(1, 0)}, page{content: drawingPage(2, 1)})
}

// drawingPage is a page with body text and a figure of crossing lines (style 0) or
// concentric diamonds (style 1) above its caption.
func drawingPage(n, style int) string {
	var s strings.Builder
	s.WriteString(body(72, 740, 6))
	s.WriteString("q 0 0 0 RG 2 w 100 400 m 500 400 l 500 640 l 100 640 l h S\n")
	switch style {
	case 0:
		for k := 0; k < 12; k++ {
			fmt.Fprintf(&s, "%d 0 0 RG 110 %d m 490 %d l S\n", k%2, 410+k*18, 630-k*18)
		}
	default:
		for k := 1; k <= 6; k++ {
			r := k * 18
			fmt.Fprintf(&s, "0 0.5 0 RG 300 %d m %d 520 l 300 %d l %d 520 l h S\n", 520+r, 300+r, 520-r, 300-r)
		}
		s.WriteString("0.8 0.1 0.1 rg 280 500 40 40 re f\n")
	}
	s.WriteString("Q\n")
	s.WriteString(text(72, 380, 9, fmt.Sprintf("Figure %d. A generated drawing of distinct lines and shapes, unlike any other figure here.", n)))
	s.WriteString(body(72, 340, 12))
	return s.String()
}

// WriteBook writes a pages-long book to w without holding it: body text on every page and a
// captioned vector figure on every figureEvery-th page (none when 0). Objects are written as
// they are made; only their offsets are kept.
func WriteBook(w io.Writer, pages, figureEvery int) error {
	cw := &countWriter{w: w}
	var offs []int64
	obj := func(body string) int {
		offs = append(offs, cw.n)
		fmt.Fprintf(cw, "%d 0 obj\n%s\nendobj\n", len(offs), body)
		return len(offs)
	}
	fmt.Fprint(cw, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	// Objects 1 (catalog) and 2 (page tree) are fixed; the page tree comes last.
	offs = append(offs, 0, 0)
	font := obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	kids := make([]int, 0, pages)
	for i := 1; i <= pages; i++ {
		var s string
		if figureEvery > 0 && i%figureEvery == 0 {
			s = figurePage(i / figureEvery)
		} else {
			s = body(72, 740, 50)
		}
		s += text(300, 40, 9, fmt.Sprint(i))
		z := Deflate([]byte(s))
		offs = append(offs, cw.n)
		fmt.Fprintf(cw, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", len(offs), len(z))
		cw.Write(z)
		fmt.Fprint(cw, "\nendstream\nendobj\n")
		c := len(offs)
		kids = append(kids, obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", font, c)))
	}
	offs[0] = cw.n
	fmt.Fprint(cw, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	offs[1] = cw.n
	var ks strings.Builder
	for _, k := range kids {
		fmt.Fprintf(&ks, "%d 0 R ", k)
	}
	fmt.Fprintf(cw, "2 0 obj\n<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n", ks.String(), pages)
	xref := cw.n
	fmt.Fprintf(cw, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, off := range offs {
		fmt.Fprintf(cw, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(cw, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
