package pipelines

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/internal/quality"
	"github.com/eosinlab/eosin/layout"
)

// corpusFiles lists the distinct documents of testdata/cache/corpus.tsv (the test-data.md
// corpus), at most EOSIN_BENCH_DOCS of them when that is set.
func corpusFiles(b *testing.B) []workItem {
	f, err := os.Open(filepath.Join(cache, "corpus.tsv"))
	if err != nil {
		if os.Getenv("CI") != "" {
			b.Fatal(err)
		}
		b.Skip(err)
	}
	defer f.Close()
	limit := 1 << 30
	if v := os.Getenv("EOSIN_BENCH_DOCS"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	seen := map[string]bool{}
	var out []workItem
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < limit {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 4 || seen[cols[3]] {
			continue
		}
		seen[cols[3]] = true
		p, _ := filepath.Abs(filepath.Join(cache, cols[2]))
		out = append(out, workItem{URI: p, SHA256: cols[3]})
	}
	return out
}

// peakRSS is the process's peak resident set (VmHWM) in MiB.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// loopDocument is what a plain Go program does with one document: open it, extract + lay it
// out + render its figures in one call (OCR on scanned pages), and filter the figures.
func loopDocument(ctx context.Context, path string, dpi int, sp *scannedPages, p quality.Params) (pages int, err error) {
	doc, err := extract.Open(path)
	if err != nil {
		return 0, nil // rejected, as in the build
	}
	defer doc.Close()
	res, err := layout.Process(ctx, doc, layout.Options{DPI: dpi, Render: true, Tables: true, URI: path, Scanned: sp.figures})
	if err != nil {
		return 0, err
	}
	for _, fg := range res.Figures {
		rec, _ := json.Marshal(fg.Figure)
		filterFigure(figItem{ID: fg.ID, Record: rec, Image: fg.ImageBytes}, p)
	}
	return res.Pages, nil
}

// BenchmarkBuildVsLoop compares pages per second of the whole build (prism in-process: match,
// fingerprint, layout per document, render + OCR per page range, filters, dedup, shard
// writing, commit) with a plain Go loop calling the same extract + layout + render + filter
// code over the same files in the same process, with as many goroutines as there are CPUs
// (GOMAXPROCS) taking documents from a queue. ratio is pipeline time / loop time (the
// pipeline's overhead; goal ≤ 1.2). loop-peak-MiB is the peak RSS after the loop, peak-MiB
// after the pipeline.
func BenchmarkBuildVsLoop(b *testing.B) {
	files := corpusFiles(b)
	ctx := context.Background()
	cfg := DefaultConfig()
	workers := runtime.GOMAXPROCS(0)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		start := time.Now()
		var pages atomic.Int64
		queue := make(chan workItem)
		var wg sync.WaitGroup
		var loopErr atomic.Value
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sp := newScannedPages(cfg.OCRLanguages, cfg.RenderDPI)
				defer sp.close()
				for w := range queue {
					n, err := loopDocument(ctx, w.URI, cfg.RenderDPI, sp, cfg.Params)
					if err != nil {
						loopErr.Store(err)
					}
					pages.Add(int64(n))
				}
			}()
		}
		for _, w := range files {
			queue <- w
		}
		close(queue)
		wg.Wait()
		if err, _ := loopErr.Load().(error); err != nil {
			b.Fatal(err)
		}
		loop := time.Since(start)
		loopPeak := peakRSS()
		runtime.GC()

		c := DefaultConfig()
		for _, w := range files {
			c.Inputs = append(c.Inputs, w.URI)
		}
		c.Output = b.TempDir()
		c.Progress = 0
		s, err := Run(ctx, c, nil)
		if err != nil {
			b.Fatal(err)
		}
		if int64(s.Build.Pages) != pages.Load() {
			b.Fatalf("pipeline read %d pages, loop %d", s.Build.Pages, pages.Load())
		}
		pipe := s.Elapsed
		n := float64(pages.Load())
		b.ReportMetric(float64(len(files)), "docs")
		b.ReportMetric(n, "pages")
		b.ReportMetric(float64(workers), "loop-workers")
		b.ReportMetric(n/loop.Seconds(), "loop-pages/s")
		b.ReportMetric(n/pipe.Seconds(), "build-pages/s")
		b.ReportMetric(pipe.Seconds()/loop.Seconds(), "ratio")
		b.ReportMetric(loopPeak, "loop-peak-MiB")
		b.ReportMetric(peakRSS(), "peak-MiB")
	}
}
