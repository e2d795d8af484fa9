package trainer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/trainer/grpo"
	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/vision"
)

// Trainer runs GRPO/DAPO steps on a Policy: the text decoder or a Qwen2-VL / Qwen2.5-VL
// model, whose prompts then carry the tasks' images. Generation, scoring, advantages, the
// loss, gradient clipping, AdamW, the learning-rate schedule and checkpoints are the same for
// both.
type Trainer struct {
	Cfg    Config
	Codec  Codec
	Scorer reward.Scorer
	Data   *Source
	// Policy is trained; Ref is the frozen reference (nil without KL).
	Policy Policy
	Ref    Policy

	pcg *rand.PCG
	rng *rand.Rand
	// StepN counts rollout steps done; OptStep optimizer steps done.
	StepN, OptStep int
}

// backend returns the CPU backend of the configured precision.
func (c *Config) backend() model.Backend[float32] {
	if c.mixed() {
		return model.NewMixedBF16(c.Workers)
	}
	return &model.CPU[float32]{Workers: c.Workers}
}

func (c *Config) mixed() bool { return strings.EqualFold(c.Precision, "bf16") }

// New builds a trainer of a text decoder around initial parameters (updated in place; in
// bf16 precision they hold the bf16 compute copy). The reference model (when kl_coef > 0) is
// a frozen copy.
func New(cfg Config, codec Codec, scorer reward.Scorer, tasks []Task, params *model.Params[float32]) (*Trainer, error) {
	return NewTrainer(cfg, codec, scorer, tasks, NewTextPolicy(params, cfg.backend(), false, cfg.mixed()))
}

// NewVLMTrainer builds a multimodal GRPO trainer around a VLM (its parameters are updated in
// place): prompts carry the tasks' images, preprocessed with the published processor and
// the vision.min_pixels / max_pixels bounds; with vision.train the tower trains too.
func NewVLMTrainer(cfg Config, codec Codec, scorer reward.Scorer, tasks []Task, v *vision.VLM[float32]) (*Trainer, error) {
	proc := cfg.Vision.Processor(vision.PublishedProcessor())
	return NewTrainer(cfg, codec, scorer, tasks, NewVLMPolicy(v, proc, cfg.Vision.Train, false, cfg.mixed(), cfg.Workers))
}

// NewTrainer builds a trainer around a policy; with kl_coef > 0 the reference is the
// policy's frozen copy.
func NewTrainer(cfg Config, codec Codec, scorer reward.Scorer, tasks []Task, policy Policy) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if codec.VocabSize() > policy.VocabSize() {
		return nil, fmt.Errorf("trainer: tokenizer has %d ids but the model only %d embedding rows", codec.VocabSize(), policy.VocabSize())
	}
	if ip, ok := policy.(ImagePolicy); ok {
		proc := ip.ImageProcessor()
		if err := proc.Validate(); err != nil {
			return nil, fmt.Errorf("trainer: %w", err)
		}
	}
	t := &Trainer{Cfg: cfg, Codec: codec, Scorer: scorer, Data: &Source{Tasks: tasks, Seed: cfg.Seed}, Policy: policy}
	if cfg.GRPO.KLCoef > 0 {
		ref, err := policy.Frozen()
		if err != nil {
			return nil, fmt.Errorf("trainer: reference model: %w", err)
		}
		t.Ref = ref
	}
	t.pcg = rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)
	t.rng = rand.New(t.pcg)
	return t, nil
}

// ResetOptimizer clears the AdamW moments and the optimizer step (e.g. after a warm start).
func (t *Trainer) ResetOptimizer() {
	t.Policy.ResetOptimizer()
	t.OptStep = 0
}

