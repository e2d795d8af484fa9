package extract

import (
	"strings"
	"testing"
)

// Helvetica advances (1/1000 em) used below: H 722, e 556, l 222, o 556, a 556, b 556,
// space 278. Ascent 0.718, descent -0.207.
const helloW = 2.278 // "Hello" in em

func TestTextOperators(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []Word // text and box (Font and sizes checked separately)
	}{
		{"Tf Td Tj", "BT /F1 12 Tf 100 700 Td (Hello) Tj ET",
			[]Word{{Text: "Hello", BBox: Rect{100, 92 - 8.616, 100 + 12*helloW, 92 + 2.484}}}},
		{"TJ kerning splits words", "BT /F1 12 Tf 100 700 Td [(Hel) -1000 (lo)] TJ ET",
			[]Word{{Text: "Hel", BBox: Rect{100, 83.384, 118, 94.484}}, {Text: "lo", BBox: Rect{130, 83.384, 130 + 12*0.778, 94.484}}}},
		{"TJ small kern keeps word", "BT /F1 12 Tf 100 700 Td [(Hel) 50 (lo)] TJ ET",
			[]Word{{Text: "Hello", BBox: Rect{100, 83.384, 100 + 12*helloW - 0.6, 94.484}}}},
		{"Tc small", "BT /F1 12 Tf 0.5 Tc 100 700 Td (ab) Tj ET",
			[]Word{{Text: "ab", BBox: Rect{100, 83.384, 100 + 6.672 + 0.5 + 6.672, 94.484}}}},
		{"Tc letter-spaced word stays one word", "BT /F1 12 Tf 2 Tc 100 700 Td (ab) Tj ET",
			[]Word{{Text: "ab", BBox: Rect{100, 83.384, 115.344, 94.484}}}},
		{"gap splits words", "BT /F1 12 Tf 100 700 Td (ab) Tj 20 0 Td (ab) Tj ET",
			[]Word{{Text: "ab", BBox: Rect{100, 83.384, 113.344, 94.484}}, {Text: "ab", BBox: Rect{120, 83.384, 133.344, 94.484}}}},
		{"backward jump splits words", "BT /F1 12 Tf 100 700 Td (ab) Tj 4 0 Td (ab) Tj ET",
			[]Word{{Text: "ab", BBox: Rect{100, 83.384, 113.344, 94.484}}, {Text: "ab", BBox: Rect{104, 83.384, 117.344, 94.484}}}},
		{"Tw widens spaces", "BT /F1 12 Tf 10 Tw 100 700 Td (a b) Tj ET",
			[]Word{{Text: "a", BBox: Rect{100, 83.384, 106.672, 94.484}}, {Text: "b", BBox: Rect{120.008, 83.384, 126.68, 94.484}}}},
		{"Tz scales horizontally", "BT /F1 12 Tf 50 Tz 100 700 Td (Hello) Tj ET",
			[]Word{{Text: "Hello", BBox: Rect{100, 83.384, 100 + 6*helloW, 94.484}}}},
		{"TL and T*", "BT /F1 12 Tf 14 TL 100 700 Td (a) Tj T* (b) Tj ET",
			[]Word{{Text: "a", BBox: Rect{100, 83.384, 106.672, 94.484}}, {Text: "b", BBox: Rect{100, 97.384, 106.672, 108.484}}}},
		{"quote operator", "BT /F1 12 Tf 14 TL 100 700 Td (a) Tj (b) ' ET",
			[]Word{{Text: "a", BBox: Rect{100, 83.384, 106.672, 94.484}}, {Text: "b", BBox: Rect{100, 97.384, 106.672, 108.484}}}},
		{"double quote operator", "BT /F1 12 Tf 14 TL 100 700 Td (a) Tj 10 0 (a b) \" ET",
			[]Word{{Text: "a", BBox: Rect{100, 83.384, 106.672, 94.484}}, {Text: "a", BBox: Rect{100, 97.384, 106.672, 108.484}},
				{Text: "b", BBox: Rect{120.008, 97.384, 126.68, 108.484}}}},
		{"TD sets leading", "BT /F1 12 Tf 100 720 Td 0 -20 TD (a) Tj T* (b) Tj ET",
			[]Word{{Text: "a", BBox: Rect{100, 83.384, 106.672, 94.484}}, {Text: "b", BBox: Rect{100, 103.384, 106.672, 114.484}}}},
		{"Ts raises", "BT /F1 12 Tf 5 Ts 100 700 Td (a) Tj ET",
			[]Word{{Text: "a", BBox: Rect{100, 78.384, 106.672, 89.484}}}},
		{"Tm positions and scales", "BT /F1 6 Tf 2 0 0 2 100 700 Tm (Hello) Tj ET",
			[]Word{{Text: "Hello", BBox: Rect{100, 83.384, 100 + 12*helloW, 94.484}}}},
		{"cm scales text", "2 0 0 2 0 0 cm BT /F1 6 Tf 50 350 Td (Hello) Tj ET",
			[]Word{{Text: "Hello", BBox: Rect{100, 92 - 8.616, 100 + 12*helloW, 92 + 2.484}}}},
		{"q Q restores CTM", "q 2 0 0 2 0 0 cm Q BT /F1 12 Tf 100 700 Td (Hello) Tj ET",
			[]Word{{Text: "Hello", BBox: Rect{100, 83.384, 100 + 12*helloW, 94.484}}}},
		{"escapes in strings", `BT /F1 12 Tf 100 700 Td (\(a\)\101) Tj ET`,
			[]Word{{Text: "(a)A", BBox: Rect{100, 83.384, 100 + 12*(0.333+0.556+0.333+0.667), 94.484}}}},
		{"hex strings", "BT /F1 12 Tf 100 700 Td <48656C6C6F> Tj ET",
			[]Word{{Text: "Hello", BBox: Rect{100, 83.384, 100 + 12*helloW, 94.484}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b pdfBuilder
			p := mustPage(t, b.document(testPage{content: tc.content, resources: helvetica}), 1)
			if len(p.Words) != len(tc.want) {
				t.Fatalf("words %q, want %d words", wordTexts(p), len(tc.want))
			}
			for i, w := range tc.want {
				got := p.Words[i]
				if got.Text != w.Text || !nearRect(got.BBox, w.BBox, 0.01) {
					t.Errorf("word %d = %q %v, want %q %v", i, got.Text, got.BBox, w.Text, w.BBox)
				}
				if got.Font != "Helvetica" || got.Bold || got.Italic {
					t.Errorf("word %d font %q bold %v italic %v", i, got.Font, got.Bold, got.Italic)
				}
			}
		})
	}
}

