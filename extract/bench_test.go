package extract

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInterpretCorpus reads every page of the real corpus (words, lines, images,
// graphics; no rendering) and runs `pdftotext -bbox` on the same files in the same iteration.
// It reports pages per second for both, by wall clock and by CPU time, and their ratio.
// "images" also re-encodes every non-JPEG image to PNG.
func BenchmarkInterpretCorpus(b *testing.B) {
	needTool(b, "pdftotext")
	docs := corpus(b)
	for _, mode := range []string{"geometry", "images"} {
		b.Run(mode, func(b *testing.B) {
			var opts []Option
			if mode == "geometry" {
				opts = append(opts, WithoutImageData())
			}
			var pages int
			var ourWall, ourCPU, popWall, popCPU time.Duration
			for b.Loop() {
				pages = 0
				for _, c := range docs {
					w0, c0 := time.Now(), cpuTime()
					d, err := Open(c.path, opts...)
					if err != nil {
						b.Fatal(err)
					}
					for n := 1; n <= d.NumPages(); n++ {
						if _, err := d.Page(context.Background(), n); err != nil {
							b.Fatalf("%s page %d: %v", c.short(), n, err)
						}
					}
					pages += d.NumPages()
					d.Close()
					ourWall += time.Since(w0)
					ourCPU += cpuTime() - c0
					if mode != "geometry" {
						continue
					}
					cmd := exec.Command("pdftotext", "-bbox", c.path, "/dev/null")
					w0 = time.Now()
					if err := cmd.Run(); err != nil {
						b.Fatalf("pdftotext %s: %v", c.path, err)
					}
					popWall += time.Since(w0)
					popCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				}
			}
			n := float64(b.N * pages)
			b.ReportMetric(n/ourWall.Seconds(), "pages/s")
			b.ReportMetric(n/ourCPU.Seconds(), "pages/cpu-s")
			if mode == "geometry" {
				b.ReportMetric(n/popWall.Seconds(), "pdftotext-pages/s")
				b.ReportMetric(n/popCPU.Seconds(), "pdftotext-pages/cpu-s")
				b.ReportMetric(popCPU.Seconds()/ourCPU.Seconds(), "speedup-cpu")
				b.ReportMetric(popWall.Seconds()/ourWall.Seconds(), "speedup-wall")
			}
			b.ReportMetric(float64(pages), "pages")
		})
	}
}

// renderSample is the pages rendered by BenchmarkRender: the first three pages of a mix of
// text-heavy, vector-plot and raster-image documents.
var renderSample = []string{"DESeq.pdf", "NOISeq.pdf", "dsum360.pdf", "manual.pdf", "survival.pdf", "3depict-manual.pdf"}

// BenchmarkRender renders pages at 150 dpi with MuPDF and with `pdftoppm -r 150` (poppler,
// writing PPM files) and reports milliseconds per page for both.
func BenchmarkRender(b *testing.B) {
	needTool(b, "pdftoppm")
	var sample []corpusDoc
	for _, c := range corpus(b) {
		for _, s := range renderSample {
			if c.short()[len(c.short())-len(s):] == s {
				sample = append(sample, c)
			}
		}
	}
	dir := b.TempDir()
	var pages int
	var ours, pop time.Duration
	for b.Loop() {
		pages = 0
		for _, c := range sample {
			d, err := Open(c.path, WithoutImageData())
			if err != nil {
				b.Fatal(err)
			}
			last := min(3, d.NumPages())
			t0 := time.Now()
			for n := 1; n <= last; n++ {
				if _, err := d.Render(context.Background(), n, 150, Rect{}); err != nil {
					b.Fatal(err)
				}
			}
			ours += time.Since(t0)
			d.Close()
			t0 = time.Now()
			cmd := exec.Command("pdftoppm", "-r", "150", "-f", "1", "-l", fmt.Sprint(last), c.path, dir+"/p")
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
			pop += time.Since(t0)
			pages += last
		}
	}
	n := float64(b.N * pages)
	b.ReportMetric(float64(ours.Milliseconds())/n, "ms/page")
	b.ReportMetric(float64(pop.Milliseconds())/n, "pdftoppm-ms/page")
	b.ReportMetric(float64(pages), "pages")
}