// StepLog is one line of log.jsonl.
type StepLog struct {
	Step       int                `json:"step"`
	OptStep    int                `json:"opt_step"`
	LR         float64            `json:"lr"`
	RewardMean float64            `json:"reward_mean"`
	RewardStd  float64            `json:"reward_std"`
	Accuracy   float64            `json:"accuracy"`
	Components map[string]float64 `json:"components"`
	Loss       float64            `json:"loss"`
	PGLoss     float64            `json:"pg_loss"`
	KL         float64            `json:"kl"`
	ClipHigh   float64            `json:"clip_frac_high"`
	ClipLow    float64            `json:"clip_frac_low"`
	DualClip   float64            `json:"dual_clip_frac"`
	Entropy    float64            `json:"entropy"`
	GradNorm   float64            `json:"grad_norm"`
	RespLen    float64            `json:"response_length"`
	RespLenMax int                `json:"response_length_max"`
	Truncated  float64            `json:"truncated_frac"`
	Groups     int                `json:"groups"`
	GenBatches int                `json:"gen_batches"`
	Tokens     int                `json:"tokens"`
	TokensPerS float64            `json:"tokens_per_s"`
	GenTokPerS float64            `json:"gen_tokens_per_s"`
	Seconds    float64            `json:"seconds"`
}

// rollout is one completion with everything the loss needs.
type rollout struct {
	in          Prompt // the prompt: ids and images
	comp        []int32
	mask        []float64
	reward, adv float64
	comps       map[string]float64
	metric      float64
	old, ref    []float64
	stopped     bool
}

// Input builds a task's prompt: the rendered chat prompt's ids and, for a policy that reads
// images, the preprocessed images with their <|image_pad|> placeholders expanded to the
// merged-token counts (placed at the start of the user turn unless the prompt holds them). A
// text policy ignores the task's images.
func (t *Trainer) Input(task Task) (Prompt, error) {
	ip, ok := t.Policy.(ImagePolicy)
	if !ok {
		ids, err := t.Codec.Encode(t.Codec.Prompt(task))
		if err != nil {
			return Prompt{}, fmt.Errorf("task %s: %w", task.ID, err)
		}
		return Prompt{IDs: ids}, nil
	}
	return imageInput(t.Codec, ip.ImageProcessor(), task, t.Cfg.mixed())
}

// generate samples G completions for each task (the G prompts of a task share their slices,
// so the tower encodes a task's images once) and scores them.
func (t *Trainer) generate(ctx context.Context, tasks []Task) ([]*rollout, int, time.Duration, error) {
	g := &t.Cfg.GRPO
	var prompts []Prompt
	for _, task := range tasks {
		in, err := t.Input(task)
		if err != nil {
			return nil, 0, 0, err
		}
		for range g.GroupSize {
			prompts = append(prompts, in)
		}
	}
	start := time.Now()
	stops := t.Codec.StopTokens()
	// Vocab: every policy samples only ids the tokenizer can decode (an embedding may have
	// more rows than the tokenizer has tokens); a VL policy never samples its image tokens.
	var banned []int32
	if ip, ok := t.Policy.(ImagePolicy); ok {
		banned = ip.VisionTokens()
	}
	comps, err := t.Policy.Generate(ctx, prompts, model.SampleOptions{Temperature: g.Temperature, TopP: g.TopP, TopK: g.TopK,
		MaxNewTokens: g.MaxNewTokens, StopTokens: stops, Vocab: t.Codec.VocabSize(), Banned: banned}, t.rng)
	if err != nil {
		return nil, 0, 0, err
	}
	genTime := time.Since(start)
	var out []*rollout
	ntok := 0
	for i, c := range comps {
		task := tasks[i/g.GroupSize]
		text, err := t.Codec.Decode(c.Tokens, true)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("task %s: decode: %w", task.ID, err)
		}
		res := t.Scorer.Score(reward.Input{Completion: text, Reference: task.Answer, Task: task.Kind, Options: task.Options,
			Prompt: task.Problem, Length: len(c.Tokens)})
		r := &rollout{in: prompts[i], comp: c.Tokens, reward: res.Overall, comps: res.Components, stopped: c.Stopped,
			mask: grpo.CompletionMask(c.Tokens, func(tok int32) bool { return slices.Contains(stops, tok) }, g.MaskTruncated)}
		r.metric = res.Overall
		if v, ok := res.Components[g.DynamicMetric]; ok {
			r.metric = v
		}
		ntok += len(c.Tokens)
		out = append(out, r)
	}
	return out, ntok, genTime, nil
}

