package layout

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/shards"
)

const corpus = "../testdata/cache/x"

// corpusFile returns the path of a test-corpus PDF; without it the test is skipped, or fails
// when CI is set (the corpus must be fetched there).
func corpusFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(corpus, rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test corpus file missing (run make testdata): %v", err)
		}
		t.Skipf("test corpus file missing (run make testdata): %v", err)
	}
	return p
}

const (
	partitioningPDF = "r-cran-vegan/usr/lib/R/site-library/vegan/doc/partitioning.pdf"
	decisionPDF     = "r-cran-vegan/usr/lib/R/site-library/vegan/doc/decision-vegan.pdf"
	hhh4PDF         = "r-cran-surveillance/usr/lib/R/site-library/surveillance/doc/hhh4_spacetime.pdf"
	metagenomePDF   = "r-bioc-metagenomeseq/usr/lib/R/site-library/metagenomeSeq/doc/metagenomeSeq.pdf"
	deseqPDF        = "r-bioc-deseq/usr/lib/R/site-library/DESeq/doc/DESeq.pdf"
	dnacopyPDF      = "r-bioc-dnacopy/usr/lib/R/site-library/DNAcopy/doc/DNAcopy.pdf"
)

func extractFigs(t *testing.T, rel string, opts Options) []Figure {
	t.Helper()
	figs, rejects, err := ProcessDocument(context.Background(), corpusFile(t, rel), opts)
	if err != nil {
		t.Fatalf("%s: %v (rejects %v)", rel, err, rejects)
	}
	return figs
}

func byLabel(figs []Figure) map[string]Figure {
	m := map[string]Figure{}
	for _, f := range figs {
		m[f.Label] = f
	}
	return m
}

var idRE = regexp.MustCompile(`^[0-9a-f]{24}$`)

// Side captions: partitioning.pdf sets each caption to the right of its Venn diagram, and the
// diagrams contain the words "Table 1", "Table 2" that must not become table captions.
func TestSideCaptions(t *testing.T) {
	figs := extractFigs(t, partitioningPDF, Options{Tables: true})
	if len(figs) != 3 {
		t.Fatalf("got %d records, want the 3 figures: %+v", len(figs), figs)
	}
	for i, f := range figs {
		if f.Kind != "figure" || f.Label != []string{"Figure 1", "Figure 2", "Figure 3"}[i] {
			t.Errorf("record %d: kind %q label %q", i, f.Kind, f.Label)
		}
		if f.BBox[2] > f.CaptionBox[0] {
			t.Errorf("%s: region %v does not lie left of its caption %v", f.Label, f.BBox, f.CaptionBox)
		}
		if w := f.BBox[2] - f.BBox[0]; w < 150 {
			t.Errorf("%s: region %v too narrow for the diagram", f.Label, f.BBox)
		}
		if !strings.Contains(strings.Join(f.Quality.Flags, ","), "side_caption") {
			t.Errorf("%s: flags %v lack side_caption", f.Label, f.Quality.Flags)
		}
		if !idRE.MatchString(f.ID) {
			t.Errorf("%s: id %q is not 24 hex digits", f.Label, f.ID)
		}
	}
	if got := figs[0].Caption; !strings.HasPrefix(got, "3 regression/ canonical analyses and 3 subtraction equations") ||
		!strings.HasSuffix(got, "Fraction [b] cannot be tested singly.") {
		t.Errorf("Figure 1 caption = %q", got)
	}
}

// Two columns: decision-vegan.pdf has figures in single columns, and page 8 sets the captions of
// Figures 5 and 6 side by side on one baseline.
func TestTwoColumns(t *testing.T) {
	figs := byLabel(extractFigs(t, decisionPDF, Options{}))
	if len(figs) != 8 {
		t.Fatalf("got %d figures, want 8", len(figs))
	}
	f5, f6 := figs["Figure 5"], figs["Figure 6"]
	if f5.Page != 8 || f6.Page != 8 {
		t.Fatalf("Figures 5, 6 on pages %d, %d, want 8", f5.Page, f6.Page)
	}
	const gutter = 297
	if f5.BBox[2] > gutter || f6.BBox[0] < gutter || f5.CaptionBox[2] > gutter || f6.CaptionBox[0] < gutter {
		t.Errorf("Figure 5 %v / caption %v and Figure 6 %v / caption %v are not in their columns", f5.BBox, f5.CaptionBox, f6.BBox, f6.CaptionBox)
	}
	if want := "Procrustes rotation of LC scores in RDA of the original and shuffled data."; f5.Caption != want {
		t.Errorf("Figure 5 caption = %q, want %q", f5.Caption, want)
	}
	if want := "Procrustes rotation of WA scores of CCA with the original and shuffled data."; f6.Caption != want {
		t.Errorf("Figure 6 caption = %q, want %q", f6.Caption, want)
	}
	// Mentions: the body cites Figure 3 as "(Fig. 3)".
	f3 := figs["Figure 3"]
	found := false
	for _, m := range f3.Mentions {
		if strings.Contains(m, "(Fig. 3)") {
			found = true
		}
		if strings.Contains(m, "LC scores of shuffled species data.") && !strings.Contains(m, "Fig") {
			t.Errorf("caption text taken as a mention: %q", m)
		}
	}
	if !found {
		t.Errorf("Figure 3 mentions %q lack the sentence citing (Fig. 3)", f3.Mentions)
	}
}

