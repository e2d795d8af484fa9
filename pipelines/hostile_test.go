package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/internal/hostile"
	"github.com/eosinlab/eosin/shards"
)

// TestHostileBuild runs the build over the hostile corpus (internal/hostile: pages without
// text, NaN and huge page boxes, UserUnit, lying page counts, decompression bombs, recursive
// forms, broken fonts and CMaps, truncation, bit flips, encryption) mixed with good PDFs: the
// build succeeds and commits, every figure of the good documents comes out as it does
// without the hostile ones, and every hostile file is accounted for (a reject, or a figure
// of the dataset); none is rejected for a panic.
func TestHostileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("decompression bombs take seconds")
	}
	root := t.TempDir()
	goodIn, mixedIn := filepath.Join(root, "good"), filepath.Join(root, "mixed")
	copyDocs(t, goodIn, docOutliers)
	copyDocs(t, mixedIn, docOutliers)
	for _, dir := range []string{goodIn, mixedIn} {
		if err := os.WriteFile(filepath.Join(dir, "generated-good.pdf"), hostile.GoodDocument(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hostileSHA := map[string]string{} // file → sha256
	for _, c := range hostile.Corpus() {
		name := "hostile-" + c.Name + ".pdf"
		if err := os.WriteFile(filepath.Join(mixedIn, name), c.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(c.Data)
		hostileSHA[name] = hex.EncodeToString(s[:])
	}
	ctx := context.Background()
	goodOut, mixedOut := filepath.Join(root, "good-corpus"), filepath.Join(root, "mixed-corpus")
	if _, err := Run(ctx, testConfig(goodIn, goodOut), nil); err != nil {
		t.Fatal(err)
	}
	_, want := readDataset(t, goodOut, shards.ReadOptions{})
	s, err := Run(ctx, testConfig(mixedIn, mixedOut), nil)
	if err != nil {
		t.Fatalf("build over the hostile corpus: %v", err)
	}
	PrintSummary(os.Stderr, s)
	if _, err := os.Stat(filepath.Join(mixedOut, "LATEST")); err != nil {
		t.Fatalf("nothing committed: %v", err)
	}
	m, got := readDataset(t, mixedOut, shards.ReadOptions{})
	if len(want) < 3 {
		t.Fatalf("the good documents gave only %d figures", len(want))
	}
	for id, f := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("good figure %s (%s page %d) missing from the mixed build", id, filepath.Base(f.Doc.URI), f.Page)
		}
	}
	rejects := readRejects(t, mixedOut, m)
	rejected := map[string][]string{} // file → reasons
	for _, r := range rejects {
		name := filepath.Base(r.URI)
		rejected[name] = append(rejected[name], r.Reason)
		if r.Reason == "panic" {
			t.Errorf("panic reject: %+v", r)
		}
	}
	withFigures := map[string]bool{} // document sha256 → gave a figure
	for _, f := range got {
		withFigures[f.Doc.SHA256] = true
	}
	for name, sha := range hostileSHA {
		if len(rejected[name]) == 0 && !withFigures[sha] {
			t.Errorf("%s is not accounted for: no reject and no figure", name)
		}
	}
	for name, reason := range map[string]string{
		"hostile-huge_mediabox.pdf":      "limit_pixels",
		"hostile-flate_bomb_content.pdf": "limit_stream",
		"hostile-flate_bomb_many.pdf":    "limit_document",
		"hostile-encrypted_password.pdf": "encrypted",
		"hostile-truncated_half.pdf":     "corrupt",
		"hostile-empty_file.pdf":         "corrupt",
	} {
		if !slices.Contains(rejected[name], reason) {
			t.Errorf("%s: rejects %v, want %s", name, rejected[name], reason)
		}
	}
	for name, rs := range rejected {
		if strings.HasPrefix(name, "hostile-count_") && len(rs) > 2 {
			t.Errorf("%s: %d rejects for a page count that lies", name, len(rs))
		}
	}
}
