package cot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/shards"
)

// realImages returns n page images of the shared PubLayNet sample (real JPEG bytes).
func realImages(t *testing.T, n int) [][]byte {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "publaynet")
	names, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if len(names) < n {
		if os.Getenv("CI") != "" {
			t.Fatalf("need %d images in %s, found %d", n, dir, len(names))
		}
		t.Skipf("need %d images in %s, found %d", n, dir, len(names))
	}
	sort.Strings(names)
	var out [][]byte
	for _, p := range names[:n] {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestEndToEnd: a committed figure dataset → cot → SFT and RL datasets that verify, whose RL
// records score as intended with package reward; the same figures from an `eosin extract`
// directory give the same samples.
func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	imgs := realImages(t, 10)
	figs := testFigures(len(imgs), "", "garbage", "", "offcaption")
	for i := range figs {
		figs[i].Image = imgs[i]
		figs[i].Figure.Image.Format = "jpeg"
		figs[i].Figure.ImageBytes = imgs[i]
	}
	root := t.TempDir()

	// the figure dataset, as `eosin build` commits it
	fw, err := shards.Create(ctx, filepath.Join(root, "figures"), shards.WriteOptions{Version: "v1", Formats: []shards.Format{shards.WebDataset}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range figs {
		f := figs[i].Figure
		if err := fw.WriteFigure(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fw.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// the same figures as an extract directory
	exdir := filepath.Join(root, "extract")
	os.MkdirAll(filepath.Join(exdir, "images"), 0o755)
	var lines []string
	for _, f := range figs {
		b, _ := json.Marshal(f.Figure)
		lines = append(lines, string(b))
		os.WriteFile(filepath.Join(exdir, "images", f.Figure.ID+".jpg"), f.Image, 0o644)
	}
	os.WriteFile(filepath.Join(exdir, "figures.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)

	fm := newFakeModel(testTimeout)
	defer fm.Close()
	client := testClient(t, fm.URL(), filepath.Join(root, "cache"))

	src, total, closeSrc, err := OpenFigures(ctx, filepath.Join(root, "figures")+"@v1", shards.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(figs) {
		t.Fatalf("total %d", total)
	}
	sink, err := NewShardsSink(ctx, filepath.Join(root, "out"), shards.WriteOptions{Version: "v1",
		Formats: []shards.Format{shards.WebDataset, shards.Parquet}})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(ctx, testPipeline(t, client), src, sink, RunConfig{Workers: 8, Total: total})
	closeSrc()
	if err != nil {
		t.Fatal(err)
	}
	if sum.SFT == 0 || sum.RL == 0 || sum.Requested != sum.SFT+sum.Rejects {
		t.Fatalf("summary %+v", sum)
	}

	read := func(name string) map[string]*shards.Sample {
		ds, err := shards.Open(ctx, filepath.Join(root, "out", name), shards.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		rep, err := ds.Verify(ctx)
		if err != nil {
			t.Fatalf("%s: verify: %v", name, err)
		}
		if rep.Records[shards.WebDataset] == 0 || rep.Records[shards.WebDataset] != rep.Records[shards.Parquet] {
			t.Fatalf("%s: records %v", name, rep.Records)
		}
		out := map[string]*shards.Sample{}
		for rec, err := range ds.Records(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			out[rec.Sample.ID] = rec.Sample
		}
		return out
	}
	sft, rl := read("sft"), read("rl")
	if len(sft) != sum.SFT || len(rl) != sum.RL {
		t.Fatalf("read %d sft, %d rl; summary %d, %d", len(sft), len(rl), sum.SFT, sum.RL)
	}
	r1v, _ := reward.Preset("r1v")
	def, _ := reward.Preset("default")
	for id, r := range rl {
		twin := sft[strings.TrimSuffix(id, "-rl")]
		if twin == nil {
			t.Fatalf("RL %s has no SFT twin", id)
		}
		if len(r.Images) != 1 || len(r.Images[0].Bytes) == 0 || !strings.HasPrefix(r.Problem, "<image>") {
			t.Errorf("RL %s: images %d, problem %q", id, len(r.Images), r.Problem)
		}
		good := twin.Messages[len(twin.Messages)-1].Content
		in := reward.Input{Completion: good, Reference: r.Answer, Task: r.Task, Options: r.Options}
		if got := r1v.Score(in); got.Overall != 2 {
			t.Errorf("RL %s: r1v score of its own reasoning %+v, want 2", id, got)
		}
		if got := def.Score(in); got.Components["accuracy"] != 1 {
			t.Errorf("RL %s: default accuracy %+v", id, got)
		}
		wrong := "<think>guess</think><answer>a reactive process</answer>"
		if r.Task == "mcq" {
			l := r.Answer[0] - 'A'
			wrong = "<think>guess</think><answer>" + string(rune('A'+(l+1)%byte(len(r.Options)))) + "</answer>"
		}
		in.Completion = wrong
		if got := r1v.Score(in); got.Overall != 1 || got.Components["accuracy"] != 0 {
			t.Errorf("RL %s: wrong answer scored %+v", id, got)
		}
	}

	// the rejects are in the SFT manifest
	ds, _ := shards.Open(ctx, filepath.Join(root, "out", "sft"), shards.ReadOptions{})
	m := ds.Manifest()
	ds.Close()
	if len(m.Rejects) != sum.Rejects {
		t.Errorf("manifest has %d rejects, run %d", len(m.Rejects), sum.Rejects)
	}

	// from the extract directory into plain JSONL: the same samples, answered from the cache
	before := fm.Requests.Load()
	src2, _, _, err := OpenFigures(ctx, exdir, shards.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "jsonl")
	ds2, err := NewDirSink(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum2, err := Run(ctx, testPipeline(t, client), src2, ds2, RunConfig{Workers: 8})
	if err != nil {
		t.Fatal(err)
	}
	if sum2.SFT != sum.SFT || sum2.RL != sum.RL || fm.Requests.Load() != before {
		t.Errorf("extract dir run: %+v (server requests %d → %d)", sum2, before, fm.Requests.Load())
	}
	b, err := os.ReadFile(filepath.Join(dir, "rl.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(string(b), "\n", 2)[0]
	var s shards.Sample
	if err := json.Unmarshal([]byte(first), &s); err != nil || len(s.Images) != 1 {
		t.Fatalf("rl.jsonl: %v %s", err, first)
	}
	if _, err := os.Stat(filepath.Join(dir, s.Images[0].Path)); err != nil {
		t.Errorf("image file: %v", err)
	}
	t.Logf("end to end: %d figures → %d SFT, %d RL, %d rejects %v", sum.Figures, sum.SFT, sum.RL, sum.Rejects, sum.Reasons)
}