// Vector-only figures: the plots of decision-vegan.pdf page 7 are drawn with path operators,
// there is no image on the page.
func TestVectorOnlyFigures(t *testing.T) {
	path := corpusFile(t, decisionPDF)
	doc, err := extract.Open(path, extract.WithoutImageData())
	if err != nil {
		t.Fatal(err)
	}
	p, err := doc.Page(context.Background(), 7)
	doc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Images) != 0 || len(p.Graphics) < 50 {
		t.Fatalf("page 7 has %d images and %d graphics; the test needs a vector-only page", len(p.Images), len(p.Graphics))
	}
	figs := byLabel(extractFigs(t, decisionPDF, Options{}))
	for _, label := range []string{"Figure 2", "Figure 3", "Figure 4"} {
		f := figs[label]
		if f.Page != 7 {
			t.Errorf("%s on page %d, want 7", label, f.Page)
			continue
		}
		w, h := f.BBox[2]-f.BBox[0], f.BBox[3]-f.BBox[1]
		if w < 180 || h < 180 || w > 240 || h > 240 {
			t.Errorf("%s: region %v is not the ~210 pt square plot", label, f.BBox)
		}
		// The plot sits above its caption, close to it.
		if gap := f.CaptionBox[1] - f.BBox[3]; gap < 0 || gap > 30 {
			t.Errorf("%s: region %v, caption %v: gap %.1f", label, f.BBox, f.CaptionBox, gap)
		}
	}
}

// Multi-panel figures: hhh4_spacetime.pdf Figure 1 has two sub-figures with sub-captions
// "(a) …" and "(b) …"; metagenomeSeq.pdf captions side-by-side plots "Left) … Right) …".
func TestMultiPanel(t *testing.T) {
	f := byLabel(extractFigs(t, hhh4PDF, Options{}))["Figure 1"]
	if len(f.SubFigures) != 2 {
		t.Fatalf("Figure 1 sub-figures = %+v, want 2", f.SubFigures)
	}
	a, b := f.SubFigures[0], f.SubFigures[1]
	if a.Label != "a" || b.Label != "b" || a.BBox[2] > b.BBox[0] {
		t.Errorf("panels %+v, %+v: want a left of b", a, b)
	}
	if !strings.HasPrefix(a.Caption, "Time series of weekly counts.") || !strings.HasPrefix(b.Caption, "Disease incidence") {
		t.Errorf("panel captions %q, %q", a.Caption, b.Caption)
	}
	if f.Caption != "Measles infections in the Weser-Ems region, 2001–2002." {
		t.Errorf("the whole figure keeps the full caption; got %q", f.Caption)
	}
	for _, sf := range f.SubFigures {
		if sf.BBox[0] < f.BBox[0]-1 || sf.BBox[2] > f.BBox[2]+1 || sf.BBox[1] < f.BBox[1]-1 || sf.BBox[3] > f.BBox[3]+1 {
			t.Errorf("panel %s %v outside the figure %v", sf.Label, sf.BBox, f.BBox)
		}
	}

	g := byLabel(extractFigs(t, metagenomePDF, Options{}))["Figure 4"]
	if len(g.SubFigures) != 2 || g.SubFigures[0].Label != "Left" || g.SubFigures[1].Label != "Right" {
		t.Fatalf("metagenomeSeq Figure 4 sub-figures = %+v", g.SubFigures)
	}
	if g.SubFigures[0].Caption != "Abundance heatmap (plotMRheatmap)." || g.SubFigures[1].Caption != "Correlation heatmap (plotCorr)." {
		t.Errorf("per-panel captions %q, %q", g.SubFigures[0].Caption, g.SubFigures[1].Caption)
	}
}

