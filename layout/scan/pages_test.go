package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/scan/simscan"
)

// simPage is one page of a simulated scan: its JPEG bytes as embedded in the image-only PDF.
type simPage struct {
	name string
	jpeg []byte
}

var (
	simOnce  sync.Once
	simPages []simPage
	simErr   error
)

// simulatedPages makes (once per test binary) a simulated scan of a few corpus pages with
// figures and returns their page images.
func simulatedPages(t testing.TB) []simPage {
	t.Helper()
	type src struct {
		pdf   string
		pages []int
	}
	srcs := []src{
		{"x/r-bioc-deseq/usr/lib/R/site-library/DESeq/doc/DESeq.pdf", []int{5, 7, 9}},
		{"x/r-bioc-noiseq/usr/lib/R/site-library/NOISeq/doc/NOISeq.pdf", []int{6, 9}},
	}
	paths := make([]string, len(srcs))
	for i, s := range srcs {
		paths[i] = corpus(t, s.pdf)
	}
	need(t, "/usr/bin/img2pdf")
	simOnce.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "scanbench")
		if err != nil {
			simErr = err
			return
		}
		defer os.RemoveAll(dir)
		for i, s := range srcs {
			out := filepath.Join(dir, "scan.pdf")
			if _, err := simscan.Make(ctx, paths[i], s.pages, 200, 7, out); err != nil {
				simErr = err
				return
			}
			doc, err := extract.Open(out)
			if err != nil {
				simErr = err
				return
			}
			for n := 1; n <= doc.NumPages(); n++ {
				p, err := doc.Page(ctx, n)
				if err != nil || len(p.Images) != 1 {
					simErr = err
					return
				}
				simPages = append(simPages, simPage{name: filepath.Base(s.pdf) + "#" + itoa(s.pages[n-1]), jpeg: p.Images[0].Data})
			}
		}
	})
	if simErr != nil {
		t.Fatal(simErr)
	}
	return simPages
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