func TestRenderModeAndSize(t *testing.T) {
	var b pdfBuilder
	p := mustPage(t, b.document(testPage{resources: helvetica,
		content: "BT /F1 10 Tf 3 Tr 100 700 Td (hidden) Tj 0 Tr 0 -20 Td (shown) Tj ET BT /F1 5 Tf 0 3 -3 0 300 300 Tm (up) Tj ET"}), 1)
	if len(p.Words) != 3 {
		t.Fatalf("words %q", wordTexts(p))
	}
	if !p.Words[0].Invisible() || p.Words[0].RenderMode != 3 || p.Words[1].Invisible() {
		t.Errorf("render modes %d %d", p.Words[0].RenderMode, p.Words[1].RenderMode)
	}
	if !near(p.Words[0].Size, 10, 1e-9) || !near(p.Words[2].Size, 15, 1e-9) {
		t.Errorf("sizes %v %v, want 10 and 15 (5 pt through a 3× rotated Tm)", p.Words[0].Size, p.Words[2].Size)
	}
	// The rotated word runs upwards: its box is tall and narrow.
	if w := p.Words[2].BBox; w.Height() < w.Width() {
		t.Errorf("rotated word box %v is not vertical", w)
	}
}

func TestPageGeometry(t *testing.T) {
	content := "BT /F1 12 Tf 100 700 Td (Hello) Tj ET"
	tests := []struct {
		name  string
		extra string
		w, h  float64
		rot   int
		want  Rect
	}{
		{"plain", "", 612, 792, 0, Rect{100, 83.384, 127.336, 94.484}},
		{"cropbox", "/CropBox [50 50 562 742]", 512, 692, 0, Rect{50, 33.384, 77.336, 44.484}},
		{"rotate 90", "/Rotate 90", 792, 612, 90, Rect{697.516, 100, 708.616, 127.336}},
		{"rotate 180", "/Rotate 180", 612, 792, 180, Rect{612 - 127.336, 700 - 2.484, 512, 708.616}},
		{"rotate 270", "/Rotate -90", 792, 612, 270, Rect{792 - 708.616, 612 - 127.336, 792 - 697.516, 512}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b pdfBuilder
			p := mustPage(t, b.document(testPage{content: content, resources: helvetica, extra: tc.extra}), 1)
			if p.Width != tc.w || p.Height != tc.h || p.Rotation != tc.rot {
				t.Errorf("page %v × %v rot %d, want %v × %v rot %d", p.Width, p.Height, p.Rotation, tc.w, tc.h, tc.rot)
			}
			if len(p.Words) != 1 || p.Words[0].Text != "Hello" || !nearRect(p.Words[0].BBox, tc.want, 0.01) {
				t.Fatalf("words %+v, want Hello at %v", p.Words, tc.want)
			}
		})
	}
}

func TestLines(t *testing.T) {
	var b pdfBuilder
	p := mustPage(t, b.document(testPage{resources: helvetica, content: `BT /F1 10 Tf 14 TL 72 700 Td
(The first line) Tj T* (and the second) Tj T* T* (Figure 1: a caption) Tj ET
BT /F1 6 Tf 155 662 Td (2) Tj ET`}), 1)
	var got []string
	for _, l := range p.Lines {
		got = append(got, l.Text)
	}
	want := []string{"The first line", "and the second", "Figure 1: a caption 2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q, want %q", got, want)
	}
	for li, l := range p.Lines {
		for _, wi := range l.Words {
			if p.Words[wi].Line != li {
				t.Errorf("word %q has line %d, want %d", p.Words[wi].Text, p.Words[wi].Line, li)
			}
		}
		if l.Size != 10 || l.Font != "Helvetica" {
			t.Errorf("line %q size %v font %q", l.Text, l.Size, l.Font)
		}
	}
}

func TestRotatedLines(t *testing.T) {
	var b pdfBuilder
	// A y-axis label written bottom to top, as plotting programs do, beside upright text.
	p := mustPage(t, b.document(testPage{resources: helvetica, content: `BT /F1 10 Tf 0 1 -1 0 50 300 Tm (Survival) Tj ( probability) Tj ET
BT /F1 10 Tf 100 300 Td (upright words) Tj ET`}), 1)
	var got []string
	for _, l := range p.Lines {
		got = append(got, l.Text)
	}
	if strings.Join(got, "|") != "Survival probability|upright words" {
		t.Fatalf("lines %q", got)
	}
	if d := p.Words[0].Direction(); d != 3 {
		t.Errorf("direction %d, want 3 (bottom to top)", d)
	}
	l := p.Lines[0].BBox
	if l.Height() < 5*l.Width() || !near(l.Y1, 792-300, 0.01) {
		t.Errorf("rotated line box %v", l)
	}
}