// Raster figures: DESeq.pdf embeds its plots as PNG images; a figure made of one image keeps
// its native bytes, and the rendered crop is a PNG of the region.
func TestRasterFigureOriginal(t *testing.T) {
	figs := extractFigs(t, deseqPDF, Options{Render: true, DPI: 40})
	if len(figs) != 17 {
		t.Fatalf("got %d figures, want 17", len(figs))
	}
	originals := 0
	for _, f := range figs {
		if f.Image.Format != "png" || f.Image.Source != "rendered" || f.Image.Width == 0 || len(f.ImageBytes) == 0 {
			t.Errorf("%s: image %+v, %d bytes", f.Label, f.Image, len(f.ImageBytes))
		}
		if len(f.PHash) != 16 {
			t.Errorf("%s: phash %q", f.Label, f.PHash)
		}
		if f.Original != nil {
			originals++
			if f.Original.Ext != "png" || !bytes.HasPrefix(f.Original.Data, []byte("\x89PNG")) {
				t.Errorf("%s: original %s with %d bytes is not a PNG", f.Label, f.Original.Ext, len(f.Original.Data))
			}
		}
	}
	if originals < 10 {
		t.Errorf("only %d of 17 single-image figures kept their native bytes", originals)
	}
}

// A document whose plots have no captions gives no records and no error, and one no_figures
// reject that says so (every input is accounted for among the rejects).
func TestNoFigures(t *testing.T) {
	figs, rejects, err := ProcessDocument(context.Background(), corpusFile(t, dnacopyPDF), Options{Tables: true})
	if err != nil || len(figs) != 0 {
		t.Fatalf("DNAcopy.pdf: %d figures, err %v; want none", len(figs), err)
	}
	if len(rejects) != 1 || rejects[0].Kind != "document" || rejects[0].Reason != "no_figures" || rejects[0].Detail != "no captioned figure or table in 7 pages" {
		t.Errorf("rejects %+v, want one no_figures document reject", rejects)
	}
	// A document with figures has no such reject.
	figs, rejects, err = ProcessDocument(context.Background(), corpusFile(t, partitioningPDF), Options{})
	if err != nil || len(figs) == 0 {
		t.Fatalf("partitioning.pdf: %d figures, err %v", len(figs), err)
	}
	for _, r := range rejects {
		if r.Reason == "no_figures" {
			t.Errorf("no_figures reject on a document with %d figures", len(figs))
		}
	}
}

// A truncated PDF is a reject line and the run goes on; the output is the same bytes twice.
func TestRunBadInputAndDeterminism(t *testing.T) {
	good := corpusFile(t, partitioningPDF)
	dir := t.TempDir()
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "truncated.pdf")
	if err := os.WriteFile(bad, data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.pdf")
	if err := os.WriteFile(junk, []byte("not a pdf at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	inputs := []string{bad, junk, good}
	var outs [2]string
	for i := range outs {
		outs[i] = filepath.Join(dir, "out", string(rune('a'+i)))
		sum, err := Run(context.Background(), inputs, outs[i], RunOptions{Options: Options{Render: true, DPI: 30}, Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Docs != 3 || sum.Figures != 3 || sum.Failures != 2 {
			t.Fatalf("summary %+v: want 3 documents, 3 figures, 2 unreadable", sum)
		}
	}
	rej, err := os.ReadFile(filepath.Join(outs[0], "rejects.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []shards.Reject
	for _, l := range bytes.Split(bytes.TrimSpace(rej), []byte("\n")) {
		var r shards.Reject
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, r)
	}
	if len(lines) != 2 || lines[0].URI != bad || lines[1].URI != junk || lines[0].Kind != "document" || lines[0].Reason != "corrupt" {
		t.Errorf("rejects = %+v", lines)
	}
	for _, name := range []string{"figures.jsonl", "rejects.jsonl"} {
		a, _ := os.ReadFile(filepath.Join(outs[0], name))
		b, _ := os.ReadFile(filepath.Join(outs[1], name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	imgs, _ := filepath.Glob(filepath.Join(outs[0], "images", "*.png"))
	if len(imgs) != 3 {
		t.Errorf("images: %v", imgs)
	}
	for _, p := range imgs {
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(filepath.Join(outs[1], "images", filepath.Base(p)))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", filepath.Base(p))
		}
	}
}

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.pdf", "a.PDF", "sub/c.pdf", "notes.txt"} {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	got, err := Inputs([]string{dir, filepath.Join(dir, "b.pdf")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.PDF"), filepath.Join(dir, "b.pdf"), filepath.Join(dir, "sub/c.pdf")}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Inputs = %v, want %v", got, want)
	}
	if _, err := Inputs([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing input must be an error")
	}
}
