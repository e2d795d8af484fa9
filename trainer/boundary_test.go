package trainer_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer"
	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
	"github.com/eosinlab/eosin/trainer/vision"
)

var errorf = fmt.Errorf

// stepKey keeps the deterministic fields of a step log (not timings), bit for bit.
func stepKey(l *trainer.StepLog) string {
	return fmt.Sprintf("step %d opt %d lr %x reward %x/%x loss %x kl %x clip %x/%x/%x ent %x gn %x len %x tok %d groups %d gen %d",
		l.Step, l.OptStep, math.Float64bits(l.LR), math.Float64bits(l.RewardMean), math.Float64bits(l.RewardStd), math.Float64bits(l.Loss),
		math.Float64bits(l.KL), math.Float64bits(l.ClipHigh), math.Float64bits(l.ClipLow), math.Float64bits(l.DualClip),
		math.Float64bits(l.Entropy), math.Float64bits(l.GradNorm), math.Float64bits(l.RespLen), l.Tokens, l.Groups, l.GenBatches)
}

// transfers counts what crosses the policy boundary, in elements.
type transfers struct {
	calls                   map[string]int
	idsIn, pixelsIn, gradIn int // token ids (and targets), pixel values, log-prob gradients
	tokensOut, floatsOut    int // sampled tokens; log-probs and entropies
	scalars                 int // gradient norms and optimizer hyper-parameters
}

// strictPolicy keeps a policy out of the training loop's reach, as a device backend does: it
// copies everything that crosses (so no slice is shared with the loop), hands out forward
// passes as opaque handles and counts every transfer. Checkpoint calls are refused, so a
// step that needed one fails.
type strictPolicy struct {
	inner  trainer.Policy
	passes map[int]trainer.Pass
	next   int
	n      *transfers
}

type passHandle int

func newStrict(p trainer.Policy, n *transfers) *strictPolicy {
	return &strictPolicy{inner: p, passes: map[int]trainer.Pass{}, n: n}
}

func (s *strictPolicy) in(prompts []trainer.Prompt) []trainer.Prompt {
	out := make([]trainer.Prompt, len(prompts))
	for i, p := range prompts {
		out[i] = trainer.Prompt{IDs: append([]int32(nil), p.IDs...), Pixels: append([]float32(nil), p.Pixels...),
			Grids: append(p.Grids[:0:0], p.Grids...)}
		s.n.idsIn += len(p.IDs)
		s.n.pixelsIn += len(p.Pixels)
	}
	return out
}

func (s *strictPolicy) Generate(ctx context.Context, prompts []trainer.Prompt, opt model.SampleOptions, rng *rand.Rand) ([]model.Completion, error) {
	s.n.calls["Generate"]++
	// Groups share their prompt on the device: copy each distinct prompt once.
	in := s.in(prompts[:1])
	dev := []trainer.Prompt{in[0]}
	for i := 1; i < len(prompts); i++ {
		if &prompts[i].IDs[0] == &prompts[i-1].IDs[0] {
			dev = append(dev, dev[i-1])
			continue
		}
		dev = append(dev, s.in(prompts[i : i+1])[0])
	}
	cs, err := s.inner.Generate(ctx, dev, opt, rng)
	out := make([]model.Completion, len(cs))
	for i, c := range cs {
		out[i] = model.Completion{Tokens: append([]int32(nil), c.Tokens...), LogProbs: append([]float64(nil), c.LogProbs...), Stopped: c.Stopped}
		s.n.tokensOut += len(c.Tokens)
		s.n.floatsOut += len(c.LogProbs)
	}
	return out, err
}

func (s *strictPolicy) ForwardLogProbs(seqs []trainer.Prompt, targets []int32, temperature float64) (trainer.Pass, []float32, []float32, error) {
	s.n.calls["ForwardLogProbs"]++
	s.n.idsIn += len(targets)
	p, lp, ent, err := s.inner.ForwardLogProbs(s.in(seqs), append([]int32(nil), targets...), temperature)
	if err != nil {
		return nil, nil, nil, err
	}
	s.next++
	s.passes[s.next] = p
	s.n.floatsOut += len(lp) + len(ent)
	return passHandle(s.next), append([]float32(nil), lp...), append([]float32(nil), ent...), nil
}

func (s *strictPolicy) BackwardLogProbs(p trainer.Pass, targets []int32, dlogp []float32, temperature float64) error {
	s.n.calls["BackwardLogProbs"]++
	h, ok := p.(passHandle)
	if !ok || s.passes[int(h)] == nil {
		return errorf("backward with a pass that is not a live handle: %T", p)
	}
	inner := s.passes[int(h)]
	delete(s.passes, int(h))
	s.n.idsIn += len(targets)
	s.n.gradIn += len(dlogp)
	return s.inner.BackwardLogProbs(inner, append([]int32(nil), targets...), append([]float32(nil), dlogp...), temperature)
}

