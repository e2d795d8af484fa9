package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
