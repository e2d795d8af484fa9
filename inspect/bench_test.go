package inspect

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/eosinlab/eosin/inspect/internal/browser"
)

// benchFigures is the size of the synthetic input of the benchmarks.
const benchFigures = 100_000

// benchIn is the synthetic input shared by the benchmarks (written once, removed by TestMain).
var benchIn struct {
	once sync.Once
	dir  string
	err  error
}

// benchInput returns an `eosin extract`-shaped directory of 100,000 synthetic figures (each
// with its own crop file) over 200 documents, 2,000 rejects and 1,000 samples.
func benchInput(b *testing.B) *DirSource {
	benchIn.once.Do(func() {
		benchIn.dir, benchIn.err = os.MkdirTemp("", "eosin-inspect-bench-")
		if benchIn.err == nil {
			writeSynthetic(b, benchIn.dir, benchFigures, 200, 50, 1000)
		}
	})
	if benchIn.err != nil {
		b.Fatal(benchIn.err)
	}
	src, err := OpenDir(benchIn.dir)
	if err != nil {
		b.Fatal(err)
	}
	return src
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchIn.dir != "" {
		os.RemoveAll(benchIn.dir)
	}
	os.Exit(code)
}

// BenchmarkBuild100k builds a report over 100,000 synthetic figure records (each with its
// own crop file to copy), 2,000 rejects and 1,000 samples. Goal: under a minute.
func BenchmarkBuild100k(b *testing.B) {
	src := benchInput(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "report")
		start := time.Now()
		sum, err := Build(context.Background(), Options{Dir: out}, src)
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.ReportMetric(el.Seconds(), "s/report")
		b.ReportMetric(float64(sum.Figures)/el.Seconds(), "figures/s")
		b.ReportMetric(float64(sum.Bytes)/1e6, "MB")
		b.StopTimer()
		os.RemoveAll(out)
		b.StartTimer()
	}
}

// BenchmarkPaint100k opens a report over 100,000 figures in headless Chromium and measures
// time to first contentful paint, to the overview being drawn, to the first gallery page,
// and for a caption search over all figures.
func BenchmarkPaint100k(b *testing.B) {
	exe := needChromium(b)
	src := benchInput(b)
	out := filepath.Join(b.TempDir(), "report")
	if _, err := Build(context.Background(), Options{Dir: out}, src); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	br, err := browser.Launch(ctx, exe, 1440, 960)
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A fresh document each time: about:blank first, then the report.
		if err := br.Navigate(ctx, "about:blank"); err != nil {
			b.Fatal(err)
		}
		if err := br.Navigate(ctx, fileURL(filepath.Join(out, "index.html"))); err != nil {
			b.Fatal(err)
		}
		if err := br.WaitFor(ctx, `document.documentElement.dataset.state === 'ready'`, time.Minute); err != nil {
			b.Fatal(err)
		}
		var t struct {
			FCP   float64 `json:"fcp"`
			Ready float64 `json:"ready"`
		}
		if err := br.Eval(ctx, `(async () => {
			for (let k = 0; k < 100 && !performance.getEntriesByName('first-contentful-paint').length; k++)
				await new Promise(r => setTimeout(r, 20));
			const p = performance.getEntriesByName('first-contentful-paint')[0];
			const r = performance.getEntriesByName('eosin:ready:overview')[0];
			return {fcp: p ? p.startTime : -1, ready: r ? r.startTime : -1}; })()`, &t); err != nil {
			b.Fatal(err)
		}
		gallery := timeView(ctx, b, br, "#figures")
		search := timeView(ctx, b, br, "#figures?q=kidney+biopsy")
		var n int
		br.Eval(ctx, `+document.getElementById('result').dataset.count`, &n)
		if n == 0 {
			b.Fatal("search found nothing")
		}
		var last string
		if err := br.Eval(ctx, `EOSIN.load('ids', 0).then(k => k[k.length - 1])`, &last); err != nil {
			b.Fatal(err)
		}
		figure := timeView(ctx, b, br, "#figure/"+url.PathEscape(last))
		b.ReportMetric(t.FCP, "ms-first-paint")
		b.ReportMetric(t.Ready, "ms-overview")
		b.ReportMetric(gallery, "ms-gallery")
		b.ReportMetric(search, "ms-search")
		b.ReportMetric(figure, "ms-figure")
	}
}

// timeView switches the report to hash and returns the milliseconds until it is drawn.
func timeView(ctx context.Context, b *testing.B, br *browser.Browser, hash string) float64 {
	var ms float64
	err := br.Eval(ctx, fmt.Sprintf(`(async () => { const t0 = performance.now(), r0 = EOSIN.routes; location.hash = %q;
		while (EOSIN.routes === r0 || document.documentElement.dataset.state !== 'ready') {
			if (document.documentElement.dataset.state === 'error') throw new Error('view failed');
			await new Promise(r => setTimeout(r, 5));
		}
		await new Promise(r => requestAnimationFrame(() => r()));
		return performance.now() - t0; })()`, hash), &ms)
	if err != nil {
		b.Fatal(err)
	}
	return ms
}