// seqBatch packs rollouts (prompt + completion but its last token, with the prompt's images)
// with per-row targets and the row of each rollout's first completion target.
func seqBatch(rs []*rollout) ([]Prompt, []int32, []int) {
	var seqs []Prompt
	var targets []int32
	var first []int
	row := 0
	for _, r := range rs {
		np := len(r.in.IDs)
		ids := append(append(make([]int32, 0, np+len(r.comp)-1), r.in.IDs...), r.comp[:len(r.comp)-1]...)
		seqs = append(seqs, Prompt{IDs: ids, Pixels: r.in.Pixels, Grids: r.in.Grids})
		for i := range ids {
			if i+1 >= np {
				targets = append(targets, r.comp[i+1-np])
			} else {
				targets = append(targets, -1)
			}
		}
		first = append(first, row+np-1)
		row += len(ids)
	}
	return seqs, targets, first
}

// logProbs returns per-rollout completion log-probs under policy p.
func (t *Trainer) logProbs(p Policy, rs []*rollout) ([][]float64, error) {
	seqs, targets, first := seqBatch(rs)
	_, lp, _, err := p.ForwardLogProbs(seqs, targets, t.temperature())
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(rs))
	for i, r := range rs {
		out[i] = make([]float64, len(r.comp))
		for j := range r.comp {
			out[i][j] = float64(lp[first[i]+j])
		}
	}
	return out, nil
}

func (t *Trainer) temperature() float64 {
	if t.Cfg.GRPO.Temperature <= 0 {
		return 1
	}
	return t.Cfg.GRPO.Temperature
}

