package layout

import (
	"image"
	"image/color"
	"reflect"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
)

// synthLine builds a line of words in one font at (x, y) with a 10 pt size and 5 pt per char.
func synthLine(text string, x, y float64, font string) tline {
	var ws []extract.Word
	for _, w := range strings.Fields(text) {
		wd := float64(len(w)) * 5
		ws = append(ws, extract.Word{Text: w, BBox: extract.Rect{X0: x, Y0: y, X1: x + wd, Y1: y + 10}, Font: font, Size: 10})
		x += wd + 3
	}
	return makeLine(ws)
}

var synthStats = docStats{bodySize: 10, bodyFont: "Body", lineSpacing: 12, columns: []span{{72, 540}}}

func TestFindCandidatesMentionFilter(t *testing.T) {
	page := []tline{
		synthLine("Figure 3 shows the fitted curve against the raw counts of each gene in the", 72, 100, "Body"),
		synthLine("Figure 3: Fitted curve of the counts.", 100, 300, "Body"),
		synthLine("Figure 4 shows the residuals which are small everywhere as expected for the", 72, 400, "Body"),
		synthLine("Figure 5 Residuals of the model", 100, 500, "Body-Bold"),
		synthLine("Table 1. Counts per gene", 100, 600, "Body"),
		synthLine("Figure 6 produced by:", 72, 650, "Mono"),
	}
	page[3].bold = true
	page[5].mono = true
	cands := findCandidates([][]tline{page}, nil, synthStats)
	var got []string
	for _, c := range cands {
		got = append(got, page[c.line].text[:8]+"@"+c.m.Label)
	}
	want := []string{"Figure 3@Figure 3", "Figure 5@Figure 5", "Table 1.@Table 1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("candidates = %q, want %q", got, want)
	}
}

func TestDisambiguateKeepsColonCaption(t *testing.T) {
	mk := func(line int, text string, parStart bool) candidate {
		m, _ := caption.MatchLine(text)
		return candidate{line: line, m: m, parStart: parStart, fontBody: true}
	}
	all := []candidate{
		mk(0, "Figure 2 Counts per sample", true),
		mk(1, "Figure 2: Counts per sample", true),
		mk(2, "Figure 7. Lone caption", false),
	}
	got := disambiguate(all)
	if len(got) != 2 || got[0].line != 1 || got[1].line != 2 {
		t.Errorf("disambiguate kept %+v", got)
	}
}

func TestGrowCaptionStopsAtBodyText(t *testing.T) {
	ls := []tline{
		synthLine("Figure 1: Dispersion estimates plotted against the mean of normalised", 72, 100, "Body"),
		synthLine("counts, with the fitted curve in red and the final estimates in blue and", 72, 112, "Body"),
		synthLine("the prior width.", 72, 124, "Body"),
		// body text after the float separation
		synthLine("The next paragraph of body text starts here and runs across the whole", 72, 150, "Body"),
	}
	c := candidate{line: 0}
	c.m, _ = caption.MatchLine(ls[0].text)
	blk := growCaption(ls, c, synthStats, map[int]bool{0: true}, nil)
	if len(blk.lines) != 3 {
		t.Fatalf("caption lines = %v, want the first 3", blk.lines)
	}
	if !strings.HasSuffix(blk.text, "blue and the prior width.") {
		t.Errorf("caption text %q", blk.text)
	}
}

func TestJoinLinesHyphenation(t *testing.T) {
	got := joinLines([]string{"Counts are normal-", "ized by size factors for Weser-", "Ems and 2001-", "2002."})
	want := "Counts are normalized by size factors for Weser- Ems and 2001- 2002."
	if got != want {
		t.Errorf("joinLines = %q, want %q", got, want)
	}
}

