package extract

import (
	"fmt"
	"testing"
)

func TestFontKinds(t *testing.T) {
	type fontCase struct {
		name    string
		font    func(b *pdfBuilder) string // returns the font dictionary (or "N 0 R")
		show    string                     // operand of Tj
		text    string
		width   float64 // expected advance of the word in points at size 10
		bold    bool
		italic  bool
		fontTag string
	}
	tests := []fontCase{
		{name: "standard 14 with Differences and ligatures",
			font: func(b *pdfBuilder) string {
				return "<< /Type /Font /Subtype /Type1 /BaseFont /Times-Bold /Encoding << /BaseEncoding /WinAnsiEncoding /Differences [1 /fi /fl 3 /Eacute] >> >>"
			},
			show: `(\001x\002\003)`, text: "fixflÉ", width: 10 * (0.556 + 0.5 + 0.556 + 0.667), bold: true, fontTag: "Times-Bold"},
		{name: "simple font with Widths and ToUnicode (bfchar, bfrange)",
			font: func(b *pdfBuilder) string {
				cm := b.stream("", []byte("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <00> <FF> endcodespacerange\n2 beginbfchar <41> <0048> <42> <FB01> endbfchar\n1 beginbfrange <43> <45> <0061> endbfrange\n1 beginbfrange <46> <47> [<00E9> <006F0301>] endbfrange\nendcmap end end"))
				return fmt.Sprintf("<< /Type /Font /Subtype /TrueType /BaseFont /ABCDEF+Foo-Italic /FirstChar 65 /LastChar 71 /Widths [600 500 400 400 400 300 300] /ToUnicode %d 0 R >>", cm)
			},
			show: "(ABCDEFG)", text: "Hfiabcéo\u0301", width: 10 * (0.6 + 0.5 + 0.4*3 + 0.3*2), italic: true, fontTag: "Foo-Italic"},
		{name: "TrueType WinAnsi without ToUnicode",
			font: func(b *pdfBuilder) string {
				desc := b.add("<< /Type /FontDescriptor /FontName /Arial-BoldMT /Flags 32 /FontWeight 700 /Ascent 900 /Descent -200 /MissingWidth 250 >>")
				return fmt.Sprintf("<< /Type /Font /Subtype /TrueType /BaseFont /Arial-BoldMT /Encoding /WinAnsiEncoding /FirstChar 233 /LastChar 233 /Widths [556] /FontDescriptor %d 0 R >>", desc)
			},
			show: `(\351t\351)`, text: "été", width: 10 * (0.556 + 0.25 + 0.556), bold: true, fontTag: "Arial-BoldMT"},
		{name: "Type0 Identity-H with W, DW and multi-byte ToUnicode",
			font: func(b *pdfBuilder) string {
				cm := b.stream("", []byte("begincmap\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n1 beginbfchar <0001> <0048> endbfchar\n2 beginbfrange <0002> <0002> <0049> <000A> <0014> <0061> endbfrange\nendcmap"))
				cid := b.add("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /XYZABC+Noto /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 1000 /W [1 [600 700] 10 20 500] >>")
				return fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /XYZABC+Noto /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>", cid, cm)
			},
			show: "<00010002000A000B>", text: "HIab", width: 10 * (0.6 + 0.7 + 0.5 + 0.5), fontTag: "Noto"},
		{name: "Type0 with an embedded CMap (1- and 2-byte codes, cidrange)",
			font: func(b *pdfBuilder) string {
				enc := b.stream("/Type /CMap /CMapName /Test", []byte("begincmap\n2 begincodespacerange <00> <7F> <8000> <FFFF> endcodespacerange\n1 begincidrange <20> <7E> 100 endcidrange\n1 begincidchar <8140> 7 endcidchar\nendcmap"))
				cm := b.stream("", []byte("begincmap\n2 begincodespacerange <00> <7F> <8000> <FFFF> endcodespacerange\n1 beginbfrange <41> <43> <0041> endbfrange\n1 beginbfchar <8140> <3042> endbfchar\nendcmap"))
				cid := b.add("<< /Type /Font /Subtype /CIDFontType0 /BaseFont /KozMin /DW 1000 /W [133 135 500] >>")
				return fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /KozMin /Encoding %d 0 R /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>", enc, cid, cm)
			},
			show: "<41814042>", text: "AあB", width: 10 * (0.5 + 1 + 0.5), fontTag: "KozMin"},
		{name: "Type3 with FontMatrix",
			font: func(b *pdfBuilder) string {
				glyph := b.stream("", []byte("50 0 0 0 40 70 d1 0 0 40 70 re f"))
				return fmt.Sprintf("<< /Type /Font /Subtype /Type3 /FontBBox [0 0 40 70] /FontMatrix [0.01 0 0 0.01 0 0] /CharProcs << /a %d 0 R /b %d 0 R >> /Encoding << /Type /Encoding /Differences [97 /a /b] >> /FirstChar 97 /LastChar 98 /Widths [50 80] /Resources << >> >>", glyph, glyph)
			},
			show: "(abba)", text: "abba", width: 10 * (0.5 + 0.8 + 0.8 + 0.5), fontTag: "Type3"},
		{name: "embedded Type1 with its built-in encoding",
			font: func(b *pdfBuilder) string {
				prog := b.stream("/Length1 200 /Length2 0 /Length3 0", []byte("%!PS-AdobeFont-1.0: CMR10\n/FontName /CMR10 def\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\ndup 65 /Aring put\ndup 66 /germandbls put\ndup 67 /ffi put\nreadonly def\ncurrentfile eexec\n"))
				desc := b.add(fmt.Sprintf("<< /Type /FontDescriptor /FontName /QWERTY+CMR10 /Flags 4 /Ascent 700 /Descent -200 /ItalicAngle 0 /FontFile %d 0 R >>", prog))
				return fmt.Sprintf("<< /Type /Font /Subtype /Type1 /BaseFont /QWERTY+CMR10 /FirstChar 65 /LastChar 67 /Widths [750 500 833] /FontDescriptor %d 0 R >>", desc)
			},
			show: "(ABC)", text: "Åßffi", width: 10 * (0.75 + 0.5 + 0.833), fontTag: "CMR10"},
		{name: "bold and italic from TeX names",
			font: func(b *pdfBuilder) string {
				return "<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+CMBXTI10 /FirstChar 120 /LastChar 120 /Widths [600] >>"
			},
			show: "(x)", text: "x", width: 6, bold: true, italic: true, fontTag: "CMBXTI10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b pdfBuilder
			font := b.add(tc.font(&b))
			p := mustPage(t, b.document(testPage{resources: fmt.Sprintf("/Font << /F1 %d 0 R >>", font),
				content: "BT /F1 10 Tf 100 700 Td " + tc.show + " Tj ET"}), 1)
			if len(p.Words) != 1 {
				t.Fatalf("words %q, want one word %q", wordTexts(p), tc.text)
			}
			w := p.Words[0]
			if w.Text != tc.text {
				t.Errorf("text %q, want %q", w.Text, tc.text)
			}
			if !near(w.BBox.X0, 100, 1e-6) || !near(w.BBox.Width(), tc.width, 1e-6) {
				t.Errorf("box %v: x0 %v width %v, want 100 and %v", w.BBox, w.BBox.X0, w.BBox.Width(), tc.width)
			}
			if w.Bold != tc.bold || w.Italic != tc.italic || w.Font != tc.fontTag {
				t.Errorf("font %q bold %v italic %v, want %q %v %v", w.Font, w.Bold, w.Italic, tc.fontTag, tc.bold, tc.italic)
			}
		})
	}
}

func TestGlyphNames(t *testing.T) {
	tests := map[string]string{
		"A": "A", "fi": "fi", "ffl": "ffl", "uni00E9": "é", "uni0066006C": "fl", "u1F600": "😀",
		"f_f_i": "ffi", "a.sc": "a", "Eacute.alt": "É", "a65": "A", "g51": "3", "minus": "−",
		"summationdisplay": "∑", "nosuchglyph": "", "a27": "ff",
	}
	for name, want := range tests {
		if got := glyphToUnicode(name); got != want {
			t.Errorf("glyphToUnicode(%q) = %q, want %q", name, got, want)
		}
	}
}
