package pipelines

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards"
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
		out = append(out, workItem{URI: p, SHA256: cols[3], First: 1})
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

// BenchmarkBuildVsLoop compares pages per second of the whole build (prism in-process: match,
// fingerprint, extract + layout, filters, dedup, shard writing, commit) with a plain Go loop
// calling the same extract + layout + filter code over the same files in the same process.
// ratio is pipeline time / loop time (the pipeline's overhead; it can drop below 1 because
// prism runs bundles in parallel). loop-peak-MiB is the peak RSS after the loop,
// peak-MiB after the pipeline.
func BenchmarkBuildVsLoop(b *testing.B) {
	files := corpusFiles(b)
	ctx := context.Background()
	cfg := DefaultConfig()
	for i := 0; i < b.N; i++ {
		st := newStores(S3Settings{})
		sp := newScannedPages(cfg.OCRLanguages, cfg.RenderDPI)
		runtime.GC()
		start := time.Now()
		pages := 0
		for _, w := range files {
			res, err := processDocument(ctx, st, w, cfg.RenderDPI, sp, func(it figItem) { filterFigure(it, cfg.Params) }, func(shards.Reject) {})
			if err != nil {
				b.Fatal(err)
			}
			pages += res.Pages
		}
		loop := time.Since(start)
		sp.close()
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
		if s.Build.Pages != pages {
			b.Fatalf("pipeline read %d pages, loop %d", s.Build.Pages, pages)
		}
		pipe := s.Elapsed
		b.ReportMetric(float64(len(files)), "docs")
		b.ReportMetric(float64(pages), "pages")
		b.ReportMetric(float64(pages)/loop.Seconds(), "loop-pages/s")
		b.ReportMetric(float64(pages)/pipe.Seconds(), "build-pages/s")
		b.ReportMetric(pipe.Seconds()/loop.Seconds(), "ratio")
		b.ReportMetric(loopPeak, "loop-peak-MiB")
		b.ReportMetric(peakRSS(), "peak-MiB")
	}
}
