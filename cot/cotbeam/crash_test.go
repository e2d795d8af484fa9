package cotbeam

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/shards"
)

// The crash test runs the Beam pipeline in a child process (this test binary, re-executed),
// kills it with SIGKILL part-way, and reruns it in this process with the child's cache.

const crashEnv = "EOSIN_COTBEAM_CRASH_CHILD"

func TestMain(m *testing.M) {
	if raw := os.Getenv(crashEnv); raw != "" {
		var cfg Config
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			os.Exit(3)
		}
		if _, err := Run(context.Background(), cfg, nil); err != nil {
			os.Exit(4)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func cacheEntries(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return nil
	})
	return n
}

// writeExtractDir writes figs as an `eosin extract` output directory.
func writeExtractDir(t *testing.T, dir string, figs []cot.FigureInput) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range figs {
		b, _ := json.Marshal(f.Figure)
		lines = append(lines, string(b))
		if err := os.WriteFile(filepath.Join(dir, "images", f.Figure.ID+".png"), f.Image, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "figures.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBeamResumeAfterKill: a run killed part-way leaves its responses in the cache; the rerun
// (same command, same version) asks the server only for what the killed run had not cached,
// commits both versions, and holds what the local driver makes of the same extract directory.
// Dedup is off here, and the input is an extract directory: the other source and branch.
func TestBeamResumeAfterKill(t *testing.T) {
	root := t.TempDir()
	figs := testFigures(30, "", "garbage")
	ex := filepath.Join(root, "extract")
	writeExtractDir(t, ex, figs)
	cache := filepath.Join(root, "cache")
	fm := newFakeModel(testTimeout)
	fm.Latency.Store(int64(60 * time.Millisecond))
	defer fm.Close()
	cfg := Config{Pairs: ex, Out: filepath.Join(root, "out"), Version: "r1", Formats: []shards.Format{shards.WebDataset, shards.JSONL},
		SamplesPerShard: 16, DedupThreshold: -1, Gen: testGen(fm.URL(), cache)}
	raw, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+string(raw))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for cacheEntries(t, cache) < 40 {
		select {
		case err := <-exited:
			t.Fatalf("the child ended before the kill (%v):\n%s", err, out.String())
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("the child cached fewer than 40 responses in 60 s:\n%s", out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	cmd.Process.Kill() // SIGKILL: no cleanup runs
	<-exited
	cached := cacheEntries(t, cache)
	if _, err := os.Stat(filepath.Join(cfg.Out, "sft", "r1", shards.ManifestName)); err == nil {
		t.Fatal("the killed run committed")
	}

	fm2 := newFakeModel(testTimeout)
	defer fm2.Close()
	cfg.Gen = testGen(fm2.URL(), cache)
	sum, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := cacheEntries(t, cache)
	if cached >= total {
		t.Fatalf("the child finished before the kill (%d of %d cached)", cached, total)
	}
	if got := fm2.Requests.Load(); got != int64(total-cached) {
		t.Errorf("the rerun sent %d requests, want %d (total %d, cached by the killed run %d)", got, total-cached, total, cached)
	}
	if sum.Requested != sum.SFT+sum.Rejects || sum.Figures != len(figs) || sum.Reasons["parse_error"] != 5 {
		t.Errorf("summary %+v", sum)
	}
	sft, sm := readDataset(t, cfg.Out+"/sft@r1")
	rl, _ := readDataset(t, cfg.Out+"/rl@r1")

	// The local driver over the same directory, answered from the cache alone.
	fm3 := newFakeModel(testTimeout)
	defer fm3.Close()
	p, client := localPipeline(t, fm3.URL(), cache)
	defer client.Close()
	dir := filepath.Join(root, "local")
	sink, err := cot.NewShardsSink(context.Background(), dir, shards.WriteOptions{Version: "r1", Formats: cfg.Formats})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cot.Run(context.Background(), p, cot.ExtractDir(ex), sink, cot.RunConfig{Workers: 8, DedupThreshold: -1}); err != nil {
		t.Fatal(err)
	}
	if fm3.Requests.Load() != 0 {
		t.Errorf("the local run sent %d requests", fm3.Requests.Load())
	}
	lsft, lsm := readDataset(t, filepath.Join(dir, "sft"))
	lrl, _ := readDataset(t, filepath.Join(dir, "rl"))
	if len(sft) != len(lsft) || len(rl) != len(lrl) || strings.Join(rejectSet(sm), ",") != strings.Join(rejectSet(lsm), ",") {
		t.Errorf("beam %d sft, %d rl, %d rejects; local %d, %d, %d", len(sft), len(rl), len(sm.Rejects), len(lsft), len(lrl), len(lsm.Rejects))
	}
	for id := range lsft {
		if sft[id] == nil {
			t.Errorf("%s missing from the beam output", id)
		}
	}
	t.Logf("killed with %d of %d responses cached; the rerun sent %d requests", cached, total, fm2.Requests.Load())
}
