package layout

import (
	"slices"
	"testing"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
)

func rect(x0, y0, x1, y1 float64) extract.Rect { return extract.Rect{X0: x0, Y0: y0, X1: x1, Y1: y1} }

func word(text string, x0, y0, x1, y1, size float64) extract.Word {
	return extract.Word{Text: text, Size: size, BBox: rect(x0, y0, x1, y1)}
}

func TestStackedDuplicates(t *testing.T) {
	// A caption label line with a copy of the two caption lines below squeezed onto it (older
	// BMC PDFs): the copies are dropped, the label stays, the real lines stay.
	words := []extract.Word{
		word("Figure", 312, 538, 341, 547, 9.7), word("2", 344, 538, 349, 547, 9.7),
		word("Curcuma", 312, 538, 345, 547, 9.7), word("longa", 348, 538, 367, 547, 9.7),
		word("expression", 312, 538, 355, 547, 9.7), word("of", 357, 538, 365, 547, 9.7),
		word("Curcuma", 312, 549, 345, 558, 9.7), word("longa", 348, 549, 367, 558, 9.7),
		word("expression", 312, 560, 355, 568, 9.7), word("of", 357, 560, 365, 568, 9.7),
	}
	drop := stackedDuplicates(words)
	var got []int
	for i := range words {
		if drop[i] {
			got = append(got, i)
		}
	}
	if want := []int{2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("dropped %v, want %v", got, want)
	}
	// Justified text where the same word starts two lines is not a duplicate layer.
	plain := []extract.Word{
		word("the", 50, 100, 62, 110, 10), word("cells", 65, 100, 85, 110, 10),
		word("the", 50, 112, 62, 122, 10), word("tumour", 65, 112, 95, 122, 10),
	}
	if d := stackedDuplicates(plain); len(d) != 0 {
		t.Errorf("plain text: dropped %v", d)
	}
}

func TestFindFrames(t *testing.T) {
	capBox := rect(62, 440, 530, 466)
	body := []tline{{text: "body", box: rect(56, 500, 290, 510)}}
	tests := []struct {
		name    string
		boxes   []extract.Rect
		isImage []int
		lines   []tline
		want    int
	}{
		{"filled box around figure and caption", []extract.Rect{rect(56, 90, 538, 470), rect(64, 96, 530, 422)}, []int{-1, 0}, body, 1},
		{"rounded frame drawn as sides and corners", []extract.Rect{
			rect(60.5, 89.8, 534.8, 90.5), rect(534.3, 89.8, 538.8, 94.2), rect(538.1, 93.7, 538.8, 466.9),
			rect(534.3, 466.4, 538.8, 470.9), rect(60.5, 470.2, 534.8, 470.9), rect(56.4, 466.4, 61, 470.9),
			rect(56.4, 93.7, 57.2, 466.9), rect(56.4, 89.8, 61, 94.2), rect(64, 96, 530, 422)},
			[]int{-1, -1, -1, -1, -1, -1, -1, -1, 0}, body, 1},
		{"sides without corners", []extract.Rect{
			rect(60.5, 89.8, 534.8, 90.5), rect(538.1, 93.7, 538.8, 466.9), rect(60.5, 470.2, 534.8, 470.9), rect(56.4, 93.7, 57.2, 466.9)},
			[]int{-1, -1, -1, -1}, body, 1},
		{"body text crosses the box: a shaded panel, not a frame", []extract.Rect{rect(56, 90, 538, 470)}, []int{-1},
			[]tline{{text: "body", box: rect(40, 300, 290, 310)}}, 0},
		{"caption box only: the caption fills it", []extract.Rect{rect(60, 436, 532, 468)}, []int{-1}, body, 0},
		{"an image around the caption is content", []extract.Rect{rect(56, 90, 538, 470)}, []int{0}, body, 0},
	}
	for _, tt := range tests {
		frames, _ := findFrames(tt.boxes, tt.isImage, tt.lines, []extract.Rect{capBox})
		if len(frames) != tt.want {
			t.Errorf("%s: %d frames, want %d", tt.name, len(frames), tt.want)
		}
	}
}

