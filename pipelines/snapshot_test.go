package pipelines

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eosinlab/eosin/internal/s3test"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// dirBytes sums the sizes of the files under dir.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func verifyRef(t *testing.T, ref string, opts shards.ReadOptions) *shards.Manifest {
	t.Helper()
	ctx := context.Background()
	ds, err := shards.Open(ctx, ref, opts)
	if err != nil {
		t.Fatalf("open %s: %v", ref, err)
	}
	defer ds.Close()
	if _, err := ds.Verify(ctx); err != nil {
		t.Fatalf("verify %s: %v", ref, err)
	}
	return ds.Manifest()
}

// TestSnapshots: an incremental build references the unchanged parts of the version before
// (it writes a fraction of the first version's bytes) and reads and verifies whole; a change
// of an extraction setting processes every document again (no figure twice); inputs that
// match no file are an error; gc frees the versions no longer kept.
func TestSnapshots(t *testing.T) {
	ctx := context.Background()
	in, out := filepath.Join(t.TempDir(), "in"), filepath.Join(t.TempDir(), "corpus")
	copyDocs(t, in, docOutliers, docPartitioning, docTwinSIR)
	s1, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	m1 := verifyRef(t, out, shards.ReadOptions{})
	if s1.Build.DocsFound != 3 || m1.Stats["build"].(map[string]any)["documents_found"].(float64) != 3 {
		t.Errorf("documents_found: summary %d, manifest %v", s1.Build.DocsFound, m1.Stats["build"])
	}
	if !slices.Equal(m1.Formats, []shards.Format{shards.WebDataset, shards.Parquet}) || m1.Eosin == "" || m1.Settings["render_dpi"] == nil {
		t.Errorf("manifest: formats %v, eosin %q, settings %v", m1.Formats, m1.Eosin, m1.Settings)
	}
	b1 := dirBytes(t, filepath.Join(out, s1.Version))

	copyDocs(t, in, docMethodology)
	s2, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	m2 := verifyRef(t, out, shards.ReadOptions{})
	_, figs2 := readDataset(t, out, shards.ReadOptions{})
	b2 := dirBytes(t, filepath.Join(out, s2.Version))
	t.Logf("first version %s: %d bytes; incremental version %s (+1 document): %d bytes written (%.2f×)", s1.Version, b1, s2.Version, b2, float64(b2)/float64(b1))
	if b2*2 >= b1 {
		t.Errorf("the incremental version wrote %d bytes, the first %d", b2, b1)
	}
	if len(m2.Documents) != 4 || m2.Parent != s1.Version || len(figs2) != m2.Totals.Records {
		t.Fatalf("second manifest: %d documents, parent %q", len(m2.Documents), m2.Parent)
	}
	refs := 0
	for _, s := range m2.Shards {
		if s.Version == s1.Version {
			refs++
		}
	}
	if refs == 0 {
		t.Errorf("the second version references no shard of the first")
	}
	// Rejects of both versions are readable through the reader.
	ds, err := shards.Open(ctx, out, shards.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nrej := 0
	for _, err := range ds.Rejects(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		nrej++
	}
	ds.Close()
	if nrej != m2.Totals.Rejects {
		t.Errorf("%d rejects read, totals say %d", nrej, m2.Totals.Rejects)
	}

	// Inputs that match nothing: an error, nothing committed.
	empty := filepath.Join(t.TempDir(), "empty")
	os.MkdirAll(empty, 0o755)
	if _, err := Run(ctx, testConfig(empty, out), nil); err == nil || !strings.Contains(err.Error(), "match no PDF") {
		t.Errorf("a build over an empty directory: %v", err)
	}

	// Another caption filter: every document is processed again, once.
	c := testConfig(in, out)
	c.MinCaptionChars = 20
	s3, err := Run(ctx, c, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if s3.Build.DocsProcessed != 4 || s3.Version == "" {
		t.Fatalf("after a settings change: %+v", s3.Build)
	}
	m3 := verifyRef(t, out, shards.ReadOptions{})
	_, figs3 := readDataset(t, out, shards.ReadOptions{})
	if len(m3.Documents) != 4 || len(figs3) == 0 || len(m3.Fingerprints) != 1 {
		t.Fatalf("after a settings change: %d documents, %d figures, fingerprints %v", len(m3.Documents), len(figs3), m3.Fingerprints)
	}
	// And a rerun with the same settings finds nothing new.
	s4, err := Run(ctx, c, nil)
	if err != nil || s4.Version != "" || s4.Build.DocsSkipped != 4 {
		t.Fatalf("rerun: %v %+v", err, s4)
	}

	// gc: keep the newest version only.
	st, err := storage.OpenLocal(out)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before := dirBytes(t, out)
	dry, err := shards.GC(ctx, st, shards.GCOptions{Keep: 1})
	if err != nil || dirBytes(t, out) != before {
		t.Fatalf("dry run: %v", err)
	}
	rep, err := shards.GC(ctx, st, shards.GCOptions{Keep: 1, Delete: true})
	if err != nil {
		t.Fatal(err)
	}
	after := dirBytes(t, out)
	t.Logf("gc --keep 1: %d → %d bytes (freed %d; report %d bytes in %d objects, removed %v)", before, after, before-after, rep.Bytes, rep.Objects, rep.Removed)
	if dry.Bytes != rep.Bytes || rep.Bytes == 0 || before-after < rep.Bytes {
		t.Errorf("gc: dry run %d bytes, deleted %d, freed %d", dry.Bytes, rep.Bytes, before-after)
	}
	verifyRef(t, out, shards.ReadOptions{})
	vs, err := shards.VersionsIn(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Committed && v.Version != s3.Version {
			t.Errorf("version %s still committed after gc --keep 1", v.Version)
		}
	}
}

// TestHelperRaceBuild is one of the racing builds TestRacingBuilds starts as a process.
func TestHelperRaceBuild(t *testing.T) {
	in, out := os.Getenv("EOSIN_RACE_IN"), os.Getenv("EOSIN_RACE_OUT")
	if in == "" {
		t.Skip("helper process for TestRacingBuilds")
	}
	c := testConfig(in, out)
	c.S3Endpoint, c.S3CABundle = os.Getenv("EOSIN_RACE_S3"), os.Getenv("EOSIN_RACE_CA")
	s, err := Run(context.Background(), c, nil)
	res := map[string]any{"version": "", "err": ""}
	if s != nil {
		res["version"], res["superseded_by"] = s.Version, s.SupersededBy
	}
	if err != nil {
		res["err"] = err.Error()
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RACE %s\n", b)
}

// race starts two builds of the same inputs into out, the second after delay, and returns
// their results.
func race(t *testing.T, in, out string, delay time.Duration, env ...string) []map[string]any {
	t.Helper()
	var wg sync.WaitGroup
	res := make([]map[string]any, 2)
	for i := range 2 {
		if i == 1 {
			time.Sleep(delay)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRaceBuild$", "-test.v")
			cmd.Env = append(append(os.Environ(), "EOSIN_RACE_IN="+in, "EOSIN_RACE_OUT="+out), env...)
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("race build %d: %v\n%s", i, err, b)
				return
			}
			for _, l := range strings.Split(string(b), "\n") {
				if j, ok := strings.CutPrefix(l, "RACE "); ok {
					json.Unmarshal([]byte(j), &res[i])
				}
			}
			if res[i] == nil {
				t.Errorf("race build %d printed no result:\n%s", i, b)
			}
		}()
	}
	wg.Wait()
	return res
}

// TestRacingBuilds starts two incremental builds of the same inputs at once and 1.5 s apart,
// on a local directory and on the S3 test server: the committed LATEST always verifies, the
// build that loses either gives way (everything it processed is committed) or fails with a
// message, and a later build holds every document.
func TestRacingBuilds(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	copyDocs(t, in, docOutliers, docPartitioning)
	srv := s3test.Start(t)
	srv.MakeBucket("test")
	srv.SetEnv()
	s3cfg := storage.S3Config{Endpoint: "https://" + srv.Addr, CABundle: srv.CertFile}
	for _, tc := range []struct {
		name  string
		s3    bool
		delay time.Duration
	}{{"local same second", false, 0}, {"local 1.5s apart", false, 1500 * time.Millisecond},
		{"s3 same second", true, 0}, {"s3 1.5s apart", true, 1500 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			out := filepath.Join(t.TempDir(), "corpus")
			var env []string
			opts := shards.ReadOptions{}
			if tc.s3 {
				out = "s3://test/" + strings.ReplaceAll(tc.name, " ", "-")
				env = []string{"EOSIN_RACE_S3=https://" + srv.Addr, "EOSIN_RACE_CA=" + srv.CertFile}
				opts.S3 = s3cfg
			}
			// A committed first version, then two racing incremental builds adding a document.
			c := testConfig(in, out)
			c.S3Endpoint, c.S3CABundle = "https://"+srv.Addr, srv.CertFile
			c.Inputs = []string{filepath.Join(in, filepath.Base(docOutliers))}
			if _, err := Run(ctx, c, nil); err != nil {
				t.Fatal(err)
			}
			res := race(t, in, out, tc.delay, env...)
			t.Logf("%s: %v", tc.name, res)
			m := verifyRef(t, out, opts)
			committed := 0
			for _, r := range res {
				if r["version"] != "" {
					committed++
				}
			}
			if committed == 0 {
				t.Errorf("neither build committed: %v", res)
			}
			// A later build holds every document.
			c.Inputs = []string{in}
			if _, err := Run(ctx, c, nil); err != nil {
				t.Fatal(err)
			}
			m = verifyRef(t, out, opts)
			if len(m.Documents) != 2 {
				t.Errorf("after the race and a rerun: %d documents", len(m.Documents))
			}
			vs, err := shards.Versions(ctx, out, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				if v.Committed {
					verifyRef(t, out+"@"+v.Version, opts)
				}
			}
		})
	}
}
