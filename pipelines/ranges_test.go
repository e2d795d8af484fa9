package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/layout/scan/simscan"
	"github.com/eosinlab/eosin/shards"
)

// docDESeq has raster figures on pages 5 and 7; its simulated scans feed the OCR path.
const docDESeq = "x/r-bioc-deseq/usr/lib/R/site-library/DESeq/doc/DESeq.pdf"

func TestPageRanges(t *testing.T) {
	figs := func(pages ...int) []layout.Figure {
		var out []layout.Figure
		for _, p := range pages {
			var f layout.Figure
			f.ID, f.Page = "f"+string(rune('a'+p)), p
			out = append(out, f)
		}
		return out
	}
	tests := []struct {
		name     string
		figs     []layout.Figure
		scanned  []int
		perRange int
		want     [][3]int // first, last, number of figures
	}{
		{"nothing to render", nil, nil, 8, nil},
		{"one range", figs(2, 2, 5), nil, 8, [][3]int{{2, 5, 3}}},
		{"split by work pages", figs(1, 3, 3, 9, 12), []int{4}, 2, [][3]int{{1, 3, 3}, {4, 9, 1}, {12, 12, 1}}},
		{"scanned only", nil, []int{7, 2}, 1, [][3]int{{2, 2, 0}, {7, 7, 0}}},
		{"zero means one", figs(1, 2), nil, 0, [][3]int{{1, 1, 1}, {2, 2, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lr := layout.Result{Figures: tc.figs, Scanned: tc.scanned}
			got, err := pageRanges(workItem{URI: "d.pdf", SHA256: "s"}, lr, tc.perRange)
			if err != nil {
				t.Fatal(err)
			}
			var g [][3]int
			scanned := 0
			for _, r := range got {
				g = append(g, [3]int{r.First, r.Last, len(r.Figures)})
				scanned += len(r.Scanned)
				for _, p := range r.Scanned {
					if p < r.First || p > r.Last {
						t.Errorf("scanned page %d outside range %d-%d", p, r.First, r.Last)
					}
				}
			}
			if !slices.Equal(g, tc.want) {
				t.Errorf("ranges %v, want %v", g, tc.want)
			}
			if scanned != len(tc.scanned) {
				t.Errorf("%d scanned pages in ranges, want %d", scanned, len(tc.scanned))
			}
		})
	}
}

// TestBuildScannedAndRanges builds a born-digital document and a simulated scan together:
// the born-digital figures are rendered in page ranges, the scanned pages go through OCR, and
// the committed figures do not depend on how pages are cut into ranges. Without OCR the
// scanned pages are rejected as such.
func TestBuildScannedAndRanges(t *testing.T) {
	requireFile(t, "/usr/bin/img2pdf")
	ctx := context.Background()
	in := filepath.Join(t.TempDir(), "in")
	copyDocs(t, in, docOutliers)
	src := filepath.Join(cache, docDESeq)
	requireFile(t, src)
	scanPath := filepath.Join(in, "scan.pdf")
	if _, err := simscan.Make(ctx, src, []int{5, 7}, 200, 3, scanPath); err != nil {
		t.Fatal(err)
	}
	scanBytes, err := os.ReadFile(scanPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(scanBytes)
	scanSHA := hex.EncodeToString(sum[:])
	outlierPages := func() int {
		d, err := extract.Open(filepath.Join(in, filepath.Base(docOutliers)))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		return d.NumPages()
	}()

	build := func(perRange int, ocr bool) (*Summary, *shards.Manifest, map[string]shards.Figure) {
		t.Helper()
		c := testConfig(in, filepath.Join(t.TempDir(), "corpus"))
		c.PagesPerRange, c.OCR = perRange, ocr
		s, err := Run(ctx, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		m, figs := readDataset(t, c.Output, shards.ReadOptions{})
		return s, m, figs
	}
	s1, m1, figs1 := build(1, true)
	if b := s1.Build; b.DocsProcessed != 2 || b.Pages != outlierPages+2 || b.PagesRejected != 0 {
		t.Fatalf("build: %+v", b)
	}
	scanned := 0
	for _, f := range figs1 {
		if f.Doc.SHA256 == scanSHA {
			scanned++
			if f.Doc.URI != scanPath || f.Caption == "" || len(f.ImageBytes) == 0 {
				t.Errorf("scanned-page figure incomplete: %+v", f)
			}
		}
	}
	if scanned == 0 || scanned == len(figs1) {
		t.Fatalf("%d of %d figures come from the scanned document", scanned, len(figs1))
	}

	_, m2, figs2 := build(1000, true)
	if !slices.Equal(ids(figs1), ids(figs2)) || !slices.Equal(shardSums(m1), shardSums(m2)) {
		t.Errorf("one range per page and one range per document differ: ids %v vs %v", ids(figs1), ids(figs2))
	}

	s3, m3, figs3 := build(8, false)
	if n := m3.RejectCounts["layout/scanned_page"]; n != 2 {
		t.Errorf("without OCR: %d scanned_page rejects, want 2 (%v)", n, m3.RejectCounts)
	}
	if len(figs3) != len(figs1)-scanned || s3.Build.PagesRejected != 2 {
		t.Errorf("without OCR: %d figures (want %d), %d pages rejected", len(figs3), len(figs1)-scanned, s3.Build.PagesRejected)
	}
}
