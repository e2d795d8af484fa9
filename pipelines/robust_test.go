package pipelines

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// corruptPage returns a copy of a real PDF whose page n content stream has damaged
// compressed bytes (the rest of the file is untouched, so the other pages still read).
func corruptPage(t *testing.T, data []byte, n int) []byte {
	t.Helper()
	ctx, err := api.ReadContext(bytes.NewReader(data), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatal(err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		t.Fatal(err)
	}
	d, _, _, err := ctx.PageDict(n, false)
	if err != nil {
		t.Fatal(err)
	}
	ref, ok := d["Contents"].(types.IndirectRef)
	if !ok {
		t.Fatalf("page %d: Contents is %T, want one stream", n, d["Contents"])
	}
	loc := regexp.MustCompile(fmt.Sprintf(`(^|\s)%d 0 obj`, ref.ObjectNumber.Value())).FindIndex(data)
	if loc == nil {
		t.Fatalf("object %d not found as a plain object", ref.ObjectNumber.Value())
	}
	i := loc[1] + bytes.Index(data[loc[1]:], []byte("stream")) + len("stream")
	for data[i] == '\r' || data[i] == '\n' {
		i++
	}
	bad := slices.Clone(data)
	for k := i + 2; k < i+60; k++ {
		bad[k] ^= 0x5a
	}
	return bad
}

// readRejects reads every reject record of the committed version.
func readRejects(t *testing.T, dir string, m *shards.Manifest) []shards.Reject {
	t.Helper()
	var out []shards.Reject
	for _, f := range m.Files {
		if !strings.HasPrefix(f.Path, "rejects/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, m.Version, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r shards.Reject
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			out = append(out, r)
		}
	}
	return out
}

// TestBadDocuments mixes a corrupt PDF, an encrypted PDF, a PDF with a damaged page and a
// second copy of a good PDF (a symlink) into real documents: the build finishes and the
// rejects say what happened to each.
func TestBadDocuments(t *testing.T) {
	in, out := filepath.Join(t.TempDir(), "in"), filepath.Join(t.TempDir(), "corpus")
	copyDocs(t, in, docOutliers, docMethodology)
	good, err := os.ReadFile(filepath.Join(in, filepath.Base(docOutliers)))
	if err != nil {
		t.Fatal(err)
	}
	part, err := os.ReadFile(filepath.Join(cache, docPartitioning))
	if err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(part), &enc, model.NewAESConfiguration("user-secret", "owner-secret", 256)); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"truncated.pdf": part[:len(part)/3],
		"encrypted.pdf": enc.Bytes(),
		"badpage.pdf":   corruptPage(t, good, 2),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(in, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(in, filepath.Base(docMethodology)), filepath.Join(in, "zz-copy.pdf")); err != nil {
		t.Fatal(err)
	}
	s, err := Run(context.Background(), testConfig(in, out), nil)
	if err != nil {
		t.Fatal(err)
	}
	PrintSummary(os.Stderr, s)
	m, figs := readDataset(t, out, shards.ReadOptions{})
	rejects := readRejects(t, out, m)
	has := func(file, stage, kind, reason string, page int) {
		t.Helper()
		for _, r := range rejects {
			if strings.HasSuffix(r.URI, "/"+file) && r.Stage == stage && r.Kind == kind && r.Reason == reason && r.Page == page && r.Detail != "" {
				return
			}
		}
		t.Errorf("no %s/%s reject %q (page %d) for %s in %+v", stage, kind, reason, page, file, rejects)
	}
	has("truncated.pdf", "extract", "document", "corrupt", 0)
	has("encrypted.pdf", "extract", "document", "encrypted", 0)
	has("badpage.pdf", "extract", "page", "corrupt", 2)
	has("zz-copy.pdf", "ingest", "document", "duplicate_document", 0)
	b := s.Build
	if b.DocsFound != 6 || b.DocsProcessed != 3 || b.DocsRejected != 2 || b.DocsDuplicate != 1 || b.PagesRejected != 1 {
		t.Errorf("build stats %+v", b)
	}
	if len(m.Documents) != 5 {
		t.Errorf("manifest lists %d documents, want 5 (the duplicate copy is one document)", len(m.Documents))
	}
	// The good pages of the damaged document still give their figures.
	pages := map[int]bool{}
	for _, f := range figs {
		if strings.HasSuffix(f.Doc.URI, "/badpage.pdf") {
			pages[f.Page] = true
		}
	}
	if pages[2] {
		t.Error("a figure from the damaged page")
	}
	if m.RejectCounts["extract/encrypted"] != 1 || m.RejectCounts["extract/corrupt"] != 2 {
		t.Errorf("reject counts %v", m.RejectCounts)
	}
	// English captions are never rejected for their language.
	for _, r := range rejects {
		if r.Reason == "caption_language" {
			t.Errorf("English caption rejected: %+v", r)
		}
	}
}