func (s *strictPolicy) ZeroGrad() { s.n.calls["ZeroGrad"]++; s.inner.ZeroGrad() }
func (s *strictPolicy) GradSumSquares() float64 {
	s.n.calls["GradSumSquares"]++
	s.n.scalars++
	return s.inner.GradSumSquares()
}
func (s *strictPolicy) ScaleGrad(f float64) {
	s.n.calls["ScaleGrad"]++
	s.n.scalars++
	s.inner.ScaleGrad(f)
}
func (s *strictPolicy) AdamW(h model.AdamWStep) {
	s.n.calls["AdamW"]++
	s.n.scalars++
	s.inner.AdamW(h)
}
func (s *strictPolicy) ResetOptimizer() { s.n.calls["ResetOptimizer"]++; s.inner.ResetOptimizer() }
func (s *strictPolicy) Frozen() (trainer.Policy, error) {
	s.n.calls["Frozen"]++
	f, err := s.inner.Frozen()
	return newStrict(f, s.n), err
}
func (s *strictPolicy) Export(string, safetensors.DType) error {
	s.n.calls["Export"]++
	return errorf("strict policy: no export during a step")
}
func (s *strictPolicy) LoadWeights(string) error {
	s.n.calls["LoadWeights"]++
	return errorf("strict policy: no weights cross during a step")
}
func (s *strictPolicy) OptimizerState() ([]*safetensors.Tensor, error) {
	s.n.calls["OptimizerState"]++
	return nil, errorf("strict policy: no optimizer state crosses during a step")
}
func (s *strictPolicy) LoadOptimizerState(map[string]*safetensors.Tensor) error {
	s.n.calls["LoadOptimizerState"]++
	return errorf("strict policy: no optimizer state crosses during a step")
}
func (s *strictPolicy) VocabSize() int { return s.inner.VocabSize() }

// strictImagePolicy is a strictPolicy over a VL policy.
type strictImagePolicy struct {
	*strictPolicy
	img trainer.ImagePolicy
}

func (s strictImagePolicy) ImageProcessor() vision.Processor { return s.img.ImageProcessor() }

func (s strictImagePolicy) VisionTokens() []int32 { return s.img.VisionTokens() }

func (s strictImagePolicy) Frozen() (trainer.Policy, error) {
	f, err := s.strictPolicy.Frozen()
	if err != nil {
		return nil, err
	}
	return strictImagePolicy{f.(*strictPolicy), s.img}, nil
}

