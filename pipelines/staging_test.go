package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// TestBuildResumesFromStaging: the layout and rendering a killed build finished are kept in
// staging and reused by the rerun, which commits them (a staged caption marked here comes out
// in the dataset, so it was not computed again) and then removes that staging.
func TestBuildResumesFromStaging(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	in, out := filepath.Join(root, "in"), filepath.Join(root, "out")
	copyDocs(t, in, docPartitioning, docOutliers)
	cfg := testConfig(in, out)
	_, fp := cfg.ExtractionSettings()
	stg := stage{sink: sink{Output: out}, Key: stagingKey(fp, eosinVersion())}

	// The killed build: partitioning.pdf laid out and rendered, nothing committed.
	doc := filepath.Join(in, filepath.Base(docPartitioning))
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	lf := &layoutFn{OCR: cfg.OCR, PagesPerRange: cfg.PagesPerRange, DPI: cfg.RenderDPI, Stage: stg}
	lf.Setup()
	var ranges []rangeItem
	if err := lf.ProcessElement(ctx, workItem{URI: doc, SHA256: sha}, func(r rangeItem) { ranges = append(ranges, r) },
		func(shards.Reject) {}, func(docResult) {}, func(figItem) {}); err != nil {
		t.Fatal(err)
	}
	lf.Teardown()
	if len(ranges) == 0 {
		t.Fatal("no page ranges to render")
	}
	rf := &renderFn{DPI: cfg.RenderDPI, OCRLanguages: cfg.OCRLanguages, Stage: stg}
	rf.Setup()
	for _, r := range ranges {
		if err := rf.ProcessElement(ctx, r, func(figItem) {}, func(shards.Reject) {}, func(rangeResult) {}); err != nil {
			t.Fatal(err)
		}
	}
	rf.Teardown()

	// Mark one staged figure's caption: only a build that reuses staging can commit it.
	key := filepath.Join(out, filepath.FromSlash(stg.rangeKey(sha, ranges[0].First, ranges[0].Last)))
	b, err := os.ReadFile(key)
	if err != nil {
		t.Fatalf("nothing staged: %v", err)
	}
	var sr stagedRange
	if err := json.Unmarshal(b, &sr); err != nil || len(sr.Figures) == 0 {
		t.Fatalf("staged range: %v, %d figures", err, len(sr.Figures))
	}
	var fig shards.Figure
	if err := json.Unmarshal(sr.Figures[0].Record, &fig); err != nil {
		t.Fatal(err)
	}
	marked := "Resumed from staging: " + fig.Caption
	fig.Caption = marked
	sr.Figures[0].Record, _ = json.Marshal(fig)
	b, _ = json.Marshal(sr)
	if err := os.WriteFile(key, b, 0o644); err != nil {
		t.Fatal(err)
	}

	s, err := Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version == "" || s.Build.DocsProcessed != 2 {
		t.Fatalf("rerun: version %q, stats %+v", s.Version, s.Build)
	}
	_, figs := readDataset(t, out, shards.ReadOptions{})
	found, others := false, 0
	for _, f := range figs {
		if f.Caption == marked {
			found = true
		}
		if strings.HasSuffix(f.Doc.URI, filepath.Base(docOutliers)) {
			others++
		}
	}
	if !found {
		t.Error("the staged (marked) figure is not in the dataset: staging was not reused")
	}
	if others == 0 {
		t.Error("the document without staging gave no figure")
	}
	if n := s.Counters[cRangesResumed]; n < 1 {
		t.Logf("counters %v", s.Counters) // Beam counters are approximate on prism; the marked caption is the proof
	}
	// Committed: the staging of both documents is gone.
	if _, err := os.Stat(filepath.Join(out, stagingRoot, stg.Key, sha)); !os.IsNotExist(err) {
		t.Errorf("staging of a committed document left behind: %v", err)
	}
}