// TestHelperBuildProcess is the build the crash test runs in a child process and kills.
func TestHelperBuildProcess(t *testing.T) {
	in, out := os.Getenv("EOSIN_HELPER_IN"), os.Getenv("EOSIN_HELPER_OUT")
	if in == "" {
		t.Skip("helper process for TestCrashSafety")
	}
	c := testConfig(in, out)
	c.FiguresPerShard = 1
	if _, err := Run(context.Background(), c, nil); err != nil {
		t.Fatal(err)
	}
}

// TestCrashSafety kills a build with SIGKILL while it writes shards, checks that nothing of
// it is visible as committed, reruns it, and compares the committed result with a clean run:
// the same figure ids and byte-identical shards.
func TestCrashSafety(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	copyDocs(t, in, docOutliers, docPartitioning, docMethodology)
	clean := filepath.Join(t.TempDir(), "clean")
	cc := testConfig(in, clean)
	cc.FiguresPerShard = 1
	if _, err := Run(context.Background(), cc, nil); err != nil {
		t.Fatal(err)
	}
	mClean, figsClean := readDataset(t, clean, shards.ReadOptions{})

	var crashed string
	for attempt := 0; attempt < 5 && crashed == ""; attempt++ {
		out := filepath.Join(t.TempDir(), "crash")
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBuildProcess$")
		cmd.Env = append(os.Environ(), "EOSIN_HELPER_IN="+in, "EOSIN_HELPER_OUT="+out)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill as soon as the first shard object of the new version exists.
		deadline := time.Now().Add(3 * time.Minute)
		killed := false
		for time.Now().Before(deadline) {
			m, _ := filepath.Glob(filepath.Join(out, "*", "wds", "*.tar"))
			if len(m) > 0 {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("the build wrote no shard within 3 minutes:\n%s", log.String())
		}
		manifests, _ := filepath.Glob(filepath.Join(out, "*", shards.ManifestName))
		if len(manifests) > 0 {
			t.Logf("attempt %d: the build committed before the kill landed; again", attempt)
			continue
		}
		crashed = out
	}
	if crashed == "" {
		t.Fatal("could not kill a build before its commit in 5 attempts")
	}
	// Nothing is visible as committed.
	if _, err := os.Stat(filepath.Join(crashed, shards.LatestName)); !os.IsNotExist(err) {
		t.Fatalf("LATEST exists after a killed first build: %v", err)
	}
	if _, err := shards.Open(context.Background(), crashed, shards.ReadOptions{}); err == nil {
		t.Fatal("the killed build's output opens as a dataset")
	}
	partial, _ := filepath.Glob(filepath.Join(crashed, "2*"))
	for _, v := range partial {
		if _, err := shards.Open(context.Background(), crashed+"@"+filepath.Base(v), shards.ReadOptions{}); err == nil {
			t.Fatalf("partial version %s opens", v)
		}
	}
	// Rerun: the same committed result as the clean run.
	cr := testConfig(in, crashed)
	cr.FiguresPerShard = 1
	if _, err := Run(context.Background(), cr, nil); err != nil {
		t.Fatal(err)
	}
	mRe, figsRe := readDataset(t, crashed, shards.ReadOptions{})
	if !slices.Equal(ids(figsRe), ids(figsClean)) {
		t.Fatalf("figure ids differ:\nclean %v\nrerun %v", ids(figsClean), ids(figsRe))
	}
	if !slices.Equal(shardSums(mRe), shardSums(mClean)) || !slices.Equal(mRe.Documents, mClean.Documents) {
		t.Fatalf("rerun differs from the clean run:\n%v\n%v", shardSums(mRe), shardSums(mClean))
	}
	if mRe.Totals.Records != len(figsClean) || len(partial) == 0 {
		t.Fatalf("records %d, clean %d, partial versions %v", mRe.Totals.Records, len(figsClean), partial)
	}
}