func TestMarkFurniture(t *testing.T) {
	page := func(n string, extra ...tline) []tline {
		ls := []tline{
			{text: "Materials 2018, 11, 940", box: rect(76, 57, 153, 65)},
			{text: n + " of 25", box: rect(495, 57, 518, 65)},
			{text: "Body text of the page runs here.", box: rect(76, 100, 518, 110)},
		}
		return append(ls, extra...)
	}
	pages := [][]tline{
		page("1", tline{text: "Open Access", box: rect(76, 20, 140, 30)}),
		page("2"), page("3"), page("4", tline{text: "12", box: rect(290, 770, 300, 780)}),
	}
	markFurniture(pages, []float64{792, 792, 792, 792}, []float64{612, 612, 612, 612})
	tests := []struct {
		page, line int
		want       bool
	}{
		{0, 0, true}, {2, 1, true}, {1, 2, false},
		{0, 3, false}, // a banner on one page only
		{3, 3, true},  // a bare page number
	}
	for _, tt := range tests {
		if got := pages[tt.page][tt.line].furniture; got != tt.want {
			t.Errorf("page %d line %q: furniture %v, want %v", tt.page+1, pages[tt.page][tt.line].text, got, tt.want)
		}
	}
}

func TestDropShadowLines(t *testing.T) {
	ls := []tline{
		{text: "Figure 2. A scheme of the synthesis.", box: rect(117, 673, 470, 683)},
		{text: "Figure 2. A scheme of the synthesis.", box: rect(121, 680, 474, 689)},
		{text: "Figure 2. A scheme of the synthesis.", box: rect(117, 400, 470, 410)}, // far away: kept
	}
	if got := dropShadowLines(ls); len(got) != 2 || got[1].box.Y0 != 400 {
		t.Errorf("kept %v", got)
	}
}

func TestMidSentence(t *testing.T) {
	for _, tt := range []struct {
		line string
		want bool
	}{
		{"Numbers within circles correspond to PL numbers in", true},
		{"heat maps represent relative transcript", true},
		{"arable fields and villages,", true},
		{"representative of 5 separate experiments.", false},
		{"(*P < 0.05, **P < 0.01) from control)", false},
		{"Figures 3:", false},
	} {
		if got := midSentence(tt.line); got != tt.want {
			t.Errorf("midSentence(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestGrowCaptionLabelColumn(t *testing.T) {
	// CRC-style textbook caption: the label in a column of its own, the caption beside it and
	// continued under its own first word; body text after a gap.
	ls := []tline{
		{text: "FIGURE 3.2", box: rect(72, 500, 130, 509), size: 9, base: 509, font: "Helvetica-Bold"},
		{text: "Kaplan–Meier curves of overall survival by", box: rect(160, 500, 430, 509), size: 9, base: 509, font: "Times-Roman"},
		{text: "treatment arm, with the numbers at risk below.", box: rect(160, 511, 440, 520), size: 9, base: 520, font: "Times-Roman"},
		{text: "The body text resumes after the figure and runs on", box: rect(72, 540, 440, 550), size: 10, base: 550, font: "Times-Roman"},
	}
	for i := range ls {
		ls[i].words = []extract.Word{{Text: ls[i].text, Font: ls[i].font, Size: ls[i].size, BBox: ls[i].box}}
	}
	m, ok := caption.MatchLine(ls[0].text)
	if !ok {
		t.Fatal("label not matched")
	}
	st := docStats{bodySize: 10, bodyFont: "Times-Roman", lineSpacing: 12, columns: []span{{72, 440}}}
	blk := growCaption(ls, candidate{line: 0, m: m}, st, map[int]bool{0: true}, nil)
	want := "FIGURE 3.2 Kaplan–Meier curves of overall survival by treatment arm, with the numbers at risk below."
	if blk.text != want {
		t.Errorf("caption %q\nwant     %q", blk.text, want)
	}
}
