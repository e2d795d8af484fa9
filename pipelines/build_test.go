package pipelines

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/eosinlab/eosin/shards"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

func TestMain(m *testing.M) { ptest.Main(m) }

const cache = "../testdata/cache"

// Real documents of the test corpus (Debian documentation PDFs), small ones.
var (
	docOutliers     = "x/r-bioc-pcamethods/usr/lib/R/site-library/pcaMethods/doc/outliers.pdf"
	docPartitioning = "x/r-cran-vegan/usr/lib/R/site-library/vegan/doc/partitioning.pdf"
	docMethodology  = "x/r-cran-seroincidence/usr/lib/R/site-library/seroincidence/doc/methodology.pdf"
	docTwinSIR      = "x/r-cran-surveillance/usr/lib/R/site-library/surveillance/doc/twinSIR.pdf"
)

// requireFile fails on CI and skips elsewhere when test material is missing.
func requireFile(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test material missing (run scripts/fetch-testdata.sh): %v", err)
		}
		t.Skipf("test material missing (run scripts/fetch-testdata.sh): %v", err)
	}
}

// copyDocs copies documents of the test corpus into dir.
func copyDocs(t testing.TB, dir string, docs ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		src := filepath.Join(cache, d)
		requireFile(t, src)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(d)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func testConfig(in, out string) Config {
	c := DefaultConfig()
	c.Inputs = []string{in}
	c.Output = out
	c.Progress = 0
	return c
}

// readDataset opens the committed version LATEST names with the shards reader and returns its
// manifest and every figure record (checking that no id appears twice).
func readDataset(t testing.TB, ref string, opts shards.ReadOptions) (*shards.Manifest, map[string]shards.Figure) {
	t.Helper()
	ctx := context.Background()
	d, err := shards.Open(ctx, ref, opts)
	if err != nil {
		t.Fatalf("open %s: %v", ref, err)
	}
	defer d.Close()
	figs := map[string]shards.Figure{}
	for rec, err := range d.Records(ctx) {
		if err != nil {
			t.Fatalf("read %s: %v", ref, err)
		}
		if rec.Figure == nil {
			t.Fatalf("record without figure: %+v", rec)
		}
		if _, dup := figs[rec.Figure.ID]; dup {
			t.Errorf("figure %s twice", rec.Figure.ID)
		}
		if len(rec.Figure.ImageBytes) == 0 {
			t.Errorf("figure %s without image bytes", rec.Figure.ID)
		}
		figs[rec.Figure.ID] = *rec.Figure
	}
	m := d.Manifest()
	if len(figs) != m.Totals.Records {
		t.Errorf("%d figures, manifest says %d", len(figs), m.Totals.Records)
	}
	return m, figs
}

// shardSums lists the sha256 of the figure shards of a manifest, sorted: equal lists mean
// byte-identical datasets (shard names differ between versions, contents do not).
func shardSums(m *shards.Manifest) []string {
	var out []string
	for _, s := range m.Shards {
		out = append(out, s.SHA256)
	}
	slices.Sort(out)
	return out
}

func ids(m map[string]shards.Figure) []string {
	var out []string
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// TestBuildIncremental builds a dataset from three real PDFs, then adds a fourth: the second
// build processes only the new document and its manifest covers all four.
func TestBuildIncremental(t *testing.T) {
	ctx := context.Background()
	in, out := filepath.Join(t.TempDir(), "in"), filepath.Join(t.TempDir(), "corpus")
	copyDocs(t, in, docOutliers, docPartitioning, docMethodology)
	s1, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	PrintSummary(os.Stderr, s1)
	if b := s1.Build; b.DocsProcessed != 3 || b.DocsSkipped != 0 || b.DocsFound != 3 || b.FiguresWritten == 0 {
		t.Fatalf("first build: %+v", b)
	}
	m1, figs1 := readDataset(t, out, shards.ReadOptions{})
	if m1.Version != s1.Version || len(m1.Documents) != 3 {
		t.Fatalf("first manifest: version %s, %d documents", m1.Version, len(m1.Documents))
	}
	// The prefix holds only versions besides LATEST and the build reports: a listing shows
	// exactly the committed one (a report folder once showed up as an uncommitted version).
	vs, err := shards.Versions(ctx, out, shards.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Version != s1.Version || !vs[0].Committed {
		t.Errorf("versions after the first build: %+v", vs)
	}
	if len(figs1) == 0 {
		t.Fatal("no figures from three captioned vignettes")
	}
	for _, f := range figs1 {
		if f.PHash == "" || f.Image.SHA256 == "" || f.Caption == "" {
			t.Errorf("figure %s incomplete: %+v", f.ID, f)
		}
	}

	copyDocs(t, in, docTwinSIR)
	s2, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	PrintSummary(os.Stderr, s2)
	if b := s2.Build; b.DocsProcessed != 1 || b.DocsSkipped != 3 || b.DocsFound != 4 {
		t.Fatalf("second build: %+v", b)
	}
	m2, figs2 := readDataset(t, out, shards.ReadOptions{})
	if m2.Version == m1.Version || len(m2.Documents) != 4 {
		t.Fatalf("second manifest: version %s, %d documents", m2.Version, len(m2.Documents))
	}
	for _, id := range ids(figs1) {
		if _, ok := figs2[id]; !ok {
			t.Errorf("figure %s of the first version missing from the second", id)
		}
	}
	if len(figs2) != len(figs1)+s2.Build.FiguresWritten || s2.Build.FiguresWritten == 0 {
		t.Errorf("second version has %d figures, first %d, second build wrote %d", len(figs2), len(figs1), s2.Build.FiguresWritten)
	}

	// A re-saved copy of a committed document (other bytes, same figures): processed, and
	// every figure it yields is dropped as a duplicate of a committed one.
	orig, err := os.ReadFile(filepath.Join(in, filepath.Base(docOutliers)))
	if err != nil {
		t.Fatal(err)
	}
	var resaved bytes.Buffer
	if err := api.Optimize(bytes.NewReader(orig), &resaved, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(resaved.Bytes(), orig) {
		t.Fatal("re-saving did not change the bytes")
	}
	if err := os.WriteFile(filepath.Join(in, "resaved.pdf"), resaved.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sr, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	PrintSummary(os.Stderr, sr)
	if b := sr.Build; b.DocsProcessed != 1 || b.FiguresFound == 0 || b.FiguresDuplicate != b.FiguresFound || b.FiguresWritten != 0 {
		t.Fatalf("re-saved copy: %+v", b)
	}
	mr, figsR := readDataset(t, out, shards.ReadOptions{})
	if len(mr.Documents) != 5 || !slices.Equal(ids(figsR), ids(figs2)) {
		t.Fatalf("after the re-saved copy: %d documents, ids %v, want %v", len(mr.Documents), ids(figsR), ids(figs2))
	}
	m2 = mr

	// Nothing new: no new version.
	s3, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if b := s3.Build; s3.Version != "" || b.DocsProcessed != 0 || b.DocsSkipped != 5 {
		t.Fatalf("third build: version %q, %+v", s3.Version, b)
	}
	if latest, _ := os.ReadFile(filepath.Join(out, shards.LatestName)); strings.TrimSpace(string(latest)) != m2.Version {
		t.Fatalf("LATEST %q after a build with nothing new, want %s", latest, m2.Version)
	}
}
