package layout

import (
	"context"
	"testing"
)

// benchDocs is a mixed set: two-column and side-caption vignettes (vector plots), raster
// figures (DESeq), multi-panel figures (hhh4_spacetime) and a plot-heavy vignette (EBSeq).
var benchDocs = []string{
	decisionPDF, partitioningPDF,
	"r-cran-vegan/usr/lib/R/site-library/vegan/doc/diversity-vegan.pdf",
	"r-cran-vegan/usr/lib/R/site-library/vegan/doc/intro-vegan.pdf",
	deseqPDF, hhh4PDF,
	"r-bioc-ebseq/usr/lib/R/site-library/EBSeq/doc/EBSeq_Vignette.pdf",
}

func benchExtract(b *testing.B, opts Options) {
	paths := make([]string, len(benchDocs))
	for i, d := range benchDocs {
		paths[i] = corpusFile(b, d)
	}
	pages, figs := 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range paths {
			r, err := ExtractFile(context.Background(), p, opts)
			if err != nil {
				b.Fatal(err)
			}
			pages += r.Pages
			figs += len(r.Figures)
		}
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(figs)/float64(b.N), "figures/op")
}

// BenchmarkExtract finds figures without rendering them (records only), one goroutine.
func BenchmarkExtract(b *testing.B) { benchExtract(b, Options{}) }

// BenchmarkExtractRender also renders every figure at 200 dpi and keeps native image bytes.
func BenchmarkExtractRender(b *testing.B) { benchExtract(b, Options{Render: true, DPI: 200}) }
