package pipelines

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/eosinlab/eosin/internal/s3test"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// waitPort waits until addr accepts connections.
func waitPort(t *testing.T, addr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after %s", addr, d)
}

// startProcess starts a server process and stops it (by its pid) when the test ends.
func startProcess(t *testing.T, logName string, cmd *exec.Cmd) {
	t.Helper()
	lf, err := os.Create(filepath.Join(t.TempDir(), logName))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		lf.Close()
	})
}

// TestPortableRunner builds the standalone prism job server from the Beam module, starts it on
// loopback and runs the build through it with --runner=universal and LOOPBACK workers: the
// dataset is byte-identical to the in-process run's.
func TestPortableRunner(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("go toolchain not found")
		}
		t.Skip("go toolchain not found")
	}
	bin := filepath.Join(t.TempDir(), "prism")
	build := exec.Command(gobin, "build", "-o", bin, "github.com/apache/beam/sdks/v2/go/cmd/prism")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build prism: %v\n%s", err, out)
	}
	jobPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	webPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	startProcess(t, "prism.log", exec.Command(bin, fmt.Sprintf("-job_port=%d", jobPort), fmt.Sprintf("-web_port=%d", webPort), "-serve_http=false"))
	endpoint := fmt.Sprintf("localhost:%d", jobPort)
	waitPort(t, endpoint, time.Minute)

	in := filepath.Join(t.TempDir(), "in")
	copyDocs(t, in, docOutliers, docPartitioning)
	local, remote := filepath.Join(t.TempDir(), "local"), filepath.Join(t.TempDir(), "remote")
	if _, err := Run(context.Background(), testConfig(in, local), nil); err != nil {
		t.Fatal(err)
	}
	rc := testConfig(in, remote)
	rc.Runner, rc.Endpoint, rc.EnvironmentType = "universal", endpoint, "LOOPBACK"
	rc.Progress = 200 * time.Millisecond
	var progress strings.Builder
	s, err := Run(context.Background(), rc, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if s.Runner != "universal" || s.Build.DocsProcessed != 2 {
		t.Fatalf("summary %+v", s)
	}
	mL, figsL := readDataset(t, local, shards.ReadOptions{})
	mR, figsR := readDataset(t, remote, shards.ReadOptions{})
	if !slices.Equal(ids(figsL), ids(figsR)) || !slices.Equal(shardSums(mL), shardSums(mR)) || len(figsL) == 0 {
		t.Fatalf("universal run differs:\nlocal  %v %v\nremote %v %v", ids(figsL), shardSums(mL), ids(figsR), shardSums(mR))
	}
	t.Logf("progress lines from the job server:\n%s", progress.String())
}

// TestS3Output reads the PDFs from and writes the dataset to a loopback S3 server (versitygw
// over TLS, as in the shards tests), then reads it back with the shards reader.
func TestS3Output(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("test")
	srv.SetEnv()
	addr, certFile := srv.Addr, srv.CertFile
	ctx := context.Background()
	s3cfg := storage.S3Config{Endpoint: "https://" + addr, CABundle: certFile}
	st, err := storage.Open(ctx, "s3://test/in", s3cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{docOutliers, docPartitioning} {
		b, err := os.ReadFile(filepath.Join(cache, d))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, "docs/"+filepath.Base(d), b); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	c := testConfig("s3://test/in", "s3://test/corpus")
	c.S3Endpoint, c.S3CABundle = "https://"+addr, certFile
	s, err := Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Build.DocsProcessed != 2 || s.Manifest == nil {
		t.Fatalf("summary %+v", s)
	}
	m, figs := readDataset(t, "s3://test/corpus", shards.ReadOptions{S3: s3cfg})
	if len(figs) == 0 || len(m.Documents) != 2 {
		t.Fatalf("%d figures, %d documents", len(figs), len(m.Documents))
	}
	for _, f := range figs {
		if !strings.HasPrefix(f.Doc.URI, "s3://test/in/docs/") {
			t.Errorf("figure %s from %s", f.ID, f.Doc.URI)
		}
	}
	// The same documents built locally give the same figure ids.
	in := filepath.Join(t.TempDir(), "in")
	copyDocs(t, in, docOutliers, docPartitioning)
	local := filepath.Join(t.TempDir(), "local")
	if _, err := Run(ctx, testConfig(in, local), nil); err != nil {
		t.Fatal(err)
	}
	_, figsL := readDataset(t, local, shards.ReadOptions{})
	if !slices.Equal(ids(figs), ids(figsL)) {
		t.Fatalf("S3 build ids %v, local %v", ids(figs), ids(figsL))
	}
}

// TestGraph runs the corpus graph itself under ptest (prism) and checks its PCollections with
// passert: one work item per distinct document, every extracted figure accounted for as kept
// or rejected, and no English caption rejected for its language.
func TestGraph(t *testing.T) {
	in, out := filepath.Join(t.TempDir(), "in"), filepath.Join(t.TempDir(), "corpus")
	copyDocs(t, in, docOutliers, docPartitioning, docMethodology)
	if err := os.Symlink(filepath.Join(in, filepath.Base(docOutliers)), filepath.Join(in, "copy.pdf")); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	g := buildGraph(s, plan{cfg: testConfig(in, out), version: "v1", created: "2026-01-01T00:00:00Z"})
	passert.Count(s, g.work, "work items", 3)
	passert.Count(s, g.results, "document results", 3)
	passert.NonEmpty(s, g.kept)
	accounted := stats.Sum(s, beam.Flatten(s, beam.ParDo(s, countOne, g.kept), beam.ParDo(s, figureRejectOne, g.rejects)))
	passert.Equals(s, accounted, stats.Sum(s, beam.ParDo(s, countOne, g.figures)))
	passert.False(s, g.rejects, languageReject)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}

func init() {
	register.Function2x0(figureRejectOne)
	register.Function1x1(languageReject)
}

// figureRejectOne emits 1 for each figure dropped by the filters or by dedup.
func figureRejectOne(r shards.Reject, emit func(int)) {
	if r.Kind == "figure" && (r.Stage == "filter" || r.Stage == "dedup") {
		emit(1)
	}
}

// languageReject reports a caption rejected for its language.
func languageReject(r shards.Reject) bool { return r.Reason == "caption_language" }
