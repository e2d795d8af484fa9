package inspect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/eosinlab/eosin/inspect/internal/browser"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

// corpusDocs are the test-corpus PDFs the report test extracts: raster plots (DESeq), vector
// plots (NOISeq, vegan), side-by-side pairs (metagenomeSeq), a two-column paper with two
// captions on a line (decision-vegan), captions beside figures (partitioning) and screenshots
// in a medical-imaging manual (dicomscope).
var corpusDocs = []string{
	"x/r-bioc-deseq/usr/lib/R/site-library/DESeq/doc/DESeq.pdf",
	"x/r-bioc-noiseq/usr/lib/R/site-library/NOISeq/doc/NOISeq.pdf",
	"x/r-bioc-metagenomeseq/usr/lib/R/site-library/metagenomeSeq/doc/metagenomeSeq.pdf",
	"x/r-cran-vegan/usr/lib/R/site-library/vegan/doc/decision-vegan.pdf",
	"x/r-cran-vegan/usr/lib/R/site-library/vegan/doc/partitioning.pdf",
	"x/dicomscope-doc/usr/share/doc/dicomscope/dscs360.pdf",
}

// corpusPaths returns the corpus PDFs, skipping (failing on CI) when the corpus is absent.
func corpusPaths(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, p := range corpusDocs {
		full := filepath.Join("..", "testdata", "cache", p)
		if _, err := os.Stat(full); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("test corpus missing (run scripts/fetch-testdata.sh): %v", err)
			}
			t.Skipf("test corpus missing (run scripts/fetch-testdata.sh): %v", err)
		}
		out = append(out, full)
	}
	return out
}

// readFigures reads a figures.jsonl.
func readFigures(t testing.TB, path string) []shards.Figure {
	t.Helper()
	var figs []shards.Figure
	if err := ReadJSONL(context.Background(), path, func(f shards.Figure) error { figs = append(figs, f); return nil }); err != nil {
		t.Fatal(err)
	}
	return figs
}

// pickQuery chooses a caption word that matches about a quarter of the figures: search must
// narrow the gallery, not empty it or leave it unchanged.
func pickQuery(figs []shards.Figure) string {
	counts := map[string]int{}
	for _, f := range figs {
		seen := map[string]bool{}
		for _, w := range strings.FieldsFunc(strings.ToLower(f.Caption), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if len(w) >= 5 && !seen[w] {
				seen[w] = true
				counts[w]++
			}
		}
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Strings(words)
	best, bestD := "", len(figs)
	for _, w := range words {
		n := countMatches(figs, w)
		if n < 2 || n >= len(figs) {
			continue
		}
		d := n - len(figs)/4
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = w, d
		}
	}
	return best
}

