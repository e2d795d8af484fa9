package toy

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/trainer"
)

// sampleOf is the shards record of a toy task.
func sampleOf(tk trainer.Task) *shards.Sample {
	return &shards.Sample{ID: tk.ID, Task: tk.Kind, Problem: tk.Problem, Answer: tk.Answer,
		Generator: shards.Generator{Model: "toy"}, Verdict: shards.Verdict{Keep: true}}
}

// writeJSONL writes tasks as a JSONL file of shards.Sample records.
func writeJSONL(t *testing.T, path string, tasks []trainer.Task) {
	t.Helper()
	var sb strings.Builder
	for _, tk := range tasks {
		b, err := json.Marshal(sampleOf(tk))
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(append(b, '\n'))
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeVersion commits a dataset version with the shards writer (WebDataset shards, then
// manifest.json, then LATEST).
func writeVersion(t *testing.T, prefix, version string, tasks []trainer.Task) {
	t.Helper()
	ctx := context.Background()
	w, err := shards.Create(ctx, prefix, shards.WriteOptions{Formats: []shards.Format{shards.WebDataset}, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		if err := w.WriteSample(ctx, sampleOf(tk)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func runConfig(out string) trainer.Config {
	c := toyConfig(2)
	c.GRPO.GroupSize, c.GRPO.PromptsPerStep = 4, 2
	c.Out = out
	c.SaveEvery = 1
	c.Model.Init = map[string]any{"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
		"num_key_value_heads": 1, "vocab_size": len(Vocab), "rms_norm_eps": 1e-6, "rope_theta": 10000, "tie_word_embeddings": true}
	return c
}

func TestRunAndResume(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	jsonl := filepath.Join(out, "data.jsonl")
	writeJSONL(t, jsonl, Tasks(Max)[:10])
	c := runConfig(filepath.Join(out, "run"))
	c.Data.JSONL = jsonl
	var term strings.Builder
	if err := trainer.Run(ctx, c, trainer.RunOptions{Codec: Codec{}, Terminal: &term}); err != nil {
		t.Fatal(err)
	}
	// A second run with more steps resumes from step-2.
	c.Steps = 3
	if err := trainer.Run(ctx, c, trainer.RunOptions{Codec: Codec{}, Terminal: &term}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(c.Out, "log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), b)
	}
	var last trainer.StepLog
	if err := json.Unmarshal([]byte(lines[2]), &last); err != nil || last.Step != 3 {
		t.Errorf("last log line %q (%v)", lines[2], err)
	}
	if !strings.Contains(term.String(), "step 3/3") {
		t.Errorf("terminal: %q", term.String())
	}
	if _, err := trainer.LoadModel(filepath.Join(c.Out, "final")); err != nil {
		t.Errorf("final model: %v", err)
	}
}

func TestWatch(t *testing.T) {
	out := t.TempDir()
	prefix := filepath.Join(out, "ds")
	c := runConfig(filepath.Join(out, "runs"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- trainer.Watch(ctx, c, prefix, 20*time.Millisecond, trainer.RunOptions{Codec: Codec{}})
	}()
	wait := func(v string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(filepath.Join(c.Out, "watch_version")); err == nil && strings.TrimSpace(string(b)) == v {
				return
			}
			select {
			case err := <-done:
				t.Fatalf("watch ended: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		t.Fatalf("version %s not trained", v)
	}
	// A version without a manifest is not committed: nothing happens until it has one.
	os.MkdirAll(prefix, 0o755)
	os.WriteFile(filepath.Join(prefix, "LATEST"), []byte("v0\n"), 0o644)
	writeVersion(t, prefix, "v1", Tasks(Max)[:10])
	wait("v1")
	writeVersion(t, prefix, "v2", Tasks(Max)[10:20])
	wait("v2")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v1", "v2"} {
		if _, err := os.Stat(filepath.Join(c.Out, v, "final", "model.safetensors")); err != nil {
			t.Errorf("version %s: %v", v, err)
		}
	}
	if _, err := os.Stat(filepath.Join(c.Out, "v0")); err == nil {
		t.Error("uncommitted version v0 was trained")
	}
}

// promptLog is the toy codec recording the IDs of the tasks it renders.
type promptLog struct {
	Codec
	mu  sync.Mutex
	ids map[string]bool
}

func (p *promptLog) Prompt(t trainer.Task) string {
	p.mu.Lock()
	p.ids[t.ID] = true
	p.mu.Unlock()
	return p.Codec.Prompt(t)
}

// logLines is a slog handler target that can be read while written.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWatchVersions: a committed version without records is skipped with a warning (no run
// directory, not recorded as trained, not announced as trained on); the next version is
// trained on its own records only, not on the configured data.jsonl.
func TestWatchVersions(t *testing.T) {
	out := t.TempDir()
	prefix := filepath.Join(out, "ds")
	decoy := filepath.Join(out, "decoy.jsonl")
	writeJSONL(t, decoy, Tasks(First)[:10])
	c := runConfig(filepath.Join(out, "runs"))
	c.Data.JSONL = decoy
	codec := &promptLog{ids: map[string]bool{}}
	var logs logLines
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- trainer.Watch(ctx, c, prefix, 10*time.Millisecond, trainer.RunOptions{Codec: codec,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			if ok() {
				return
			}
			select {
			case err := <-done:
				t.Fatalf("watch ended waiting for %s: %v\n%s", what, err, logs.String())
			case <-time.After(10 * time.Millisecond):
			}
		}
		t.Fatalf("timed out waiting for %s:\n%s", what, logs.String())
	}
	watched := func() string {
		b, _ := os.ReadFile(filepath.Join(c.Out, "watch_version"))
		return strings.TrimSpace(string(b))
	}
	writeVersion(t, prefix, "v1", nil)
	waitFor("v1 skipped", func() bool { return strings.Contains(logs.String(), "no records, skipped") })
	if strings.Contains(logs.String(), "training on") || watched() != "" {
		t.Errorf("empty version announced or recorded as trained (watch_version %q):\n%s", watched(), logs.String())
	}
	if _, err := os.Stat(filepath.Join(c.Out, "v1")); err == nil {
		t.Error("empty version v1 has a run directory")
	}
	v2 := Tasks(Sum)[:6]
	writeVersion(t, prefix, "v2", v2)
	waitFor("v2 trained", func() bool { return watched() == "v2" })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "no records, skipped"); n != 1 {
		t.Errorf("v1 skipped %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "training on dataset version") || !strings.Contains(logs.String(), "version=v2") {
		t.Errorf("v2 not announced:\n%s", logs.String())
	}
	if b, err := os.ReadFile(filepath.Join(c.Out, "v2", "dataset_version")); err != nil || strings.TrimSpace(string(b)) != "v2" {
		t.Errorf("v2 dataset_version %q (%v)", b, err)
	}
	want := map[string]bool{}
	for _, tk := range v2 {
		want[tk.ID] = true
	}
	if len(codec.ids) == 0 {
		t.Fatal("no task rendered")
	}
	for id := range codec.ids {
		if !want[id] {
			t.Errorf("trained on task %s, not a record of v2", id)
		}
	}
}
