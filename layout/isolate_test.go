package layout

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eosinlab/eosin/internal/hostile"
)

// TestHostileDocuments: every case of the hostile corpus (pages without any text, NaN and
// huge page boxes, lying page counts, bombs, recursive forms, broken fonts and CMaps, damaged
// files) gives a result without panicking, naming the document in each reject; a good
// document still gives its figures. The cases that once crashed are checked by name.
func TestHostileDocuments(t *testing.T) {
	if testing.Short() {
		t.Skip("decompression bombs take seconds")
	}
	dir := t.TempDir()
	want := map[string]string{ // case → a reject reason it must give ("" for none required)
		"huge_mediabox":      "limit_pixels",
		"flate_bomb_content": "limit_stream",
		"flate_bomb_many":    "limit_document",
		"form_self":          "limit_form_depth",
		"encrypted_password": "encrypted",
		"truncated_half":     "corrupt",
		"nan_mediabox":       "corrupt",
	}
	for _, c := range hostile.Corpus() {
		t.Run(c.Name, func(t *testing.T) {
			path := filepath.Join(dir, c.Name+".pdf")
			if err := os.WriteFile(path, c.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := extractIsolated(context.Background(), path, Options{Render: true, Tables: true, URI: path})
			if err != nil && strings.Contains(err.Error(), "panic") {
				t.Fatalf("panic: %v", err)
			}
			if len(res.Rejects) > 50 {
				t.Errorf("%d rejects", len(res.Rejects))
			}
			reasons := map[string]bool{}
			for _, r := range res.Rejects {
				reasons[r.Reason] = true
				if r.URI != path || r.Reason == "panic" {
					t.Errorf("reject %+v", r)
				}
			}
			if w := want[c.Name]; w != "" && !reasons[w] {
				t.Errorf("no %s reject in %+v (err %v)", w, res.Rejects, err)
			}
		})
	}
	good := filepath.Join(dir, "good.pdf")
	if err := os.WriteFile(good, hostile.GoodDocument(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ExtractFile(context.Background(), good, Options{Render: true})
	if err != nil || len(res.Figures) != 2 {
		t.Errorf("good document: %d figures, %v", len(res.Figures), err)
	}
}

// TestPanicBecomesReject: a panic inside a page's layout step is that page's reject, with
// the document, the page and where it happened.
func TestPanicBecomesReject(t *testing.T) {
	err := safely("doc.pdf", 7, func() {
		var a []int
		_ = a[0]
	})
	pe, ok := err.(*PanicError)
	if !ok {
		t.Fatalf("err %v", err)
	}
	r := pe.reject("abc")
	if r.Kind != "page" || r.Page != 7 || r.Reason != "panic" || r.URI != "doc.pdf" || !strings.Contains(r.Detail, "index out of range") ||
		!strings.Contains(r.Detail, "layout/isolate_test.go") {
		t.Errorf("reject %+v", r)
	}
}

// BenchmarkLongBook lays out and renders a generated 5,000-page book (a captioned figure on
// every tenth page) and reports pages/s and the peak Go heap sampled every 50 ms: a document's
// memory is its text lines, never its pages. Peak RSS is measured outside (docs/pipelines.md).
//
//	go test -run '^$' -bench LongBook -benchtime 1x ./layout/
func BenchmarkLongBook(b *testing.B) {
	path := filepath.Join(b.TempDir(), "book.pdf")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if err := hostile.WriteBook(w, 5000, 10); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				mu.Lock()
				peak = max(peak, ms.HeapInuse)
				mu.Unlock()
			}
		}
	}()
	b.ResetTimer()
	for range b.N {
		res, err := ExtractFile(context.Background(), path, Options{Render: true})
		if err != nil || len(res.Figures) != 500 {
			b.Fatalf("%d figures, %v", len(res.Figures), err)
		}
	}
	b.StopTimer()
	close(done)
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "pages/s")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-peak")
}