// Step runs one rollout step: generate (with dynamic sampling), score, compute advantages,
// then updates_per_batch passes of mini-batch optimizer steps.
func (t *Trainer) Step(ctx context.Context) (*StepLog, error) {
	start := time.Now()
	g := &t.Cfg.GRPO
	log := &StepLog{Step: t.StepN + 1, Components: map[string]float64{}}
	var rs []*rollout
	var genTok int
	var genTime time.Duration
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("step %d: %w", log.Step, err)
		}
		tasks := make([]Task, g.PromptsPerStep)
		for i := range tasks {
			task, err := t.Data.Next()
			if err != nil {
				return nil, fmt.Errorf("step %d: data: %w", log.Step, err)
			}
			tasks[i] = task
		}
		batch, nt, gt, err := t.generate(ctx, tasks)
		if err != nil {
			return nil, fmt.Errorf("step %d: rollout: %w", log.Step, err)
		}
		log.GenBatches++
		genTok += nt
		genTime += gt
		if !g.DynamicSampling {
			rs = batch
			break
		}
		metric := make([]float64, len(batch))
		for i, r := range batch {
			metric[i] = r.metric
		}
		for k, keep := range grpo.KeepGroups(metric, g.GroupSize) {
			if keep {
				rs = append(rs, batch[k*g.GroupSize:(k+1)*g.GroupSize]...)
			}
		}
		if len(rs) >= g.PromptsPerStep*g.GroupSize || (g.MaxGenBatches > 0 && log.GenBatches >= g.MaxGenBatches) {
			break
		}
	}
	if len(rs) > g.PromptsPerStep*g.GroupSize {
		rs = rs[:g.PromptsPerStep*g.GroupSize]
	}
	log.Groups = len(rs) / g.GroupSize
	t.StepN++
	if len(rs) == 0 {
		log.OptStep = t.OptStep
		log.Seconds = time.Since(start).Seconds()
		return log, nil
	}
	rewards := make([]float64, len(rs))
	for i, r := range rs {
		rewards[i] = r.reward
		for k, v := range r.comps {
			log.Components[k] += v / float64(len(rs))
		}
		log.RespLen += float64(len(r.comp)) / float64(len(rs))
		log.RespLenMax = max(log.RespLenMax, len(r.comp))
		if !r.stopped {
			log.Truncated += 1 / float64(len(rs))
		}
		log.Tokens += len(r.in.IDs) + len(r.comp)
	}
	log.RewardMean, log.RewardStd = meanStd(rewards)
	log.Accuracy = log.Components["accuracy"]
	adv, err := grpo.Advantages(rewards, g.GroupSize, grpo.Scale(g.AdvScale), g.AdvEps)
	if err != nil {
		return nil, fmt.Errorf("step %d: %w", log.Step, err)
	}
	for i, r := range rs {
		r.adv = adv[i]
	}
	// Old and reference log-probs, before any update.
	lc := g.LossConfig()
	needOld := g.UpdatesPerBatch*g.MiniBatches > 1
	mbs := splitMini(rs, g.MiniBatches)
	for _, mb := range mbs {
		if needOld {
			old, err := t.logProbs(t.Policy, mb)
			if err != nil {
				return nil, fmt.Errorf("step %d: old log-probs: %w", log.Step, err)
			}
			for i, r := range mb {
				r.old = old[i]
			}
		}
		if t.Ref != nil && lc.KLCoef > 0 {
			ref, err := t.logProbs(t.Ref, mb)
			if err != nil {
				return nil, fmt.Errorf("step %d: reference log-probs: %w", log.Step, err)
			}
			for i, r := range mb {
				r.ref = ref[i]
			}
		}
	}
	var nStats float64
	for range g.UpdatesPerBatch {
		for _, mb := range mbs {
			st, ent, gn, err := t.update(mb, lc, needOld)
			if err != nil {
				return nil, fmt.Errorf("step %d: %w", log.Step, err)
			}
			nStats++
			log.addUpdate(st, ent, gn)
		}
	}
	log.finish(nStats, t.OptStep, t.lr(t.OptStep-1), time.Since(start), genTok, genTime)
	return log, nil
}

// addUpdate adds the statistics of one optimizer update to the step's running sums.
func (l *StepLog) addUpdate(st grpo.Stats, entropy, gradNorm float64) {
	l.Loss += st.Loss
	l.PGLoss += st.PGLoss
	l.KL += st.KL
	l.ClipHigh += st.ClipHigh
	l.ClipLow += st.ClipLow
	l.DualClip += st.Dual
	l.Entropy += entropy
	l.GradNorm += gradNorm
}

// finish turns the sums of n updates into means and fills the step's counters and rates.
func (l *StepLog) finish(n float64, optStep int, lr float64, took time.Duration, genTok int, genTime time.Duration) {
	if n > 0 {
		l.Loss /= n
		l.PGLoss /= n
		l.KL /= n
		l.ClipHigh /= n
		l.ClipLow /= n
		l.DualClip /= n
		l.Entropy /= n
		l.GradNorm /= n
	}
	l.OptStep = optStep
	l.LR = lr
	l.Seconds = took.Seconds()
	l.TokensPerS = float64(l.Tokens) / l.Seconds
	if genTime > 0 {
		l.GenTokPerS = float64(genTok) / genTime.Seconds()
	}
}

func splitMini(rs []*rollout, n int) [][]*rollout {
	var out [][]*rollout
	for k := 0; k < n; k++ {
		lo, hi := k*len(rs)/n, (k+1)*len(rs)/n
		if hi > lo {
			out = append(out, rs[lo:hi])
		}
	}
	return out
}

