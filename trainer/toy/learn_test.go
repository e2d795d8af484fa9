package toy

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/trainer"
	"github.com/eosinlab/eosin/trainer/model"
)

func tinyParams(seed uint64) *model.Params[float32] {
	cfg := model.Config{HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		VocabSize: len(Vocab), RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, InitializerRange: 0.05}
	p := model.NewParams[float32](cfg)
	p.InitRandom(rand.New(rand.NewPCG(seed, 7)))
	return p
}

func toyConfig(steps int) trainer.Config {
	c := trainer.DefaultConfig()
	c.Steps = steps
	c.Seed = 3
	c.GRPO.GroupSize = 8
	c.GRPO.PromptsPerStep = 8
	c.GRPO.MaxNewTokens = 16
	c.GRPO.Temperature = 1
	c.Optim.LR = 2e-3
	c.Optim.WeightDecay = 0
	c.Optim.TotalSteps = 1 << 30 // constant learning rate
	return c
}

// TestGRPOLearnsToyTask is the end-to-end proof that the trainer learns: a 2-layer, hidden-64
// decoder gets a format-only cold start (answers random, so accuracy ≈ 10 %), then GRPO with
// the R1-V reward (format + exact-match accuracy, package reward's r1v preset, plus DAPO's
// overlong term) on "max a b" must raise the mean reward to a clearly higher plateau, in
// float32 and in bf16 mixed precision; the bf16 curve must track the float32 one (means over
// 25-step windows within 0.3). The curves go to
// testdata/cache/trainer/learning-curve[-bf16].jsonl.
func TestGRPOLearnsToyTask(t *testing.T) {
	var fp32 []float64 // the float32 run's windowed reward means
	for _, precision := range []string{"fp32", "bf16"} {
		t.Run(precision, func(t *testing.T) {
			w := learnToyTask(t, precision)
			if precision == "fp32" {
				fp32 = w
				return
			}
			if len(fp32) != len(w) {
				t.Skip("the fp32 run did not finish")
			}
			for i := range w {
				if math.Abs(w[i]-fp32[i]) > 0.3 {
					t.Errorf("steps %d–%d: bf16 mean reward %.3f, fp32 %.3f", 25*i+1, 25*i+25, w[i], fp32[i])
				}
			}
		})
	}
}

// learnToyTask runs the cold start and 200 GRPO steps in the given precision, checks that the
// reward rises to a plateau, and returns the mean reward of each 25-step window.
func learnToyTask(t *testing.T, precision string) []float64 {
	ctx := context.Background()
	// R1-V reward (exact-match accuracy + strict format, package reward's r1v preset) plus
	// DAPO's soft overlong punishment (L_max 16, L_c 4): without the length term the policy
	// learns to repeat "</answer>" up to the token limit, which the lazy full-match format
	// reward accepts (in Python as in Go).
	w := 1.0
	scorer, err := reward.FromConfig(reward.Config{Preset: "r1v", Terms: []reward.TermConfig{
		{Name: "overlong", Fn: "overlong", Weight: &w, Params: map[string]any{"max_len": 16, "buffer": 4}}}})
	if err != nil {
		t.Fatal(err)
	}
	const steps = 200
	cfg := toyConfig(steps)
	cfg.Precision = precision
	tr, err := trainer.New(cfg, Codec{}, scorer, Tasks(Max), tinyParams(1))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	var sft float64
	for i := 0; i < 60; i++ {
		ex, err := FormatExamples(Max, 32, rng)
		if err != nil {
			t.Fatal(err)
		}
		if sft, err = tr.SFTStep(ex); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("cold start: final NLL %.3f", sft)
	tr.ResetOptimizer()
	var curve []*trainer.StepLog
	for i := 0; i < steps; i++ {
		l, err := tr.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		curve = append(curve, l)
		// One optimizer step per rollout batch: logp_old is the detached current logp, ρ ≡ 1,
		// so clipping never fires (grpo.md §4).
		if l.ClipHigh != 0 || l.ClipLow != 0 || l.DualClip != 0 {
			t.Errorf("step %d: clip fractions %g/%g/%g with ρ ≡ 1", l.Step, l.ClipHigh, l.ClipLow, l.DualClip)
		}
		if i%25 == 0 || i == steps-1 {
			t.Logf("step %3d reward %.3f acc %.3f fmt %.3f overlong %.3f len %.1f ent %.3f %.0f tok/s", l.Step, l.RewardMean, l.Accuracy, l.Components["format"], l.Components["overlong"], l.RespLen, l.Entropy, l.TokensPerS)
		}
	}
	// What the trained policy writes (greedy), for the log.
	var c Codec
	for _, task := range Tasks(Max)[37:40] {
		p, _ := c.Encode(task.Problem)
		out, err := tr.Policy.Generate(ctx, []trainer.Prompt{{IDs: p}}, model.SampleOptions{MaxNewTokens: 16, StopTokens: c.StopTokens()}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		text, _ := c.Decode(out[0].Tokens, false)
		t.Logf("%s → %q (answer %s)", task.Problem, text, task.Answer)
	}
	dir := filepath.Join("..", "..", "testdata", "cache", "trainer")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		name := "learning-curve.jsonl"
		if precision != "fp32" {
			name = "learning-curve-" + precision + ".jsonl"
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err == nil {
			enc := json.NewEncoder(f)
			for _, l := range curve {
				enc.Encode(l)
			}
			f.Close()
		}
	}
	mean := func(ls []*trainer.StepLog, f func(*trainer.StepLog) float64) float64 {
		var s float64
		for _, l := range ls {
			s += f(l)
		}
		return s / float64(len(ls))
	}
	rew := func(l *trainer.StepLog) float64 { return l.RewardMean }
	acc := func(l *trainer.StepLog) float64 { return l.Accuracy }
	startR, endR := mean(curve[:5], rew), mean(curve[len(curve)-10:], rew)
	startA, endA := mean(curve[:5], acc), mean(curve[len(curve)-10:], acc)
	t.Logf("reward %.3f → %.3f, accuracy %.3f → %.3f", startR, endR, startA, endA)
	if endR < startR+0.4 || endA < startA+0.3 {
		t.Errorf("no clear improvement: reward %.3f → %.3f, accuracy %.3f → %.3f", startR, endR, startA, endA)
	}
	// A plateau: the last ten steps stay high (no step below the starting level + 0.2).
	for _, l := range curve[len(curve)-10:] {
		if l.RewardMean < startR+0.2 {
			t.Errorf("step %d: reward %.3f fell back near the start (%.3f)", l.Step, l.RewardMean, startR)
		}
	}
	var windows []float64
	for i := 0; i+25 <= len(curve); i += 25 {
		windows = append(windows, mean(curve[i:i+25], rew))
	}
	t.Logf("%s mean reward per 25 steps: %.3f", precision, windows)
	return windows
}
