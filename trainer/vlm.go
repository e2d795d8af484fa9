package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // figure images are PNG or JPEG
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/trainer/grpo"
	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
	"github.com/eosinlab/eosin/trainer/vision"
)

// VLMTrainer runs GRPO on a Qwen2-VL / Qwen2.5-VL model: prompts carry the tasks' images
// (<|vision_start|><|image_pad|>…<|vision_end|> expanded to the merged-token count), rollouts
// condition on them, and the loss trains the decoder and, with vision.train, the tower.
// It supports the loss settings of Trainer except dynamic sampling; with kl_coef > 0 the
// reference is a frozen copy of the initial VLM (decoder and tower).
type VLMTrainer struct {
	Cfg    Config
	Codec  Codec
	Scorer reward.Scorer
	Data   *Source
	Policy *vision.VLM[float32]
	// Ref is the frozen reference model (nil without KL).
	Ref       *vision.VLM[float32]
	Processor vision.Processor

	m, v, grad    *model.Params[float32]
	vm, vv, vgrad *vision.Params[float32]
	rng           *rand.Rand
	// StepN counts rollout steps done; OptStep optimizer steps done.
	StepN, OptStep int
}

// NewVLMTrainer builds a multimodal GRPO trainer around a VLM (its parameters are updated in
// place).
func NewVLMTrainer(cfg Config, codec Codec, scorer reward.Scorer, tasks []Task, policy *vision.VLM[float32]) (*VLMTrainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.GRPO.DynamicSampling {
		return nil, fmt.Errorf("vlm trainer: dynamic_sampling is not implemented for VL models")
	}
	if codec.VocabSize() > policy.Dec.Cfg.VocabSize {
		return nil, fmt.Errorf("vlm trainer: tokenizer has %d ids but the model only %d embedding rows", codec.VocabSize(), policy.Dec.Cfg.VocabSize)
	}
	dp, vp := policy.Dec.P, policy.Vis.P
	t := &VLMTrainer{Cfg: cfg, Codec: codec, Scorer: scorer, Data: &Source{Tasks: tasks, Seed: cfg.Seed}, Policy: policy,
		Processor: cfg.Vision.Processor(vision.PublishedProcessor()),
		m:         dp.ZerosLike(), v: dp.ZerosLike(), grad: dp.ZerosLike(),
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))}
	if cfg.Vision.Train {
		t.vm, t.vv, t.vgrad = vp.ZerosLike(), vp.ZerosLike(), vp.ZerosLike()
	}
	if cfg.GRPO.KLCoef > 0 {
		vc := vp.ZerosLike()
		copy(vc.Data, vp.Data)
		ref, err := vision.NewVLM(dp.Clone(), vc, policy.VL, policy.Vis.B)
		if err != nil {
			return nil, err
		}
		t.Ref = ref
	}
	return t, nil
}

// TaskImages decodes a task's images (PNG or JPEG; Bytes, else read from Path) to RGB.
func TaskImages(task Task) ([]vision.RGB8, error) {
	var out []vision.RGB8
	for i, im := range task.Images {
		b := im.Bytes
		if b == nil {
			var err error
			if b, err = os.ReadFile(im.Path); err != nil {
				return nil, fmt.Errorf("task %s image %d: %w", task.ID, i, err)
			}
		}
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("task %s image %d: %w", task.ID, i, err)
		}
		out = append(out, vision.ToRGB8(img))
	}
	return out, nil
}

// WithImages puts one image placeholder per image at the start of the first user turn of a
// rendered chat prompt (Qwen's order for [image, text] content), unless the prompt already
// holds placeholders; without a user turn they go first.
func WithImages(prompt string, n int) string {
	if n == 0 || strings.Contains(prompt, vision.ImagePad) {
		return prompt
	}
	ph := strings.Repeat(vision.ImagePlaceholder, n)
	const user = "<|im_start|>user\n"
	if i := strings.Index(prompt, user); i >= 0 {
		return prompt[:i+len(user)] + ph + prompt[i+len(user):]
	}
	return ph + prompt
}

