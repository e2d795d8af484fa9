package scan_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/ocr"
)

// BenchmarkScanVsFullOCR times the scanned-page path (orientation, deskew, layout analysis,
// caption probes and caption OCR) against full-page OCR of the same simulated-scan pages in
// the same run: the tesseract command line (what a user would otherwise run) and, to leave
// out process start and model loading, Tesseract in-process through the same engine pool.
// It reports seconds per page for each and the speed-up ratios.
//
//	go test -tags extlib -run '^$' -bench ScanVsFullOCR -benchtime 1x ./layout/scan/
func BenchmarkScanVsFullOCR(b *testing.B) {
	pages := simulatedPages(b)
	tess, err := exec.LookPath("tesseract")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	files := make([]string, len(pages))
	for i, p := range pages {
		files[i] = filepath.Join(dir, "p"+itoa(i)+".jpg")
		if err := os.WriteFile(files[i], p.jpeg, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	pool, err := ocr.NewPool(ocr.Config{Size: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	sc := scan.New(pool, scan.Options{})
	ctx := context.Background()
	// Start the engine outside the timings.
	if err := pool.Do(ctx, func(*ocr.Engine) error { return nil }); err != nil {
		b.Fatal(err)
	}
	var tScan, tCLI, tFull time.Duration
	var stages scan.Timings
	figures := 0
	b.ResetTimer()
	for range b.N {
		for i, p := range pages {
			start := time.Now()
			img, err := ocr.DecodeImage(p.jpeg, 200)
			if err != nil {
				b.Fatal(err)
			}
			res, err := sc.Analyze(ctx, img)
			if err != nil {
				b.Fatal(err)
			}
			figures += len(res.Figures)
			stages.Orientation += res.Time.Orientation
			stages.Deskew += res.Time.Deskew
			stages.Layout += res.Time.Layout
			stages.Probes += res.Time.Probes
			stages.Captions += res.Time.Captions
			res.Close()
			tScan += time.Since(start)

			start = time.Now()
			cmd := exec.Command(tess, files[i], "-", "--dpi", "200")
			cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
			if out, err := cmd.Output(); err != nil || len(out) == 0 {
				b.Fatalf("tesseract %s: %v", files[i], err)
			}
			tCLI += time.Since(start)

			start = time.Now()
			err = pool.Do(ctx, func(e *ocr.Engine) error {
				_, err := e.Recognize(ctx, img, ocr.PSMAuto, false)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			tFull += time.Since(start)
			img.Close()
		}
	}
	b.StopTimer()
	n := float64(b.N * len(pages))
	b.ReportMetric(tScan.Seconds()/n, "s/page-scan")
	b.ReportMetric(tCLI.Seconds()/n, "s/page-tesseract-cli")
	b.ReportMetric(tFull.Seconds()/n, "s/page-full-ocr")
	b.ReportMetric(tCLI.Seconds()/tScan.Seconds(), "x-vs-cli")
	b.ReportMetric(tFull.Seconds()/tScan.Seconds(), "x-vs-full-ocr")
	b.ReportMetric(float64(figures)/n, "figures/page")
	b.Logf("scan path per page: orientation %.2fs, deskew %.2fs, layout %.2fs, caption probes %.2fs, caption OCR %.2fs",
		stages.Orientation.Seconds()/n, stages.Deskew.Seconds()/n, stages.Layout.Seconds()/n, stages.Probes.Seconds()/n, stages.Captions.Seconds()/n)
}
