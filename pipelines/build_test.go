package pipelines

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/eosinlab/eosin/shards"
)

func TestMain(m *testing.M) { ptest.Main(m) }

const cache = "../testdata/cache"

// Real documents of the test corpus (Debian documentation PDFs), small ones.
var (
	docOutliers     = "x/r-bioc-pcamethods/usr/lib/R/site-library/pcaMethods/doc/outliers.pdf"
	docPartitioning = "x/r-cran-vegan/usr/lib/R/site-library/vegan/doc/partitioning.pdf"
	docMethodology  = "x/r-cran-seroincidence/usr/lib/R/site-library/seroincidence/doc/methodology.pdf"
	docMissing      = "x/r-bioc-pcamethods/usr/lib/R/site-library/pcaMethods/doc/missingValues.pdf"
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

// readDataset reads the committed version LATEST names: its manifest and every figure record.
func readDataset(t testing.TB, dir string) (*shards.Manifest, map[string]shards.Figure) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, shards.LatestName))
	if err != nil {
		t.Fatalf("LATEST: %v", err)
	}
	v := strings.TrimSpace(string(b))
	mb, err := os.ReadFile(filepath.Join(dir, v, shards.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := shards.ParseManifest(mb)
	if err != nil {
		t.Fatal(err)
	}
	figs := map[string]shards.Figure{}
	for _, s := range m.Shards {
		f, err := os.Open(filepath.Join(dir, v, s.Path))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(f)
		n := 0
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", s.Path, err)
			}
			if !strings.HasSuffix(h.Name, ".json") {
				continue
			}
			var fig shards.Figure
			data, _ := io.ReadAll(tr)
			if err := json.Unmarshal(data, &fig); err != nil {
				t.Fatalf("%s %s: %v", s.Path, h.Name, err)
			}
			if _, dup := figs[fig.ID]; dup {
				t.Errorf("figure %s twice", fig.ID)
			}
			figs[fig.ID] = fig
			n++
		}
		f.Close()
		if n != s.Records {
			t.Errorf("%s: %d records, manifest says %d", s.Path, n, s.Records)
		}
	}
	if len(figs) != m.Totals.Records {
		t.Errorf("%d figures, manifest says %d", len(figs), m.Totals.Records)
	}
	return m, figs
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
	m1, figs1 := readDataset(t, out)
	if m1.Version != s1.Version || len(m1.Documents) != 3 {
		t.Fatalf("first manifest: version %s, %d documents", m1.Version, len(m1.Documents))
	}
	if len(figs1) == 0 {
		t.Fatal("no figures from three captioned vignettes")
	}
	for _, f := range figs1 {
		if f.PHash == "" || f.Image.SHA256 == "" || f.Caption == "" {
			t.Errorf("figure %s incomplete: %+v", f.ID, f)
		}
	}

	copyDocs(t, in, docMissing)
	s2, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	PrintSummary(os.Stderr, s2)
	if b := s2.Build; b.DocsProcessed != 1 || b.DocsSkipped != 3 || b.DocsFound != 4 {
		t.Fatalf("second build: %+v", b)
	}
	m2, figs2 := readDataset(t, out)
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

	// Nothing new: no new version.
	s3, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if b := s3.Build; s3.Version != "" || b.DocsProcessed != 0 || b.DocsSkipped != 4 {
		t.Fatalf("third build: version %q, %+v", s3.Version, b)
	}
	if latest, _ := os.ReadFile(filepath.Join(out, shards.LatestName)); strings.TrimSpace(string(latest)) != m2.Version {
		t.Fatalf("LATEST %q after a build with nothing new, want %s", latest, m2.Version)
	}
}