// Input builds a task's model input: preprocessed images and the prompt ids with expanded
// image pads.
func (t *VLMTrainer) Input(task Task) (vision.Input[float32], error) {
	imgs, err := TaskImages(task)
	if err != nil {
		return vision.Input[float32]{}, err
	}
	var in vision.Input[float32]
	for i, im := range imgs {
		px, g, err := t.Processor.Preprocess(im)
		if err != nil {
			return in, fmt.Errorf("task %s image %d: %w", task.ID, i, err)
		}
		in.Pixels = append(in.Pixels, px...)
		in.Grids = append(in.Grids, g)
	}
	text, err := vision.ExpandImageText(WithImages(t.Codec.Prompt(task), len(imgs)), in.Grids)
	if err != nil {
		return in, fmt.Errorf("task %s: %w", task.ID, err)
	}
	if in.IDs, err = t.Codec.Encode(text); err != nil {
		return in, fmt.Errorf("task %s: %w", task.ID, err)
	}
	return in, nil
}

type vlmRollout struct {
	rollout
	in vision.Input[float32]
}

func (t *VLMTrainer) temperature() float64 {
	if t.Cfg.GRPO.Temperature <= 0 {
		return 1
	}
	return t.Cfg.GRPO.Temperature
}

// batch packs rollouts (prompt + completion but its last token) with per-row targets.
func vlmBatch(rs []*vlmRollout) ([]vision.Input[float32], []int32, []int) {
	var ins []vision.Input[float32]
	var targets []int32
	var first []int
	row := 0
	for _, r := range rs {
		ids := append(append([]int32(nil), r.prompt...), r.comp[:len(r.comp)-1]...)
		ins = append(ins, vision.Input[float32]{IDs: ids, Pixels: r.in.Pixels, Grids: r.in.Grids})
		for i := range ids {
			if i+1 >= len(r.prompt) {
				targets = append(targets, r.comp[i+1-len(r.prompt)])
			} else {
				targets = append(targets, -1)
			}
		}
		first = append(first, row+len(r.prompt)-1)
		row += len(ids)
	}
	return ins, targets, first
}

// Step runs one rollout step: G completions per task conditioned on its images, rewards,
// group advantages, then updates_per_batch passes of mini-batch optimizer steps.
func (t *VLMTrainer) Step(ctx context.Context) (*StepLog, error) {
	start := time.Now()
	g := &t.Cfg.GRPO
	log := &StepLog{Step: t.StepN + 1, Components: map[string]float64{}, GenBatches: 1}
	var prompts []vision.Input[float32]
	var tasks []Task
	for range g.PromptsPerStep {
		task, err := t.Data.Next()
		if err != nil {
			return nil, err
		}
		in, err := t.Input(task)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", log.Step, err)
		}
		for range g.GroupSize {
			prompts = append(prompts, in) // shared slices: the tower runs once per group
			tasks = append(tasks, task)
		}
	}
	stops := t.Codec.StopTokens()
	gs := time.Now()
	comps, err := t.Policy.Generate(ctx, prompts, model.SampleOptions{Temperature: g.Temperature, TopP: g.TopP, TopK: g.TopK,
		MaxNewTokens: g.MaxNewTokens, StopTokens: stops}, t.rng)
	if err != nil {
		return nil, fmt.Errorf("step %d: rollout: %w", log.Step, err)
	}
	genTime := time.Since(gs)
	rs := make([]*vlmRollout, len(comps))
	rewards := make([]float64, len(comps))
	genTok := 0
	for i, c := range comps {
		task := tasks[i]
		text, err := t.Codec.Decode(c.Tokens, true)
		if err != nil {
			return nil, fmt.Errorf("task %s: decode: %w", task.ID, err)
		}
		res := t.Scorer.Score(reward.Input{Completion: text, Reference: task.Answer, Task: task.Kind, Options: task.Options,
			Prompt: task.Problem, Length: len(c.Tokens)})
		r := &vlmRollout{in: prompts[i]}
		r.prompt, r.comp, r.reward, r.comps, r.stopped = prompts[i].IDs, c.Tokens, res.Overall, res.Components, c.Stopped
		r.mask = grpo.CompletionMask(c.Tokens, func(tok int32) bool { return slices.Contains(stops, tok) }, g.MaskTruncated)
		rs[i], rewards[i] = r, res.Overall
		for k, v := range res.Components {
			log.Components[k] += v / float64(len(comps))
		}
		log.RespLen += float64(len(c.Tokens)) / float64(len(comps))
		log.RespLenMax = max(log.RespLenMax, len(c.Tokens))
		if !c.Stopped {
			log.Truncated += 1 / float64(len(comps))
		}
		log.Tokens += len(r.prompt) + len(c.Tokens)
		genTok += len(c.Tokens)
	}
	t.StepN++
	log.Groups = g.PromptsPerStep
	log.RewardMean, log.RewardStd = meanStd(rewards)
	log.Accuracy = log.Components["accuracy"]
	adv, err := grpo.Advantages(rewards, g.GroupSize, grpo.Scale(g.AdvScale), g.AdvEps)
	if err != nil {
		return nil, err
	}
	for i, r := range rs {
		r.adv = adv[i]
	}
	lc := g.LossConfig()
	needOld := g.UpdatesPerBatch*g.MiniBatches > 1
	var mbs [][]*vlmRollout
	for k := 0; k < g.MiniBatches; k++ {
		if lo, hi := k*len(rs)/g.MiniBatches, (k+1)*len(rs)/g.MiniBatches; hi > lo {
			mbs = append(mbs, rs[lo:hi])
		}
	}
	// Old and reference log-probs, before any update.
	compLogProbs := func(m *vision.VLM[float32], mb []*vlmRollout) ([][]float64, error) {
		ins, targets, first := vlmBatch(mb)
		_, lp, _, err := m.ForwardLogProbs(ins, targets, t.temperature())
		if err != nil {
			return nil, err
		}
		out := make([][]float64, len(mb))
		for i, r := range mb {
			out[i] = make([]float64, len(r.comp))
			for j := range r.comp {
				out[i][j] = float64(lp[first[i]+j])
			}
		}
		return out, nil
	}
	for _, mb := range mbs {
		if needOld {
			old, err := compLogProbs(t.Policy, mb)
			if err != nil {
				return nil, err
			}
			for i, r := range mb {
				r.old = old[i]
			}
		}
		if t.Ref != nil && lc.KLCoef > 0 {
			ref, err := compLogProbs(t.Ref, mb)
			if err != nil {
				return nil, err
			}
			for i, r := range mb {
				r.ref = ref[i]
			}
		}
	}
	var n float64
	for range g.UpdatesPerBatch {
		for _, mb := range mbs {
			st, ent, gn, err := t.update(mb, lc, needOld)
			if err != nil {
				return nil, fmt.Errorf("step %d: %w", log.Step, err)
			}
			n++
			log.addUpdate(st, ent, gn)
		}
	}
	log.finish(n, t.OptStep, t.lr(t.OptStep-1), time.Since(start), genTok, genTime)
	return log, nil
}

