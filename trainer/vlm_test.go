package trainer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/trainer"
	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
	"github.com/eosinlab/eosin/trainer/vision"
)

// figVocab is the tiny vocabulary of the figure task: the vision tokens, chat markers, the two
// answer letters and a question mark.
var figVocab = []string{vision.VisionStart, vision.ImagePad, vision.VisionEnd, "<|im_end|>", "<|im_start|>",
	"user\n", "assistant\n", "A", "B", "?"}

// figCodec tokenises by longest match over figVocab; the first five tokens are special.
type figCodec struct{}

func (figCodec) Encode(text string) ([]int32, error) {
	var ids []int32
	for len(text) > 0 {
		best := -1
		for i, tok := range figVocab {
			if strings.HasPrefix(text, tok) && (best < 0 || len(tok) > len(figVocab[best])) {
				best = i
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("figure codec: cannot encode %q", text)
		}
		ids = append(ids, int32(best))
		text = text[len(figVocab[best]):]
	}
	return ids, nil
}

func (figCodec) Decode(ids []int32, skipSpecial bool) (string, error) {
	var sb strings.Builder
	for _, id := range ids {
		if id < 0 || int(id) >= len(figVocab) {
			return "", fmt.Errorf("figure codec: id %d", id)
		}
		if skipSpecial && id < 5 {
			continue
		}
		sb.WriteString(figVocab[id])
	}
	return sb.String(), nil
}

func (figCodec) Prompt(t trainer.Task) string {
	return "<|im_start|>user\n" + t.Problem + "<|im_end|><|im_start|>assistant\n"
}
func (figCodec) StopTokens() []int32 { return []int32{3} }
func (figCodec) VocabSize() int      { return len(figVocab) }

// exactLetter rewards a completion that is exactly the answer letter.
type exactLetter struct{}

func (exactLetter) Score(in reward.Input) reward.Result {
	acc := 0.0
	if strings.TrimSpace(in.Completion) == in.Reference {
		acc = 1
	}
	return reward.Result{Overall: acc, Components: map[string]float64{"accuracy": acc}}
}
func (exactLetter) Terms() []string { return []string{"accuracy"} }

// redSquareTask draws a 56×56 PNG: noisy grey background and an 18×18 square at a random
// place, red (answer A) or blue (answer B).
func redSquareTask(rng *rand.Rand, id int, blue bool) trainer.Task {
	img := image.NewRGBA(image.Rect(0, 0, 56, 56))
	for y := 0; y < 56; y++ {
		for x := 0; x < 56; x++ {
			v := uint8(100 + rng.IntN(60))
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	x0, y0 := rng.IntN(38), rng.IntN(38)
	ans, col := "A", color.RGBA{220, 30, 30, 255}
	if blue {
		ans, col = "B", color.RGBA{30, 30, 220, 255}
	}
	for y := y0; y < y0+18; y++ {
		for x := x0; x < x0+18; x++ {
			img.Set(x, y, col)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return trainer.Task{ID: fmt.Sprint("fig-", id), Kind: "mcq", Problem: "?", Options: []string{"red", "blue"}, Answer: ans,
		Images: []trainer.TaskImage{{Bytes: b.Bytes()}}}
}

// redSideTask draws a 56×56 PNG whose left (answer A) or right (answer B) half is red and
// the other half noisy grey: both answers have the same colours, only where they are differs,
// so the model must use the patches' positions (2-D rotary in the tower, M-RoPE in the
// decoder).
func redSideTask(rng *rand.Rand, id int, right bool) trainer.Task {
	img := image.NewRGBA(image.Rect(0, 0, 56, 56))
	ans, x0 := "A", 0
	if right {
		ans, x0 = "B", 28
	}
	for y := 0; y < 56; y++ {
		for x := 0; x < 56; x++ {
			v := uint8(100 + rng.IntN(60))
			img.Set(x, y, color.RGBA{v, v, v, 255})
			if x >= x0 && x < x0+28 {
				img.Set(x, y, color.RGBA{220, 30, 30, 255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return trainer.Task{ID: fmt.Sprint("side-", id), Kind: "mcq", Problem: "?", Options: []string{"left", "right"}, Answer: ans,
		Images: []trainer.TaskImage{{Bytes: b.Bytes()}}}
}

func tinyVLM(t testing.TB, seed uint64) *vision.VLM[float32] {
	return tinyVLMVocab(t, seed, len(figVocab))
}

// tinyVLMVocab is tinyVLM with vocab embedding rows.
func tinyVLMVocab(t testing.TB, seed uint64, vocab int) *vision.VLM[float32] {
	rng := rand.New(rand.NewPCG(seed, 1))
	dc := model.Config{HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1,
		VocabSize: vocab, RMSNormEps: 1e-6, RopeTheta: 2, TieWordEmbeddings: true, InitializerRange: 0.1}
	dp := model.NewParams[float32](dc)
	dp.InitRandom(rng)
	vl := vision.VLConfig{ModelType: "qwen2_5_vl", ImageTokenID: 1, VisionStartID: 0, VisionEndID: 2,
		Vision: vision.Config{Gen: vision.Qwen25VL, Depth: 2, HiddenSize: 16, OutHiddenSize: 16, IntermediateSize: 32, NumHeads: 2,
			InChans: 3, PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2, WindowSize: 112, FullAttBlockIndexes: []int{1}}}
	vl.RopeScaling.MropeSection = []int{2, 1, 1}
	vp := vision.NewParams[float32](vl.Vision)
	vp.InitRandom(rng, 0.05)
	v, err := vision.NewVLM(dp, vp, vl, &model.CPU[float32]{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// greedyAccuracy answers fresh balanced images greedily: a policy blind to the image cannot
// exceed 50 %.
func greedyAccuracy(t *testing.T, tr *trainer.Trainer, tasks []trainer.Task) float64 {
	var ins []vision.Input[float32]
	for _, task := range tasks {
		in, err := tr.Input(task)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, in)
	}
	comps, err := tr.Policy.Generate(context.Background(), ins, model.SampleOptions{MaxNewTokens: 1}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i, c := range comps {
		if figVocab[c.Tokens[0]] == tasks[i].Answer {
			ok++
		}
	}
	return float64(ok) / float64(len(tasks))
}

// TestVLMGRPOLearnsFigureTask: a tiny Qwen2.5-VL-style model (2 window/full-attention tower
// blocks, 1 decoder layer, hidden 16) learns by GRPO to answer a letter about a 56×56 PNG:
// whether its square is red (A) or blue (B), or which half is red. The prompt is the same for
// every image, so only the image tells. Rewards must rise from ≈ chance to clearly above it,
// and greedy answers on fresh balanced images must beat the 50 % of any image-blind policy.
// With vision.train the tower learns too; frozen, its weights stay bit-identical while the
// decoder learns from its features. The curves go to
// testdata/cache/trainer/vlm-learning-curve-*.jsonl.
func TestVLMGRPOLearnsFigureTask(t *testing.T) {
	cases := []struct {
		name        string
		task        func(*rand.Rand, int, bool) trainer.Task
		train       bool
		group, step int
		lr          float64
	}{
		{"colour/train_vision", redSquareTask, true, 8, 100, 5e-3},
		{"colour/frozen_vision", redSquareTask, false, 8, 100, 5e-3},
		{"side/train_vision", redSideTask, true, 16, 150, 2e-3},
	}
	for _, c := range cases {
		train := c.train
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 7))
			var tasks, held []trainer.Task
			for i := range 256 {
				tasks = append(tasks, c.task(rng, i, i%2 == 1))
			}
			for i := range 60 {
				held = append(held, c.task(rng, 1000+i, i%2 == 1))
			}
			cfg := trainer.DefaultConfig()
			cfg.Steps, cfg.Seed = c.step, 5
			cfg.GRPO.GroupSize, cfg.GRPO.PromptsPerStep, cfg.GRPO.MaxNewTokens = c.group, 8, 1
			cfg.Optim.LR, cfg.Optim.WeightDecay, cfg.Optim.TotalSteps = c.lr, 0, 1<<30
			cfg.Vision.Train = train
			policy := tinyVLM(t, 3)
			tower0 := append([]float32(nil), policy.Vis.P.Data...)
			dec0 := append([]float32(nil), policy.Dec.P.Data...)
			tr, err := trainer.NewVLMTrainer(cfg, figCodec{}, exactLetter{}, tasks, policy)
			if err != nil {
				t.Fatal(err)
			}
			before := greedyAccuracy(t, tr, held)
			var curve []float64
			var lines []string
			for range cfg.Steps {
				log, err := tr.Step(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				curve = append(curve, log.RewardMean)
				b, _ := json.Marshal(log)
				lines = append(lines, string(b))
			}
			mean := func(v []float64) float64 {
				s := 0.0
				for _, x := range v {
					s += x
				}
				return s / float64(len(v))
			}
			first, last := mean(curve[:10]), mean(curve[len(curve)-10:])
			after := greedyAccuracy(t, tr, held)
			t.Logf("mean reward first 10 steps %.3f, last 10 steps %.3f; greedy held-out accuracy %.2f → %.2f", first, last, before, after)
			if dir := filepath.Join("..", "testdata", "cache", "trainer"); os.MkdirAll(dir, 0o755) == nil {
				name := "vlm-learning-curve-" + strings.ReplaceAll(c.name, "/", "-") + ".jsonl"
				_ = os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
			}
			if last < 0.8 || last < first+0.25 {
				t.Errorf("reward did not rise clearly above chance: first 10 steps %.3f, last 10 %.3f", first, last)
			}
			if after < 0.8 {
				t.Errorf("greedy held-out accuracy %.2f, want ≥ 0.8 (image-blind policies get ≤ 0.5)", after)
			}
			towerSame, decSame := true, true
			for i := range tower0 {
				towerSame = towerSame && tower0[i] == policy.Vis.P.Data[i]
			}
			for i := range dec0 {
				decSame = decSame && dec0[i] == policy.Dec.P.Data[i]
			}
			if towerSame == train || decSame {
				t.Errorf("train_vision=%v: tower unchanged %v, decoder unchanged %v", train, towerSame, decSame)
			}
		})
	}
}

// Tasks read from shards.Sample JSONL keep their image paths, resolved against the file's
// directory, and the VLM input expands the image to its merged-token count.
func TestVLMTaskFromJSONL(t *testing.T) {
	dir := t.TempDir()
	task := redSquareTask(rand.New(rand.NewPCG(1, 1)), 1, true)
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "images", "f1.png"), task.Images[0].Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	rec := `{"id":"s1","figure_id":"f1","task":"mcq","images":[{"path":"images/f1.png","format":"png"}],"problem":"?","options":["left","right"],"answer":"B"}`
	if err := os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte(rec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := trainer.LoadJSONLFile(filepath.Join(dir, "data.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || len(ts[0].Images) != 1 || ts[0].Images[0].Path != filepath.Join(dir, "images", "f1.png") {
		t.Fatalf("tasks %+v", ts)
	}
	cfg := trainer.DefaultConfig()
	tr, err := trainer.NewVLMTrainer(cfg, figCodec{}, exactLetter{}, ts, tinyVLM(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	in, err := tr.Input(ts[0])
	if err != nil {
		t.Fatal(err)
	}
	// 56×56 → grid 1×4×4 → 4 merged tokens: <|im_start|> user <vs> pad×4 <ve> ? <|im_end|> <|im_start|> assistant.
	want := []int32{4, 5, 0, 1, 1, 1, 1, 2, 9, 3, 4, 6}
	if fmt.Sprint(in.IDs) != fmt.Sprint(want) || len(in.Grids) != 1 || in.Grids[0] != (vision.Grid{T: 1, H: 4, W: 4}) ||
		len(in.Pixels) != 16*vision.PatchDim {
		t.Fatalf("input ids %v grids %v pixels %d", in.IDs, in.Grids, len(in.Pixels))
	}
}

// Run trains a Qwen2.5-VL checkpoint directory on a data.jsonl with images: one log line per
// step and a final checkpoint that loads back as a VLM with updated weights.
func TestRunVLMCheckpoint(t *testing.T) {
	dir := t.TempDir()
	policy := tinyVLM(t, 9)
	ckpt := filepath.Join(dir, "ckpt")
	cfgJSON := `{"model_type":"qwen2_5_vl","hidden_size":16,"intermediate_size":32,"num_hidden_layers":1,"num_attention_heads":2,
"num_key_value_heads":1,"vocab_size":10,"rms_norm_eps":1e-6,"rope_theta":2,"tie_word_embeddings":true,"image_token_id":1,
"vision_start_token_id":0,"vision_end_token_id":2,"rope_scaling":{"type":"mrope","mrope_section":[2,1,1]},
"vision_config":{"depth":2,"hidden_act":"silu","hidden_size":16,"out_hidden_size":16,"intermediate_size":32,"num_heads":2,
"in_chans":3,"patch_size":14,"spatial_merge_size":2,"temporal_patch_size":2,"window_size":112,"fullatt_block_indexes":[1]}}`
	if err := policy.Save(ckpt, "F32", []byte(cfgJSON)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	var lines []string
	for i := range 4 {
		task := redSquareTask(rng, i, i%2 == 1)
		name := fmt.Sprintf("f%d.png", i)
		if err := os.WriteFile(filepath.Join(dir, name), task.Images[0].Bytes, 0o644); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf(`{"id":"s%d","task":"mcq","images":[{"path":%q}],"problem":"?","answer":%q}`, i, name, task.Answer))
	}
	if err := os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := trainer.DefaultConfig()
	cfg.Model.Path, cfg.Data.JSONL, cfg.Out = ckpt, filepath.Join(dir, "data.jsonl"), filepath.Join(dir, "run")
	cfg.Steps, cfg.GRPO.GroupSize, cfg.GRPO.PromptsPerStep, cfg.GRPO.MaxNewTokens = 3, 4, 2, 2
	cfg.Optim.LR, cfg.ExportDType, cfg.Vision.Train = 1e-2, "F32", true
	var term bytes.Buffer
	if err := trainer.Run(context.Background(), cfg, trainer.RunOptions{Codec: figCodec{}, Terminal: &term}); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(filepath.Join(cfg.Out, "log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "\n"); n != 3 || strings.Count(term.String(), "step ") != 3 {
		t.Fatalf("%d log lines, terminal %q", n, term.String())
	}
	got, err := vision.Load[float32](filepath.Join(cfg.Out, "final"), &model.CPU[float32]{})
	if err != nil {
		t.Fatal(err)
	}
	changed := func(a, b []float32) bool {
		for i := range a {
			if a[i] != b[i] {
				return true
			}
		}
		return false
	}
	if !changed(got.Vis.P.Data, policy.Vis.P.Data) || !changed(got.Dec.P.Data, policy.Dec.P.Data) {
		t.Fatal("final tower or decoder weights equal the initial ones")
	}
}

// With kl_coef the reference is a frozen copy: the first update sees KL 0 (policy =
// reference), so step 1 (two updates, μ = 2) averages less than step 2, and KL is positive
// once the policy has moved; the reference weights never change.
func TestVLMTrainerKL(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	var tasks []trainer.Task
	for i := range 8 {
		tasks = append(tasks, redSquareTask(rng, i, i%2 == 1))
	}
	cfg := trainer.DefaultConfig()
	cfg.Steps, cfg.GRPO.GroupSize, cfg.GRPO.PromptsPerStep, cfg.GRPO.MaxNewTokens = 4, 4, 4, 2
	cfg.GRPO.KLCoef, cfg.Optim.LR, cfg.Vision.Train = 0.1, 1e-2, true
	cfg.GRPO.UpdatesPerBatch = 2 // exercises the old log-probs too
	tr, err := trainer.NewVLMTrainer(cfg, figCodec{}, exactLetter{}, tasks, tinyVLM(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	ref0 := append(append([]float32(nil), tr.Ref.(*trainer.VLMPolicy).VLM.Dec.P.Data...), tr.Ref.(*trainer.VLMPolicy).VLM.Vis.P.Data...)
	var kls []float64
	for range cfg.Steps {
		log, err := tr.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		kls = append(kls, log.KL)
	}
	// Step 1's first update sees KL 0; its second update (μ = 2) already a moved policy.
	if kls[len(kls)-1] <= 0 || kls[0] >= kls[1] {
		t.Fatalf("KL per step %v: want positive after updates", kls)
	}
	ref1 := append(append([]float32(nil), tr.Ref.(*trainer.VLMPolicy).VLM.Dec.P.Data...), tr.Ref.(*trainer.VLMPolicy).VLM.Vis.P.Data...)
	for i := range ref0 {
		if ref0[i] != ref1[i] {
			t.Fatal("reference weights changed")
		}
	}
	t.Logf("KL per step %v", kls)
}

// tinyQwen2VL is a random Qwen2-VL-style model (LayerNorm + QuickGELU tower, untied head).
func tinyQwen2VL(t testing.TB, seed uint64) *vision.VLM[float32] {
	rng := rand.New(rand.NewPCG(seed, 3))
	dc := model.Config{ModelType: model.TypeQwen2VL, HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2,
		NumKeyValueHeads: 1, VocabSize: len(figVocab), RMSNormEps: 1e-6, RopeTheta: 100, InitializerRange: 0.1}
	dp := model.NewParams[float32](dc)
	dp.InitRandom(rng)
	vl := vision.VLConfig{ModelType: model.TypeQwen2VL, ImageTokenID: 1, VisionStartID: 0, VisionEndID: 2,
		Vision: vision.Config{Gen: vision.Qwen2VL, Depth: 1, EmbedDim: 16, HiddenSize: 16, MLPRatio: 2, NumHeads: 2, InChannels: 3,
			PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2, HiddenAct: "quick_gelu"}}
	vl.RopeScaling.MropeSection = []int{2, 1, 1}
	vp := vision.NewParams[float32](vl.Vision)
	vp.InitRandom(rng, 0.05)
	v, err := vision.NewVLM(dp, vp, vl, &model.CPU[float32]{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cancelAfter cancels a run once it has printed n progress lines (a run killed mid-way).
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.n -= strings.Count(string(p), "step "); c.n <= 0 {
		c.cancel()
	}
	return len(p), nil
}

// stableLog is log.jsonl without the timing fields.
func stableLog(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "tokens_per_s")
		delete(m, "gen_tokens_per_s")
		delete(m, "seconds")
		s, _ := json.Marshal(m)
		out = append(out, string(s))
	}
	return out
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A Qwen2-VL GRPO run (μ = 2 over 2 mini-batches, KL to the frozen reference, dynamic
// sampling, the tower trained) killed after step 3 and resumed from its step-2 checkpoint
// gives the log, final weights and optimizer state of an uninterrupted run, bit for bit, in
// float32 and in bf16 mixed precision. Its checkpoints and final export load back as the
// same model, with the source checkpoint's tensor names, config and processor.
func TestVLMRunKilledAndResumed(t *testing.T) {
	for _, precision := range []string{"fp32", "bf16"} {
		t.Run(precision, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			init := trainer.NewVLMPolicy(tinyQwen2VL(t, 11), vision.PublishedProcessor(), true, false, false, 0)
			if err := init.Export(src, "F32"); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(6, 6))
			var lines []string
			for i := range 6 {
				task := redSquareTask(rng, i, i%2 == 1)
				name := fmt.Sprintf("f%d.png", i)
				if err := os.WriteFile(filepath.Join(dir, name), task.Images[0].Bytes, 0o644); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, fmt.Sprintf(`{"id":"s%d","task":"mcq","images":[{"path":%q}],"problem":"?","answer":%q}`, i, name, task.Answer))
			}
			if err := os.WriteFile(filepath.Join(dir, "data.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := trainer.DefaultConfig()
			cfg.Model.Path, cfg.Data.JSONL = src, filepath.Join(dir, "data.jsonl")
			cfg.Steps, cfg.SaveEvery, cfg.Seed, cfg.Precision, cfg.ExportDType = 4, 2, 3, precision, "f32"
			cfg.GRPO.GroupSize, cfg.GRPO.PromptsPerStep, cfg.GRPO.MaxNewTokens = 4, 2, 2
			cfg.GRPO.UpdatesPerBatch, cfg.GRPO.MiniBatches, cfg.GRPO.KLCoef = 2, 2, 0.05
			cfg.GRPO.DynamicSampling, cfg.GRPO.MaxGenBatches = true, 2
			cfg.Optim.LR, cfg.Vision.Train = 1e-2, true
			run := func(out string, killAfter int) error {
				c := cfg
				c.Out = out
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var term io.Writer = io.Discard
				if killAfter > 0 {
					term = &cancelAfter{n: killAfter, cancel: cancel}
				}
				return trainer.Run(ctx, c, trainer.RunOptions{Codec: figCodec{}, Terminal: term})
			}
			whole, resumed := filepath.Join(dir, "whole"), filepath.Join(dir, "resumed")
			if err := run(whole, 0); err != nil {
				t.Fatal(err)
			}
			if err := run(resumed, 3); !errors.Is(err, context.Canceled) {
				t.Fatalf("killed run: %v", err)
			}
			if n := len(stableLog(t, filepath.Join(resumed, "log.jsonl"))); n != 3 {
				t.Fatalf("killed run logged %d steps, want 3", n)
			}
			if err := run(resumed, 0); err != nil {
				t.Fatal(err)
			}
			want, got := stableLog(t, filepath.Join(whole, "log.jsonl")), stableLog(t, filepath.Join(resumed, "log.jsonl"))
			if len(got) != len(want) {
				t.Fatalf("resumed log has %d lines, uninterrupted %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("log line %d:\n resumed       %s\n uninterrupted %s", i+1, got[i], want[i])
				}
			}
			for _, f := range []string{"final/model.safetensors", "checkpoints/step-4/model.safetensors",
				"checkpoints/step-4/optimizer.safetensors", "checkpoints/step-4/ref/model.safetensors"} {
				if !bytes.Equal(fileBytes(t, filepath.Join(whole, f)), fileBytes(t, filepath.Join(resumed, f))) {
					t.Errorf("%s differs between the resumed and the uninterrupted run", f)
				}
			}
			t.Logf("%d identical log lines; last: %s", len(want), want[len(want)-1])

			// The export loads back: same names as the source checkpoint, same configs.
			names := func(d string) string {
				ts, err := safetensors.ReadDir(d)
				if err != nil {
					t.Fatal(err)
				}
				var ns []string
				for n := range ts {
					ns = append(ns, n)
				}
				slices.Sort(ns)
				return strings.Join(ns, " ")
			}
			final := filepath.Join(resumed, "final")
			if names(final) != names(src) {
				t.Errorf("final tensor names differ from the source checkpoint's")
			}
			for _, d := range []string{src, final} {
				dc, err := model.ReadConfig(filepath.Join(d, "config.json"))
				if err != nil {
					t.Fatal(err)
				}
				vl, err := vision.ReadVLConfig(filepath.Join(d, "config.json"))
				if err != nil {
					t.Fatal(err)
				}
				if dc.NumHiddenLayers != 1 || dc.TieWordEmbeddings || dc.RopeTheta != 100 || vl.Vision.Gen != vision.Qwen2VL ||
					fmt.Sprint(vl.RopeScaling.MropeSection) != "[2 1 1]" || vl.Vision.Width() != 16 {
					t.Errorf("%s: config %+v %+v", d, dc, vl)
				}
				proc, err := vision.ReadProcessor(d)
				if err != nil || fmt.Sprint(proc) != fmt.Sprint(vision.PublishedProcessor()) {
					t.Errorf("%s: processor %+v (%v)", d, proc, err)
				}
			}
			v, err := vision.Load[float32](final, &model.CPU[float32]{})
			if err != nil {
				t.Fatal(err)
			}
			ck, err := vision.Load[float32](filepath.Join(resumed, "checkpoints", "step-4"), &model.CPU[float32]{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v.Dec.P.Data, ck.Dec.P.Data) || !slices.Equal(v.Vis.P.Data, ck.Vis.P.Data) {
				t.Error("the F32 final export differs from the last checkpoint")
			}
			if slices.Equal(v.Vis.P.Data, init.VLM.Vis.P.Data) || slices.Equal(v.Dec.P.Data, init.VLM.Dec.P.Data) {
				t.Error("training left the tower or the decoder unchanged")
			}
		})
	}
}
