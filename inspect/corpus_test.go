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
// the right figures, boxes drawn where the records put them. Screenshots go to $INSPECT_SHOTS.
func TestReportCorpus(t *testing.T) {
	needChromium(t)
	paths := corpusPaths(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
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
	report := filepath.Join(t.TempDir(), "report")
	if d := os.Getenv("INSPECT_REPORT"); d != "" {
		report = filepath.Join(d, "corpus")
	}
	src, err := OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
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
	query := pickQuery(figs)
	checkReport(ctx, t, report, figs, query, shotDir(t))
}

func pageSuffix(page int) string { return fmt.Sprintf("-p%04d", page) }