func (t *VLMTrainer) update(mb []*vlmRollout, lc grpo.LossConfig, haveOld bool) (grpo.Stats, float64, float64, error) {
	ins, targets, first := vlmBatch(mb)
	temp := t.temperature()
	a, lp, ent, err := t.Policy.ForwardLogProbs(ins, targets, temp)
	if err != nil {
		return grpo.Stats{}, 0, 0, err
	}
	seqs := make([]grpo.Seq, len(mb))
	var entSum, entN float64
	for i, r := range mb {
		s := grpo.Seq{Mask: r.mask, Adv: r.adv, RefLogP: r.ref}
		s.LogP = make([]float64, len(r.comp))
		for j := range r.comp {
			s.LogP[j] = float64(lp[first[i]+j])
			if r.mask[j] > 0 {
				entSum += float64(ent[first[i]+j])
				entN++
			}
		}
		s.OldLogP = r.old
		if !haveOld {
			s.OldLogP = s.LogP
		}
		seqs[i] = s
	}
	_, grads, st, err := grpo.Loss(seqs, lc, grpo.CountDenominators(seqs, lc))
	if err != nil {
		return grpo.Stats{}, 0, 0, err
	}
	dlogp := make([]float32, len(targets))
	for i := range mb {
		for j, gv := range grads[i] {
			dlogp[first[i]+j] = float32(gv)
		}
	}
	t.grad.Zero()
	if t.vgrad != nil {
		clear(t.vgrad.Data)
	}
	t.Policy.BackwardLogProbs(a, targets, dlogp, temp, t.grad, t.vgrad)
	gn := t.applyGrads()
	if entN > 0 {
		entSum /= entN
	}
	return st, entSum, gn, nil
}