// update runs forward, loss and backward on one mini-batch and takes an optimizer step.
func (t *Trainer) update(mb []*rollout, lc grpo.LossConfig, haveOld bool) (grpo.Stats, float64, float64, error) {
	seqs, targets, first := seqBatch(mb)
	temp := t.temperature()
	a, lp, ent, err := t.Policy.ForwardLogProbs(seqs, targets, temp)
	if err != nil {
		return grpo.Stats{}, 0, 0, fmt.Errorf("forward: %w", err)
	}
	gs := make([]grpo.Seq, len(mb))
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
			s.OldLogP = s.LogP // ρ ≡ 1: the detached current policy
		}
		gs[i] = s
	}
	_, grads, st, err := grpo.Loss(gs, lc, grpo.CountDenominators(gs, lc))
	if err != nil {
		return grpo.Stats{}, 0, 0, fmt.Errorf("loss: %w", err)
	}
	dlogp := make([]float32, len(targets))
	for i := range mb {
		for j, gv := range grads[i] {
			dlogp[first[i]+j] = float32(gv)
		}
	}
	t.Policy.ZeroGrad()
	if err := t.Policy.BackwardLogProbs(a, targets, dlogp, temp); err != nil {
		return grpo.Stats{}, 0, 0, fmt.Errorf("backward: %w", err)
	}
	gn := t.applyGrads()
	if entN > 0 {
		entSum /= entN
	}
	return st, entSum, gn, nil
}

func (t *Trainer) lr(step int) float64 {
	o := &t.Cfg.Optim
	total := o.TotalSteps
	if total == 0 {
		total = t.Cfg.Steps * t.Cfg.GRPO.UpdatesPerBatch * t.Cfg.GRPO.MiniBatches
	}
	return o.LR * grpo.Schedule{Warmup: o.WarmupSteps, Total: total, MinRatio: o.MinLRRatio}.Factor(step)
}

// applyGrads clips the gradient (of every trained parameter, decoder and tower together) by
// its global norm and takes one AdamW step; it returns the norm before clipping.
func (t *Trainer) applyGrads() float64 {
	o := &t.Cfg.Optim
	norm := math.Sqrt(t.Policy.GradSumSquares())
	if f := grpo.ClipFactor(norm, o.MaxGradNorm); f < 1 {
		t.Policy.ScaleGrad(f)
	}
	lr := t.lr(t.OptStep)
	t.OptStep++
	t.Policy.AdamW(model.AdamWStep{LR: lr, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay, Step: t.OptStep})
	return norm
}

// SFTExample is one supervised sequence: the loss covers the tokens after the prompt.
type SFTExample struct {
	Prompt, Completion []int32
}

// SFTStep takes one optimizer step on the mean negative log-likelihood of the completions
// (at temperature 1) and returns that loss; used for cold starts before RL.
func (t *Trainer) SFTStep(ex []SFTExample) (float64, error) {
	rs := make([]*rollout, len(ex))
	for i, e := range ex {
		if len(e.Prompt) == 0 || len(e.Completion) == 0 {
			return 0, fmt.Errorf("sft: example %d has an empty prompt or completion", i)
		}
		rs[i] = &rollout{in: Prompt{IDs: e.Prompt}, comp: e.Completion}
	}
	seqs, targets, first := seqBatch(rs)
	a, lp, _, err := t.Policy.ForwardLogProbs(seqs, targets, 1)
	if err != nil {
		return 0, fmt.Errorf("sft: %w", err)
	}
	var n float64
	for _, e := range ex {
		n += float64(len(e.Completion))
	}
	dlogp := make([]float32, len(targets))
	var loss float64
	for i, e := range ex {
		for j := range e.Completion {
			loss -= float64(lp[first[i]+j]) / n
			dlogp[first[i]+j] = float32(-1 / n)
		}
	}
	t.Policy.ZeroGrad()
	if err := t.Policy.BackwardLogProbs(a, targets, dlogp, 1); err != nil {
		return 0, fmt.Errorf("sft: %w", err)
	}
	t.applyGrads()
	return loss, nil
}

func meanStd(v []float64) (float64, float64) {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	if len(v) < 2 {
		return m, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)-1))
}
