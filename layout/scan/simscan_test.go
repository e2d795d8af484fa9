package scan_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eosinlab/eosin/eval/captions"
	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/layout/caption"
	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/layout/scan/simscan"
	"github.com/eosinlab/eosin/shards"
)

// simDocs are the born-digital pages turned into simulated scans in the test: pages with
// raster plots (DESeq), vector plots (NOISeq), and a title page without figures.
var simDocs = []struct {
	pdf   string
	pages []int
}{
	{"x/r-bioc-deseq/usr/lib/R/site-library/DESeq/doc/DESeq.pdf", []int{1, 5, 7, 9}},
	{"x/r-bioc-noiseq/usr/lib/R/site-library/NOISeq/doc/NOISeq.pdf", []int{6, 9}},
}

// TestSimulatedScan renders born-digital pages at 200 dpi, degrades them (seeded skew, blur,
// noise, JPEG), wraps them as image-only PDFs with img2pdf and runs the extraction that
// `eosin extract` runs (layout.ExtractFile with the scanned-page hook). Captions are scored
// against the LaTeX-source ground truth of the pages used.
func TestSimulatedScan(t *testing.T) {
	if _, err := exec.LookPath("img2pdf"); err != nil {
		need(t, "/usr/bin/img2pdf")
	}
	ctx := context.Background()
	sc := scan.New(testPool(t), scan.Options{})
	var total captions.DocScore
	for _, d := range simDocs {
		src := corpus(t, d.pdf)
		truths, err := captions.ReadSource(captions.SourceFor(src))
		if err != nil {
			t.Fatal(err)
		}
		pageText, labelPage, err := pageTokens(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "scan.pdf")
		recipes, err := simscan.Make(ctx, src, d.pages, 200, 42, out)
		if err != nil {
			t.Fatal(err)
		}
		// Ground truth: the captions printed on the pages used, renumbered to scan pages.
		scanPage := map[int]int{}
		for i, p := range d.pages {
			scanPage[p] = i + 1
		}
		var gt []captions.Truth
		for _, tr := range truths {
			pg, ok := labelPage["Figure "+strconv.Itoa(tr.Index)]
			if !ok {
				pg = captions.PageOf(tr.Text, pageText)
			}
			if _, ok := scanPage[pg]; ok && tr.Kind == "figure" {
				gt = append(gt, tr)
			}
		}
		start := time.Now()
		res, err := layout.ExtractFile(ctx, out, layout.Options{Scanned: sc.Figures})
		if err != nil {
			t.Fatal(err)
		}
		el := time.Since(start)
		var preds []captions.Pred
		for _, f := range res.Figures {
			preds = append(preds, captions.Pred{ID: f.ID, Kind: kindOf(f.Figure), Page: f.Page, Caption: f.Caption, CropOK: len(f.ImageBytes) > 0})
			if !f.OCR.Used || f.OCR.MeanConfidence <= 0 {
				t.Errorf("%s p%d %s: ocr info %+v", filepath.Base(src), f.Page, f.Label, f.OCR)
			}
			t.Logf("  p%d %s conf %.0f bbox %v: %.90q", f.Page, f.Label, f.OCR.MeanConfidence, f.BBox, f.Caption)
		}
		for _, r := range res.Rejects {
			t.Logf("  reject p%d %s: %s", r.Page, r.Reason, r.Detail)
		}
		s := captions.Score("figure", gt, preds, nil)
		t.Logf("simulated scan %s pages %v (recipes %+v): %d GT captions, %d found, %d matched: recall %.2f precision %.2f, %.1f s/page",
			filepath.Base(src), d.pages, recipes[0].Recipe, s.Truths, s.Preds, s.Matched, s.Recall(), s.Precision(), el.Seconds()/float64(len(d.pages)))
		for _, m := range s.Missed {
			t.Logf("  missed: %.80q", m.Text)
		}
		total = total.Add(s)
	}
	t.Logf("simulated scan total: %d GT, %d found, %d matched: recall %.2f, precision %.2f",
		total.Truths, total.Preds, total.Matched, total.Recall(), total.Precision())
	if total.Recall() < 0.6 || total.Precision() < 0.8 {
		t.Errorf("caption recall %.2f (want ≥ 0.6), precision %.2f (want ≥ 0.8)", total.Recall(), total.Precision())
	}
}

func kindOf(f shards.Figure) string {
	if f.Kind == "" {
		return "figure"
	}
	return f.Kind
}

// pageTokens returns each page's text tokens (from the text layer of the original PDF), and
// the page where each caption label ("Figure 3") opens a line.
func pageTokens(ctx context.Context, path string) ([][]string, map[string]int, error) {
	doc, err := extract.Open(path)
	if err != nil {
		return nil, nil, err
	}
	labels := map[string]int{}
	var out [][]string
	for n := 1; n <= doc.NumPages(); n++ {
		p, err := doc.Page(ctx, n)
		if err != nil {
			out = append(out, nil)
			continue
		}
		var sb strings.Builder
		for _, l := range p.Lines {
			if m, ok := caption.MatchLine(l.Text); ok && m.Sep != "" {
				if _, seen := labels[m.Label]; !seen {
					labels[m.Label] = n
				}
			}
			sb.WriteString(l.Text)
			sb.WriteByte('\n')
		}
		out = append(out, captions.Tokens(sb.String()))
	}
	return out, labels, nil
}
