package toy

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/trainer"
	"github.com/eosinlab/eosin/trainer/model"
)

// resumeConfig exercises every moving part of a step: μ = 2 passes over 2 mini-batches (so
// old log-probs and real ratios), KL to a reference model, dual-clip, warmup + cosine, dynamic
// sampling.
func resumeConfig() trainer.Config {
	c := toyConfig(6)
	c.GRPO.GroupSize = 4
	c.GRPO.PromptsPerStep = 4
	c.GRPO.UpdatesPerBatch = 2
	c.GRPO.MiniBatches = 2
	c.GRPO.KLCoef = 0.05
	c.GRPO.DualClip = 3
	c.GRPO.DynamicSampling = true
	c.GRPO.MaxGenBatches = 3
	c.GRPO.DynamicMetric = "overall"
	c.Optim.WarmupSteps = 2
	c.Optim.TotalSteps = 24
	c.Optim.WeightDecay = 0.01
	return c
}

func newResumeTrainer(t *testing.T) *trainer.Trainer {
	scorer, err := reward.Preset("r1v")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trainer.New(resumeConfig(), Codec{}, scorer, Tasks(Max), tinyParams(5))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// logKey keeps the deterministic fields of a step log (not timings).
func logKey(l *trainer.StepLog) string {
	return fmt.Sprintf("step %d opt %d lr %x reward %x/%x loss %x kl %x clip %x/%x/%x ent %x gn %x len %x groups %d gen %d",
		l.Step, l.OptStep, math.Float64bits(l.LR), math.Float64bits(l.RewardMean), math.Float64bits(l.RewardStd), math.Float64bits(l.Loss),
		math.Float64bits(l.KL), math.Float64bits(l.ClipHigh), math.Float64bits(l.ClipLow), math.Float64bits(l.DualClip),
		math.Float64bits(l.Entropy), math.Float64bits(l.GradNorm), math.Float64bits(l.RespLen), l.Groups, l.GenBatches)
}

// Save after 3 steps, load into a fresh trainer, and the next 3 steps are bit-identical to an
// uninterrupted run.
func TestResumeIdentical(t *testing.T) {
	ctx := context.Background()
	a := newResumeTrainer(t)
	// A short format cold start so that rewards vary and every step really updates.
	rng := rand.New(rand.NewPCG(4, 4))
	for i := 0; i < 40; i++ {
		ex, err := FormatExamples(Max, 32, rng)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.SFTStep(ex); err != nil {
			t.Fatal(err)
		}
	}
	a.ResetOptimizer()
	dir := filepath.Join(t.TempDir(), "ckpt")
	var want []string
	clipped := 0.0
	for i := 0; i < 6; i++ {
		l, err := a.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clipped += l.ClipHigh + l.ClipLow
		if i == 2 {
			if err := a.Save(dir); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s", logKey(l))
		if i >= 3 {
			want = append(want, logKey(l))
		}
	}
	if clipped == 0 {
		t.Error("μ = 2 with 2 mini-batches never clipped: ratios stayed 1")
	}
	if a.OptStep < 12 {
		t.Errorf("only %d optimizer steps in 6 rollout steps", a.OptStep)
	}
	b := newResumeTrainer(t)
	if err := b.Load(dir); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		l, err := b.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := logKey(l); got != want[i] {
			t.Errorf("resumed step %d:\n got  %s\n want %s", i+4, got, want[i])
		}
	}
	pa, pb := a.Policy.(*trainer.TextPolicy).Model.P.Data, b.Policy.(*trainer.TextPolicy).Model.P.Data
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatalf("weights differ at %d after resume", i)
		}
	}
}

const helperEnv = "EOSIN_TRAINER_LOGITS_HELPER"

func logitsHex(t testing.TB, p *model.Params[float32]) string {
	m := model.New(p, model.NewCPU[float32]())
	a, err := m.Forward(model.NewBatch([][]int32{{10, 20, 6, 21, 11}, {2, 3, 4}}))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, v := range a.Logits {
		fmt.Fprintf(&sb, "%08x", math.Float32bits(v))
	}
	return hex.EncodeToString([]byte(sb.String()))
}

// TestHelperLogits runs in a child process: it loads the checkpoint named by the environment
// and prints the logits' bit patterns.
func TestHelperLogits(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return
	}
	p, err := trainer.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("LOGITS", logitsHex(t, p))
}

// Save → load in a fresh process → identical logits (bit for bit).
func TestSaveLoadFreshProcess(t *testing.T) {
	p := tinyParams(9)
	// Give norms and biases non-default values so that every tensor matters.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range p.Data {
		p.Data[i] += float32(rng.NormFloat64() * 0.01)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := trainer.SaveModel(dir, p, "F32"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLogits$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var got string
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "LOGITS "); ok {
			got = s
		}
	}
	if got == "" {
		t.Fatalf("child printed no logits:\n%s", out)
	}
	if got != logitsHex(t, p) {
		t.Error("logits in the fresh process differ from the saving process")
	}
	// A BF16 export loads too, with logits close to the F32 ones.
	bdir := filepath.Join(t.TempDir(), "bf16")
	if err := trainer.SaveModel(bdir, p, "BF16"); err != nil {
		t.Fatal(err)
	}
	bp, err := trainer.LoadModel(bdir)
	if err != nil {
		t.Fatal(err)
	}
	seqs := [][]int32{{10, 20, 6, 21, 11}, {2, 3, 4}}
	fa, _ := model.New(p, model.NewCPU[float32]()).Forward(model.NewBatch(seqs))
	ba, _ := model.New(bp, model.NewCPU[float32]()).Forward(model.NewBatch(seqs))
	var maxDiff, maxAbs float64
	for i := range fa.Logits {
		maxDiff = math.Max(maxDiff, math.Abs(float64(fa.Logits[i]-ba.Logits[i])))
		maxAbs = math.Max(maxAbs, math.Abs(float64(fa.Logits[i])))
	}
	t.Logf("BF16 export: max |Δlogit| %.3g, max |logit| %.3g", maxDiff, maxAbs)
	if maxDiff > 0.02*maxAbs || maxDiff == 0 {
		t.Errorf("BF16 export: max |Δlogit| %.3g vs max |logit| %.3g", maxDiff, maxAbs)
	}
}