func TestAssignNonOverlapping(t *testing.T) {
	r := func(x0, y0, x1, y1 float64) extract.Rect { return extract.Rect{X0: x0, Y0: y0, X1: x1, Y1: y1} }
	// Caption A at y 300 and caption B at y 600; A's "below" proposal is B's figure.
	caps := []extract.Rect{r(72, 300, 540, 312), r(72, 600, 540, 612)}
	props := [][]proposal{
		{{box: r(72, 100, 540, 290), dir: dirUp, score: 1.3}, {box: r(72, 320, 540, 590), dir: dirDown, score: 1.35}},
		{{box: r(72, 320, 540, 590), dir: dirUp, score: 1.3}},
	}
	got := assign(props, caps)
	if !reflect.DeepEqual(got, []int{0, 0}) {
		t.Errorf("assign = %v, want both figures above their captions", got)
	}
}

func TestIsScanned(t *testing.T) {
	page := &extract.Page{Width: 600, Height: 800,
		Images: []extract.Image{{BBox: extract.Rect{X1: 600, Y1: 800}}},
		Words:  []extract.Word{{Text: "ocr", RenderMode: 3}, {Text: "layer", RenderMode: 3}, {Text: "text", RenderMode: 3}, {Text: "here", RenderMode: 3}}}
	if !isScanned(page) {
		t.Error("image page with invisible text not detected as scanned")
	}
	page.Words[0].RenderMode = 0
	page.Words[1].RenderMode = 0
	page.Words[2].RenderMode = 0
	page.Words[3].RenderMode = 0
	if isScanned(page) {
		t.Error("page with visible text detected as scanned")
	}
}

func TestSentencesAndMentions(t *testing.T) {
	text := "The fit is good (Fig. 3). Residuals are shown in Figs. 4 and 5, e.g. for gene A. See Figure 3.2 for details. Nothing here."
	got := sentences(text)
	want := []string{"The fit is good (Fig. 3).", "Residuals are shown in Figs. 4 and 5, e.g. for gene A.", "See Figure 3.2 for details.", "Nothing here."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sentences = %q", got)
	}
	mi := mentionIndex{}
	mi.addText(text)
	if len(mi["Figure 3"]) != 1 || len(mi["Figure 4"]) != 1 || len(mi["Figure 5"]) != 1 || len(mi["Figure 3.2"]) != 1 {
		t.Errorf("mentions = %q", mi)
	}
}

func TestBlank(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 200; x++ {
			c := uint8(255)
			if x < 100 {
				c = 0
			}
			img.Set(x, y, color.RGBA{c, c, c, 255})
		}
	}
	white := image.NewRGBA(image.Rect(0, 0, 20, 20))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	if !blank(white) || blank(img) {
		t.Error("blank() misjudges a white and a half-black image")
	}
}

func TestFigureID(t *testing.T) {
	a := figureID("abc", 3, 0)
	if a != figureID("abc", 3, 0) || a == figureID("abc", 3, 1) || a == figureID("abc", 4, 0) || strings.Contains(a, ".") || len(a) != 24 {
		t.Errorf("figureID = %q", a)
	}
}

func TestAttachedScripts(t *testing.T) {
	w := func(text string, x0, y1, x1, size float64) extract.Word {
		return extract.Word{Text: text, Size: size, BBox: extract.Rect{X0: x0, Y0: y1 - size, X1: x1, Y1: y1}}
	}
	tests := []struct {
		name string
		ws   []extract.Word
		want string
	}{
		{"superscript isotope", []extract.Word{w("18", 10, 98, 16, 7), w("F-FDG", 16.2, 100, 40, 10)}, "18F-FDG"},
		{"charge", []extract.Word{w("Fe", 10, 100, 20, 10), w("2+", 20, 98, 26, 7.6), w(",", 26.5, 100, 28, 10)}, "Fe2+,"},
		{"subscript", []extract.Word{w("H", 10, 100, 17, 10), w("2", 17, 102, 21, 7), w("O", 21, 100, 28, 10)}, "H2O"},
		{"ordinary words", []extract.Word{w("tumour", 10, 100, 40, 10), w("cells", 43, 100, 60, 10)}, "tumour cells"},
		{"small word after a gap", []extract.Word{w("see", 10, 100, 25, 10), w("a", 28, 98, 32, 7)}, "see a"},
	}
	for _, tt := range tests {
		if got := makeLine(tt.ws).text; got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
