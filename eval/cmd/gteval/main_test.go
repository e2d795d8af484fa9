package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// biomedDir is the development set of biomedical articles with publisher-XML ground truth,
// kept beside the repository (never inside it).
var biomedDir = filepath.Join("..", "..", "..", "..", "shared", "data", "biomed")

// TestBiomedCaptions runs the born-digital extraction (no rendering, no OCR) over the biomedical
// development set and holds recall and precision at the level reached: 47 articles from about
// 25 publishers, with frames around figure and caption, letter-spaced and hyphenated labels,
// duplicated text layers, hanging indents and legends running over to the next page.
func TestBiomedCaptions(t *testing.T) {
	if _, err := os.Stat(filepath.Join(biomedDir, "gt.jsonl")); err != nil {
		t.Skipf("biomedical development set not present at %s: %v", biomedDir, err)
	}
	if testing.Short() {
		t.Skip("extracts 47 articles; skipped in -short mode")
	}
	totals, err := run(t.Context(), options{dir: biomedDir, out: t.TempDir(), jobs: 2, dpi: 72}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	born := totals["born-digital"]
	t.Logf("born-digital: recall %.3f precision %.3f (%d true, %d found, %d matched)", born.Recall(), born.Precision(), born.Truths, born.Preds, born.Matched)
	if born.Truths < 100 {
		t.Fatalf("only %d true figures read from gt.jsonl", born.Truths)
	}
	if born.Recall() < 0.95 || born.Precision() < 0.95 {
		t.Errorf("born-digital recall %.3f precision %.3f, want both ≥ 0.95", born.Recall(), born.Precision())
	}
}
