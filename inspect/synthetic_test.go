package inspect

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReportSynthetic builds a report over synthetic records in several data chunks, with
// pages drawn from a real corpus PDF, and checks it in Chromium.
func TestReportSynthetic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := t.TempDir()
	figs := writeSynthetic(t, in, 1200, 4, 20, 60)
	out := filepath.Join(t.TempDir(), "report")
	if d := os.Getenv("INSPECT_REPORT"); d != "" {
		out = filepath.Join(d, "synthetic")
	}
	src, err := OpenDir(in)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Build(ctx, Options{Dir: out, ChunkSize: 500, Renderer: ExtractRenderer{}}, src)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Figures != len(figs) {
		t.Fatalf("built %d figures, want %d", sum.Figures, len(figs))
	}
	checkReport(ctx, t, out, figs, "kidney biopsy", shotDir(t))
}