// A whole GRPO step (μ = 2 over 2 mini-batches, so old log-probs; KL, so a reference pass)
// runs through a policy that keeps its memory to itself, for a text and a VL model: the step
// equals the one on the bare policy bit for bit, and only the declared transfers happen —
// prompts in and completions out once, per forward pass ids in and log-probs and entropies
// out, per update log-prob gradients in and the gradient norm out; no weights, gradients,
// optimizer state or activations cross, and no forward pass is left unreleased except those
// that needed no backward (old and reference log-probs).
func TestStrictBoundaryStep(t *testing.T) {
	cases := []struct {
		name   string
		policy func(cfg trainer.Config) trainer.Policy
	}{
		{"text", func(cfg trainer.Config) trainer.Policy {
			dc := model.Config{HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1,
				VocabSize: len(figVocab), RMSNormEps: 1e-6, RopeTheta: 100, InitializerRange: 0.1}
			p := model.NewParams[float32](dc)
			p.InitRandom(rand.New(rand.NewPCG(2, 2)))
			return trainer.NewTextPolicy(p, &model.CPU[float32]{Workers: 2}, false, false)
		}},
		{"vlm", func(cfg trainer.Config) trainer.Policy {
			return trainer.NewVLMPolicy(tinyQwen2VL(t, 5), vision.PublishedProcessor(), true, false, false, 2)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 9))
			var tasks []trainer.Task
			for i := range 4 {
				tasks = append(tasks, redSquareTask(rng, i, i%2 == 1))
			}
			cfg := trainer.DefaultConfig()
			cfg.Steps, cfg.GRPO.GroupSize, cfg.GRPO.PromptsPerStep, cfg.GRPO.MaxNewTokens = 2, 4, 2, 2
			cfg.GRPO.UpdatesPerBatch, cfg.GRPO.MiniBatches, cfg.GRPO.KLCoef, cfg.Optim.LR = 2, 2, 0.05, 1e-2
			bare, err := trainer.NewTrainer(cfg, figCodec{}, exactLetter{}, tasks, c.policy(cfg))
			if err != nil {
				t.Fatal(err)
			}
			n := &transfers{calls: map[string]int{}}
			var sp trainer.Policy = newStrict(c.policy(cfg), n)
			if ip, ok := c.policy(cfg).(trainer.ImagePolicy); ok {
				sp = strictImagePolicy{sp.(*strictPolicy), ip}
			}
			strict, err := trainer.NewTrainer(cfg, figCodec{}, exactLetter{}, tasks, sp)
			if err != nil {
				t.Fatal(err)
			}
			for step := 1; step <= cfg.Steps; step++ {
				*n = transfers{calls: map[string]int{}}
				want, err := bare.Step(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got, err := strict.Step(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if stepKey(got) != stepKey(want) {
					t.Fatalf("step %d through the strict boundary:\n got  %s\n want %s", step, stepKey(got), stepKey(want))
				}
				rows := want.Tokens - cfg.GRPO.GroupSize*cfg.GRPO.PromptsPerStep // packed rows of one pass over the batch
				mb, mu := cfg.GRPO.MiniBatches, cfg.GRPO.UpdatesPerBatch
				wantCalls := map[string]int{"Generate": 1, "ForwardLogProbs": 2*mb + mu*mb, "BackwardLogProbs": mu * mb,
					"ZeroGrad": mu * mb, "GradSumSquares": mu * mb, "AdamW": mu * mb}
				if s := n.calls["ScaleGrad"]; s > 0 {
					wantCalls["ScaleGrad"] = s // only when the norm exceeds max_grad_norm
				}
				if len(n.calls) != len(wantCalls) {
					t.Errorf("step %d: calls %v, want %v", step, n.calls, wantCalls)
				}
				for k, v := range wantCalls {
					if n.calls[k] != v {
						t.Errorf("step %d: %s called %d times, want %d", step, k, n.calls[k], v)
					}
				}
				// ids: the two distinct prompts for generation, then every packed row per pass;
				// out: one token and log-prob per completion token, log-prob + entropy per row.
				promptIDs := (want.Tokens - int(want.RespLen*float64(cfg.GRPO.GroupSize*cfg.GRPO.PromptsPerStep)+0.5)) / cfg.GRPO.GroupSize
				genTok := int(want.RespLen*float64(cfg.GRPO.GroupSize*cfg.GRPO.PromptsPerStep) + 0.5)
				// ForwardLogProbs: ids and targets of each row ((2 + μ) passes, counted once as
				// targets plus once as ids); BackwardLogProbs: targets of each row (μ passes).
				if want := promptIDs + (2+mu)*2*rows + mu*rows; n.idsIn != want {
					t.Errorf("step %d: %d token ids in, want %d", step, n.idsIn, want)
				}
				if n.gradIn != mu*rows || n.tokensOut != genTok || n.floatsOut != genTok+(2+mu)*2*rows {
					t.Errorf("step %d: %d gradients in (want %d), %d tokens out (want %d), %d floats out (want %d)",
						step, n.gradIn, mu*rows, n.tokensOut, genTok, n.floatsOut, genTok+(2+mu)*2*rows)
				}
				if c.name == "vlm" && n.pixelsIn == 0 || c.name == "text" && n.pixelsIn != 0 {
					t.Errorf("step %d: %d pixel values in", step, n.pixelsIn)
				}
				t.Logf("step %d: calls %v; in: %d ids, %d pixels, %d log-prob gradients; out: %d tokens, %d floats, %d scalars",
					step, n.calls, n.idsIn, n.pixelsIn, n.gradIn, n.tokensOut, n.floatsOut, n.scalars)
			}
		})
	}
}

// A bf16 run keeps float32 master weights: its F32 export (the checkpoint form) is the
// masters, off the bf16 grid after updates, and its BF16 export (export_dtype: bf16) is
// exactly the bf16 weights it computed with.
func TestBF16MasterWeightsAndExport(t *testing.T) {
	dc := model.Config{HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1,
		VocabSize: len(figVocab), RMSNormEps: 1e-6, RopeTheta: 100, InitializerRange: 0.1}
	p := model.NewParams[float32](dc)
	p.InitRandom(rand.New(rand.NewPCG(2, 2)))
	rng := rand.New(rand.NewPCG(9, 9))
	var tasks []trainer.Task
	for i := range 4 {
		tasks = append(tasks, redSquareTask(rng, i, i%2 == 1))
	}
	cfg := trainer.DefaultConfig()
	cfg.Precision, cfg.GRPO.GroupSize, cfg.GRPO.PromptsPerStep, cfg.GRPO.MaxNewTokens, cfg.Optim.LR = "bf16", 4, 2, 2, 1e-3
	tr, err := trainer.New(cfg, figCodec{}, exactLetter{}, tasks, p)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := tr.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	tp := tr.Policy.(*trainer.TextPolicy)
	compute, master := tp.Model.P.Data, tp.Params().Data
	off := 0
	for i, v := range master {
		if model.RoundBF16(v) != compute[i] {
			t.Fatalf("compute weight %d = %g is not the bf16 rounding of its master %g", i, compute[i], v)
		}
		if model.RoundBF16(v) != v {
			off++
		}
	}
	if off < len(master)/2 {
		t.Errorf("only %d of %d master weights are off the bf16 grid after two steps", off, len(master))
	}
	for _, c := range []struct {
		dt   safetensors.DType
		want []float32
	}{{"F32", master}, {"BF16", compute}} {
		dir := t.TempDir()
		if err := tr.Policy.Export(dir, c.dt); err != nil {
			t.Fatal(err)
		}
		got, err := trainer.LoadModel(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i := range c.want {
			if got.Data[i] != c.want[i] {
				t.Fatalf("%s export: weight %d is %g, want %g", c.dt, i, got.Data[i], c.want[i])
			}
		}
	}
}