// TestReportCorpus extracts figures from real corpus PDFs with the layout package, builds the
// report over them with pages rendered by the extract package, and checks it in headless
// Chromium: every figure shown, every image loading, search and document filter narrowing to
// the right figures, boxes drawn where the records put them. Then it commits the same
// extraction as a dataset version (WebDataset shards, image bytes inside) next to a CoT
// dataset of samples about those figures, builds a report from the two versions, and checks
// it against the manifests. Screenshots go to $INSPECT_SHOTS.
func TestReportCorpus(t *testing.T) {
	needChromium(t)
	paths := corpusPaths(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := t.TempDir()
	start := time.Now()
	sum, err := layout.Run(ctx, paths, out, layout.RunOptions{Options: layout.Options{Render: true, DPI: 110}, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("extracted %d documents, %d pages, %d figures, %d rejects in %v", sum.Docs, sum.Pages, sum.Figures, sum.Rejects, time.Since(start).Round(time.Millisecond))
	figs := readFigures(t, filepath.Join(out, "figures.jsonl"))
	if len(figs) < 10 {
		t.Fatalf("only %d figures extracted from %d documents", len(figs), len(paths))
	}
	keep := os.Getenv("INSPECT_REPORT")
	shots := shotDir(t)

	t.Run("extract-dir", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "report")
		if keep != "" {
			report = filepath.Join(keep, "corpus")
		}
		src, err := OpenDir(out)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		bs, err := Build(ctx, Options{Dir: report, Title: "Test corpus", Renderer: ExtractRenderer{}}, src)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("report: %d figures, %d pages rendered, %.1f MB in %v", bs.Figures, bs.PagesRendered, float64(bs.Bytes)/1e6, time.Since(start).Round(time.Millisecond))
		if bs.Figures != len(figs) {
			t.Errorf("report holds %d figures, figures.jsonl %d", bs.Figures, len(figs))
		}
		if bs.MissingImages != 0 {
			t.Errorf("%d figures without a crop", bs.MissingImages)
		}
		if bs.PagesRendered != bs.Pages || bs.PagesMissing != 0 {
			t.Errorf("%d of %d pages rendered (%d missing): the sources are all readable", bs.PagesRendered, bs.Pages, bs.PagesMissing)
		}
		// Each rendered page thumbnail has the page's proportions.
		pages := readPages(t, report)
		for _, f := range figs {
			for k, p := range pages {
				if strings.HasPrefix(k, f.Doc.SHA256[:16]) && strings.HasSuffix(k, pageSuffix(f.Page)) {
					want := f.PageSize.Height / f.PageSize.Width
					if got := float64(p.H) / float64(p.W); got < want*0.98 || got > want*1.02 {
						t.Errorf("page %s is %dx%d px, the record says %gx%g pt", k, p.W, p.H, f.PageSize.Width, f.PageSize.Height)
					}
				}
			}
		}
		checkReport(ctx, t, report, figs, pickQuery(figs), shots)
	})

	t.Run("dataset", func(t *testing.T) {
		figPrefix, cotPrefix := filepath.Join(t.TempDir(), "figures"), filepath.Join(t.TempDir(), "cot")
		commitFigures(ctx, t, out, figs, figPrefix)
		samples := commitSamples(ctx, t, out, figs, cotPrefix)
		report := filepath.Join(t.TempDir(), "report")
		if keep != "" {
			report = filepath.Join(keep, "dataset")
		}
		var srcs []Source
		for _, ref := range []string{figPrefix, cotPrefix + "@v1"} {
			src, err := OpenSource(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			defer src.(*DatasetSource).Close()
			srcs = append(srcs, src)
		}
		bs, err := Build(ctx, Options{Dir: report, Title: "Dataset versions", Renderer: ExtractRenderer{}}, srcs...)
		if err != nil {
			t.Fatal(err)
		}
		manifest := srcs[0].Manifest()
		if int64(bs.Figures) != manifest.Counts["records"] || bs.Samples != len(samples) || bs.MissingImages != 0 {
			t.Fatalf("report: %d figures (manifest %d), %d samples (want %d), %d without image",
				bs.Figures, manifest.Counts["records"], bs.Samples, len(samples), bs.MissingImages)
		}
		checkDatasetReport(ctx, t, report, int(manifest.Counts["records"]), len(samples), shots)
	})
}

// commitFigures writes the extraction as a committed dataset version, crops inside.
func commitFigures(ctx context.Context, t *testing.T, out string, figs []shards.Figure, prefix string) {
	t.Helper()
	w, err := shards.Create(ctx, prefix, shards.WriteOptions{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		f.ImageBytes, err = os.ReadFile(filepath.Join(out, "images", f.ID+".png"))
		if err != nil {
			t.Fatal(err)
		}
		f.Image.Format = "png"
		if err := w.WriteFigure(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	if err := ReadJSONL(ctx, filepath.Join(out, "rejects.jsonl"), func(r shards.Reject) error { w.AddReject(r); return nil }); err != nil {
		t.Fatal(err)
	}
	w.SetStat("figures", len(figs))
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// commitSamples writes a CoT dataset of multiple-choice samples about the figures: the
// question asks which caption belongs to the figure, the options are real captions.
func commitSamples(ctx context.Context, t *testing.T, dir string, figs []shards.Figure, prefix string) []shards.Sample {
	t.Helper()
	w, err := shards.Create(ctx, prefix, shards.WriteOptions{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	var out []shards.Sample
	for i := 0; i < len(figs); i += 3 {
		f := figs[i]
		opts := []string{}
		for k := 0; k < 4; k++ {
			g := figs[(i+k*7)%len(figs)]
			opts = append(opts, fmt.Sprintf("%c. %s", 'A'+k, clip(g.Caption, 160)))
		}
		correct := i%2 == 0
		final := "A"
		if !correct {
			final = "C"
		}
		s := shards.Sample{
			ID: fmt.Sprintf("cot-%04d", i), FigureID: f.ID, Task: []string{"mcq", "reasoning"}[i%2],
			Problem: "Which caption belongs to this figure from " + f.Label + "?", Options: opts, Answer: "A",
			Messages: []shards.Message{{Role: "user", Content: "<image>Which caption belongs to this figure?"},
				{Role: "assistant", Content: "<think>The plot shows " + clip(f.Caption, 120) + " Option A describes exactly this.</think><answer>" + final + "</answer>"}},
			Generator: shards.Generator{Model: "test-generator"},
			Scores:    map[string]float64{"format": 1, "accuracy": map[bool]float64{true: 1, false: 0}[correct]},
			Verdict:   shards.Verdict{Keep: correct},
		}
		if !correct {
			s.Verdict.Reasons = []string{"wrong_answer"}
		}
		img, err := os.ReadFile(filepath.Join(dir, "images", f.ID+".png"))
		if err != nil {
			t.Fatal(err)
		}
		s.Images = []shards.SampleImage{{Format: "png", Bytes: img}}
		if err := w.WriteSample(ctx, &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkDatasetReport checks a report built from dataset versions: the gallery shows the
// manifest's record count with every image loading, the samples view lists every sample.
func checkDatasetReport(ctx context.Context, t *testing.T, dir string, nfig, nsamples int, shots string) {
	t.Helper()
	b, err := browser.Launch(ctx, needChromium(t), 1440, 960)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Navigate(ctx, fileURL(filepath.Join(dir, "index.html"))); err != nil {
		t.Fatal(err)
	}
	waitReady(ctx, t, b, "overview")
	var manifests int
	if err := b.Eval(ctx, `EOSIN.index.manifests.length`, &manifests); err != nil || manifests != 2 {
		t.Errorf("overview lists %d manifests, want 2 (%v)", manifests, err)
	}
	saveShot(ctx, t, b, shots, "dataset-overview.png", true)
	view(ctx, t, b, "#figures?per=all", "figures")
	var cards int
	b.Eval(ctx, `document.querySelectorAll('#gallery .card').length`, &cards)
	var ic imgCheck
	if err := b.Eval(ctx, eagerImages, &ic); err != nil {
		t.Fatal(err)
	}
	if cards != nfig || ic.N != nfig || len(ic.Broken) > 0 {
		t.Errorf("dataset gallery: %d cards, %d images (%v broken); the manifest has %d records", cards, ic.N, ic.Broken, nfig)
	}
	view(ctx, t, b, "#samples", "samples")
	var got struct {
		Count int `json:"count"`
		Cards int `json:"cards"`
	}
	b.Eval(ctx, `({count: +document.querySelector('#view-samples .result').dataset.count, cards: document.querySelectorAll('.sample').length})`, &got)
	if got.Count != nsamples || got.Cards != min(nsamples, 20) {
		t.Errorf("samples view: %d samples, %d cards; want %d", got.Count, got.Cards, nsamples)
	}
	if err := b.Eval(ctx, eagerImages, &ic); err != nil || len(ic.Broken) > 0 {
		t.Errorf("samples view: broken images %v %v", ic.Broken, err)
	}
	saveShot(ctx, t, b, shots, "dataset-samples.png", false)
	view(ctx, t, b, "#samples?keep=0", "samples")
	b.Eval(ctx, `({count: +document.querySelector('#view-samples .result').dataset.count, cards: document.querySelectorAll('.sample').length})`, &got)
	dropped := nsamples - (nsamples+1)/2
	if got.Count != dropped {
		t.Errorf("dropped samples: %d shown, want %d", got.Count, dropped)
	}
	var errs []string
	if err := b.Eval(ctx, `EOSIN.errors`, &errs); err != nil || len(errs) > 0 {
		t.Errorf("script errors: %v %v", errs, err)
	}
	t.Logf("dataset report: %d figures, %d samples (%d dropped)", cards, nsamples, dropped)
}

func pageSuffix(page int) string { return fmt.Sprintf("-p%04d", page) }