func (t *VLMTrainer) lr(step int) float64 {
	o := &t.Cfg.Optim
	total := o.TotalSteps
	if total == 0 {
		total = t.Cfg.Steps * t.Cfg.GRPO.UpdatesPerBatch * t.Cfg.GRPO.MiniBatches
	}
	return o.LR * grpo.Schedule{Warmup: o.WarmupSteps, Total: total, MinRatio: o.MinLRRatio}.Factor(step)
}

// applyGrads clips decoder and (trained) tower gradients by their joint norm and takes one
// AdamW step on both; it returns the norm before clipping.
func (t *VLMTrainer) applyGrads() float64 {
	be := t.Policy.Dec.B
	o := &t.Cfg.Optim
	sq := be.SumSquares(t.grad.Data)
	if t.vgrad != nil {
		sq += be.SumSquares(t.vgrad.Data)
	}
	norm := math.Sqrt(sq)
	if f := grpo.ClipFactor(norm, o.MaxGradNorm); f < 1 {
		be.Scale(t.grad.Data, f)
		if t.vgrad != nil {
			be.Scale(t.vgrad.Data, f)
		}
	}
	lr := t.lr(t.OptStep)
	t.OptStep++
	step := func(ts []model.ParamTensor, p, g, m, v []float32) {
		for _, tn := range ts {
			wd := 0.0
			if tn.Decay {
				wd = o.WeightDecay
			}
			lo, hi := tn.Offset, tn.Offset+tn.Len()
			be.AdamW(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi],
				model.AdamWStep{LR: lr, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: wd, Step: t.OptStep})
		}
	}
	dp := t.Policy.Dec.P
	step(dp.Tensors, dp.Data, t.grad.Data, t.m.Data, t.v.Data)
	if t.vgrad != nil {
		vp := t.Policy.Vis.P
		step(vp.Tensors, vp.Data, t.vgrad.Data, t.vm.Data, t.vv.Data)
	}
	return norm
}

// runVLM is Run for a Qwen2-VL / Qwen2.5-VL checkpoint: GRPO with the tasks' images, one
// log.jsonl line (and terminal line) per step, the final model (decoder and tower, in
// export_dtype, with the source config.json and the tokenizer) in out/final. VL runs do
// not write intermediate checkpoints and do not resume.
func runVLM(ctx context.Context, cfg Config, opt RunOptions, codec Codec, scorer reward.Scorer, tasks []Task, configJSON []byte, tokPath string) error {
	policy, err := vision.Load[float32](cfg.Model.Path, &model.CPU[float32]{Workers: cfg.Workers})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tr, err := NewVLMTrainer(cfg, codec, scorer, tasks, policy)
	if err != nil {
		return err
	}
	proc, err := vision.ReadProcessor(cfg.Model.Path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	tr.Processor = cfg.Vision.Processor(proc)
	if err := tr.Processor.Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := tr.Processor.Check(policy.Vis.Cfg); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if opt.DataVersion != "" {
		os.WriteFile(filepath.Join(cfg.Out, "dataset_version"), []byte(opt.DataVersion+"\n"), 0o644)
	}
	lf, err := os.OpenFile(filepath.Join(cfg.Out, "log.jsonl"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer lf.Close()
	enc := json.NewEncoder(lf)
	for tr.StepN < cfg.Steps {
		l, err := tr.Step(ctx)
		if err != nil {
			return err
		}
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("train: log: %w", err)
		}
		if opt.Terminal != nil {
			fmt.Fprintf(opt.Terminal, "step %d/%d  reward %.3f±%.3f  acc %.3f  clip %.3f  ent %.3f  len %.1f  %.0f tok/s\n",
				l.Step, cfg.Steps, l.RewardMean, l.RewardStd, l.Accuracy, l.ClipHigh+l.ClipLow, l.Entropy, l.RespLen, l.TokensPerS)
		}
	}
	final := filepath.Join(cfg.Out, "final")
	if err := policy.Save(final, safetensors.DType(strings.ToUpper(cfg.ExportDType)), configJSON); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if tokPath != "" {
		if b, err := os.ReadFile(tokPath); err == nil {
			os.WriteFile(filepath.Join(final, "tokenizer.json"), b, 0o644)
		}
	}
	if b, err := os.ReadFile(filepath.Join(cfg.Model.Path, "preprocessor_config.json")); err == nil {
		if err := os.WriteFile(filepath.Join(final, "preprocessor_config.json"), b, 0o644); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	return nil
}
