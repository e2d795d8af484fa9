package trainer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
	"github.com/eosinlab/eosin/trainer/vision"
)

// Prompt is one sequence a policy reads: token ids and, for a VL policy, the pixel rows and
// grids of its images (their <|image_pad|> ids already expanded in IDs).
type Prompt = vision.Input[float32]

// Pass is what a policy's forward pass keeps for its backward pass; the training loop only
// hands it back.
type Pass any

// Policy is the model a Trainer trains, behind the boundary one training step crosses: token
// ids and images go in; sampled tokens, log-probs, entropies and scalars (the gradient norm)
// come out; log-prob gradients go back in. Parameters, gradients, optimizer moments,
// activations and the KV cache stay behind it. The text decoder (TextPolicy) and the
// Qwen2-VL / Qwen2.5-VL model (VLMPolicy) implement it; the step is the same for both.
type Policy interface {
	// Generate samples one completion per prompt; prompts of a group may share slices.
	Generate(ctx context.Context, prompts []Prompt, opt model.SampleOptions, rng *rand.Rand) ([]model.Completion, error)
	// ForwardLogProbs runs the packed sequences and returns, per packed row, the log-prob of
	// targets[row] (0 where negative) and the entropy, at the given temperature.
	ForwardLogProbs(seqs []Prompt, targets []int32, temperature float64) (Pass, []float32, []float32, error)
	// BackwardLogProbs accumulates the gradient of Σ dlogp·logp into the policy's gradients.
	BackwardLogProbs(p Pass, targets []int32, dlogp []float32, temperature float64) error
	// ZeroGrad clears the gradients.
	ZeroGrad()
	// GradSumSquares is Σ g² over every trained parameter.
	GradSumSquares() float64
	// ScaleGrad multiplies every gradient by s.
	ScaleGrad(s float64)
	// AdamW takes one optimizer step on every trained tensor (h.WeightDecay only where the
	// tensor decays: matrices, not norms or biases).
	AdamW(h model.AdamWStep)
	// ResetOptimizer clears the AdamW moments.
	ResetOptimizer()
	// Frozen returns an untrained copy sharing nothing with the policy (the KL reference).
	Frozen() (Policy, error)
	// Export writes a Hugging Face checkpoint directory (config.json, safetensors weights in
	// dt; a VL policy adds preprocessor_config.json). F32 is exact: LoadWeights restores it.
	Export(dir string, dt safetensors.DType) error
	// LoadWeights reads the weights of a checkpoint directory written by Export.
	LoadWeights(dir string) error
	// OptimizerState returns the AdamW moments as exp_avg.<name> and exp_avg_sq.<name>
	// tensors; LoadOptimizerState restores them.
	OptimizerState() ([]*safetensors.Tensor, error)
	LoadOptimizerState(ts map[string]*safetensors.Tensor) error
	// VocabSize is the number of embedding rows.
	VocabSize() int
}

// ImagePolicy is a Policy that reads images, preprocessed by its processor.
type ImagePolicy interface {
	Policy
	ImageProcessor() vision.Processor
	// VisionTokens are the ids that stand for images in prompts; sampling never emits them.
	VisionTokens() []int32
}

// paramSet is one flat parameter buffer with its gradient and AdamW moments.
type paramSet struct {
	tensors []model.ParamTensor
	// data holds the weights the model computes with; in bf16 mixed precision these are the
	// bf16-rounded master weights.
	data []float32
	// master holds the float32 master weights in mixed precision (nil: data is the master).
	master []float32
	// grad, m and v are nil when the set is frozen.
	grad, m, v []float32
}

func newParamSet(tensors []model.ParamTensor, data, grad []float32, mixed bool) *paramSet {
	s := &paramSet{tensors: tensors, data: data, grad: grad}
	if mixed {
		if grad != nil {
			s.master = append([]float32(nil), data...)
		}
		model.RoundBF16Slice(data)
	}
	if grad != nil {
		s.m, s.v = make([]float32, len(data)), make([]float32, len(data))
	}
	return s
}

// weights returns the float32 weights (the master copy in mixed precision).
func (s *paramSet) weights() []float32 {
	if s.master != nil {
		return s.master
	}
	return s.data
}

// setWeights replaces the weights and refreshes the compute copy.
func (s *paramSet) setWeights(w []float32) error {
	if len(w) != len(s.data) {
		return fmt.Errorf("%d weights for a parameter set of %d", len(w), len(s.data))
	}
	copy(s.weights(), w)
	s.sync()
	return nil
}

// sync rounds the master weights into the compute copy (mixed precision).
func (s *paramSet) sync() {
	if s.master == nil {
		return
	}
	for i, v := range s.master {
		s.data[i] = model.RoundBF16(v)
	}
}

// paramSets implements the optimizer half of Policy over a policy's parameter sets.
type paramSets struct {
	sets []*paramSet
	be   model.Backend[float32]
}

func (w *paramSets) ZeroGrad() {
	for _, s := range w.sets {
		clear(s.grad)
	}
}

func (w *paramSets) GradSumSquares() float64 {
	var sq float64
	for _, s := range w.sets {
		if s.grad != nil {
			sq += w.be.SumSquares(s.grad)
		}
	}
	return sq
}

func (w *paramSets) ScaleGrad(f float64) {
	for _, s := range w.sets {
		if s.grad != nil {
			w.be.Scale(s.grad, f)
		}
	}
}

func (w *paramSets) AdamW(h model.AdamWStep) {
	for _, s := range w.sets {
		if s.grad == nil {
			continue
		}
		p := s.weights()
		for _, tn := range s.tensors {
			hh := h
			if !tn.Decay {
				hh.WeightDecay = 0
			}
			lo, hi := tn.Offset, tn.Offset+tn.Len()
			w.be.AdamW(p[lo:hi], s.grad[lo:hi], s.m[lo:hi], s.v[lo:hi], hh)
		}
		s.sync()
	}
}

func (w *paramSets) ResetOptimizer() {
	for _, s := range w.sets {
		clear(s.m)
		clear(s.v)
	}
}

func (w *paramSets) OptimizerState() ([]*safetensors.Tensor, error) {
	var out []*safetensors.Tensor
	for _, s := range w.sets {
		if s.grad == nil {
			continue
		}
		for _, pair := range []struct {
			prefix string
			buf    []float32
		}{{"exp_avg.", s.m}, {"exp_avg_sq.", s.v}} {
			for _, tn := range s.tensors {
				st, err := safetensors.FromFloat32(pair.prefix+tn.Name, safetensors.F32, tn.Shape, pair.buf[tn.Offset:tn.Offset+tn.Len()])
				if err != nil {
					return nil, fmt.Errorf("optimizer state: %w", err)
				}
				out = append(out, st)
			}
		}
	}
	return out, nil
}

func (w *paramSets) LoadOptimizerState(ts map[string]*safetensors.Tensor) error {
	for _, s := range w.sets {
		if s.grad == nil {
			continue
		}
		for _, pair := range []struct {
			prefix string
			buf    []float32
		}{{"exp_avg.", s.m}, {"exp_avg_sq.", s.v}} {
			for _, tn := range s.tensors {
				st := ts[pair.prefix+tn.Name]
				if st == nil {
					return fmt.Errorf("optimizer state: %s%s missing", pair.prefix, tn.Name)
				}
				if st.Numel() != tn.Len() {
					return fmt.Errorf("optimizer state: %s%s has %d values, want %d", pair.prefix, tn.Name, st.Numel(), tn.Len())
				}
				f, err := st.Float32()
				if err != nil {
					return fmt.Errorf("optimizer state: %s%s: %w", pair.prefix, tn.Name, err)
				}
				copy(pair.buf[tn.Offset:tn.Offset+tn.Len()], f)
			}
		}
	}
	return nil
}

// torchDtype is config.json's name of a safetensors dtype.
func torchDtype(dt safetensors.DType) string {
	return map[safetensors.DType]string{safetensors.F32: "float32", safetensors.BF16: "bfloat16", safetensors.F16: "float16"}[dt]
}

// TextPolicy is a Qwen2 decoder as a Policy.
type TextPolicy struct {
	Model *model.Model[float32]
	paramSets
	grad  *model.Params[float32] // nil: frozen
	mixed bool
}

// NewTextPolicy trains params (updated in place) on backend be; frozen policies have no
// gradients. With mixed (bf16 mixed precision, be should be model.MixedBF16) the policy keeps
// float32 master weights and params holds their bf16 rounding.
func NewTextPolicy(params *model.Params[float32], be model.Backend[float32], frozen, mixed bool) *TextPolicy {
	t := &TextPolicy{Model: model.New(params, be), mixed: mixed}
	var g []float32
	if !frozen {
		t.grad = params.ZerosLike()
		g = t.grad.Data
	}
	t.paramSets = paramSets{be: be, sets: []*paramSet{newParamSet(params.Tensors, params.Data, g, mixed)}}
	return t
}

func textBatch(seqs []Prompt) (*model.Batch, error) {
	ids := make([][]int32, len(seqs))
	for i, s := range seqs {
		if len(s.Grids) > 0 {
			return nil, fmt.Errorf("text policy: sequence %d has images", i)
		}
		ids[i] = s.IDs
	}
	return model.NewBatch(ids), nil
}

// Generate implements Policy.
func (t *TextPolicy) Generate(ctx context.Context, prompts []Prompt, opt model.SampleOptions, rng *rand.Rand) ([]model.Completion, error) {
	ids := make([][]int32, len(prompts))
	for i, p := range prompts {
		if len(p.Grids) > 0 {
			return nil, fmt.Errorf("text policy: prompt %d has images", i)
		}
		ids[i] = p.IDs
	}
	return t.Model.Generate(ctx, ids, opt, rng)
}

// ForwardLogProbs implements Policy.
func (t *TextPolicy) ForwardLogProbs(seqs []Prompt, targets []int32, temperature float64) (Pass, []float32, []float32, error) {
	b, err := textBatch(seqs)
	if err != nil {
		return nil, nil, nil, err
	}
	return t.Model.ForwardLogProbs(b, targets, temperature)
}

// BackwardLogProbs implements Policy.
func (t *TextPolicy) BackwardLogProbs(p Pass, targets []int32, dlogp []float32, temperature float64) error {
	a, ok := p.(*model.Acts[float32])
	if !ok || t.grad == nil {
		return fmt.Errorf("text policy: backward without a forward pass of a trained policy")
	}
	t.Model.BackwardLogProbs(a, targets, dlogp, temperature, t.grad)
	return nil
}

// Frozen implements Policy.
func (t *TextPolicy) Frozen() (Policy, error) {
	return NewTextPolicy(t.Model.P.Clone(), t.be, true, t.mixed), nil
}

// Params returns the float32 weights (the master copy in mixed precision) as Params.
func (t *TextPolicy) Params() *model.Params[float32] {
	s := t.sets[0]
	if s.master == nil {
		return t.Model.P
	}
	p := t.Model.P.ZerosLike()
	copy(p.Data, s.master)
	return p
}

// Export implements Policy.
func (t *TextPolicy) Export(dir string, dt safetensors.DType) error {
	return SaveModel(dir, t.Params(), dt)
}

// LoadWeights implements Policy.
func (t *TextPolicy) LoadWeights(dir string) error {
	p, err := LoadModel(dir)
	if err != nil {
		return err
	}
	if err := t.sets[0].setWeights(p.Data); err != nil {
		return fmt.Errorf("load weights %s: %w", dir, err)
	}
	return nil
}

// VocabSize implements Policy.
func (t *TextPolicy) VocabSize() int { return t.Model.Cfg.VocabSize }

// VLMPolicy is a Qwen2-VL / Qwen2.5-VL model as a Policy: the decoder always trains, the
// tower with trainVision.
type VLMPolicy struct {
	VLM *vision.VLM[float32]
	// ConfigJSON is the source checkpoint's config.json, exported with its dtype updated
	// (nil: one is generated from the model's configs).
	ConfigJSON []byte
	// Processor preprocesses images; ProcessorJSON is the source preprocessor_config.json
	// whose other keys the export keeps (nil: the published processor's keys).
	Processor     vision.Processor
	ProcessorJSON []byte
	paramSets
	grad  *model.Params[float32]  // nil: frozen
	vgrad *vision.Params[float32] // nil: tower frozen
	mixed bool
}

// NewVLMPolicy trains v (updated in place; with mixed its backend becomes bf16 mixed
// precision and its weights their bf16 rounding, float32 masters kept by the policy).
func NewVLMPolicy(v *vision.VLM[float32], proc vision.Processor, trainVision, frozen, mixed bool, workers int) *VLMPolicy {
	if mixed {
		be := model.NewMixedBF16(workers)
		v.Dec.B, v.Vis.B = be, be
	}
	t := &VLMPolicy{VLM: v, Processor: proc, mixed: mixed}
	var g, vg []float32
	if !frozen {
		t.grad = v.Dec.P.ZerosLike()
		g = t.grad.Data
		if trainVision {
			t.vgrad = v.Vis.P.ZerosLike()
			vg = t.vgrad.Data
		}
	}
	t.paramSets = paramSets{be: v.Dec.B, sets: []*paramSet{
		newParamSet(v.Dec.P.Tensors, v.Dec.P.Data, g, mixed),
		newParamSet(v.Vis.P.Tensors, v.Vis.P.Data, vg, mixed),
	}}
	return t
}

// ImageProcessor implements ImagePolicy.
func (t *VLMPolicy) ImageProcessor() vision.Processor { return t.Processor }

// Generate implements Policy.
func (t *VLMPolicy) Generate(ctx context.Context, prompts []Prompt, opt model.SampleOptions, rng *rand.Rand) ([]model.Completion, error) {
	return t.VLM.Generate(ctx, prompts, opt, rng)
}

// ForwardLogProbs implements Policy.
func (t *VLMPolicy) ForwardLogProbs(seqs []Prompt, targets []int32, temperature float64) (Pass, []float32, []float32, error) {
	return t.VLM.ForwardLogProbs(seqs, targets, temperature)
}

// BackwardLogProbs implements Policy.
func (t *VLMPolicy) BackwardLogProbs(p Pass, targets []int32, dlogp []float32, temperature float64) error {
	a, ok := p.(*vision.Acts[float32])
	if !ok || t.grad == nil {
		return fmt.Errorf("vlm policy: backward without a forward pass of a trained policy")
	}
	t.VLM.BackwardLogProbs(a, targets, dlogp, temperature, t.grad, t.vgrad)
	return nil
}

// Frozen implements Policy.
func (t *VLMPolicy) Frozen() (Policy, error) {
	v := t.VLM
	vc := v.Vis.P.ZerosLike()
	copy(vc.Data, v.Vis.P.Data)
	ref, err := vision.NewVLM(v.Dec.P.Clone(), vc, v.VL, v.Vis.B)
	if err != nil {
		return nil, err
	}
	ref.Dec.B = v.Dec.B
	f := NewVLMPolicy(ref, t.Processor, false, true, false, 0)
	f.ConfigJSON, f.ProcessorJSON, f.mixed = t.ConfigJSON, t.ProcessorJSON, t.mixed
	return f, nil
}

// Export implements Policy: config.json, model.safetensors (decoder model.* / lm_head.* and
// tower visual.* names, as the published checkpoints) and preprocessor_config.json.
func (t *VLMPolicy) Export(dir string, dt safetensors.DType) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export vlm: %w", err)
	}
	dp := t.VLM.Dec.P.ZerosLike()
	copy(dp.Data, t.sets[0].weights())
	vp := t.VLM.Vis.P.ZerosLike()
	copy(vp.Data, t.sets[1].weights())
	ts, err := dp.SafeTensors(dt)
	if err != nil {
		return fmt.Errorf("export vlm: %w", err)
	}
	vts, err := vp.SafeTensors(dt)
	if err != nil {
		return fmt.Errorf("export vlm: %w", err)
	}
	if err := safetensors.WriteDir(dir, append(ts, vts...), 4<<30); err != nil {
		return fmt.Errorf("export vlm: %w", err)
	}
	var cfg []byte
	if t.ConfigJSON != nil {
		cfg, err = vision.WithTorchDtype(t.ConfigJSON, torchDtype(dt))
	} else {
		cfg, err = vision.ConfigJSON(t.VLM.Dec.Cfg, t.VLM.VL, torchDtype(dt))
	}
	if err != nil {
		return fmt.Errorf("export vlm: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		return fmt.Errorf("export vlm: %w", err)
	}
	pj, err := t.Processor.JSON(t.ProcessorJSON)
	if err != nil {
		return fmt.Errorf("export vlm: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), pj, 0o644); err != nil {
		return fmt.Errorf("export vlm: %w", err)
	}
	return nil
}

// LoadWeights implements Policy.
func (t *VLMPolicy) LoadWeights(dir string) error {
	ts, err := safetensors.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("load vlm weights %s: %w", dir, err)
	}
	dp := t.VLM.Dec.P.ZerosLike()
	if err := dp.LoadTensors(ts); err != nil {
		return fmt.Errorf("load vlm weights %s: %w", dir, err)
	}
	vp := t.VLM.Vis.P.ZerosLike()
	if err := vp.LoadTensors(ts); err != nil {
		return fmt.Errorf("load vlm weights %s: %w", dir, err)
	}
	if err := t.sets[0].setWeights(dp.Data); err != nil {
		return fmt.Errorf("load vlm weights %s: %w", dir, err)
	}
	if err := t.sets[1].setWeights(vp.Data); err != nil {
		return fmt.Errorf("load vlm weights %s: %w", dir, err)
	}
	return nil
}

// VocabSize implements Policy.
func (t *VLMPolicy) VocabSize() int { return t.VLM.Dec.Cfg.VocabSize }

// VisionTokens are the ids that stand for images in a prompt (<|vision_start|>,
// <|image_pad|>, <|vision_end|>): a completion must never contain them, or the next forward
// pass would look for an image that was never given.
func (t *VLMPolicy) VisionTokens() []int32 {
	vl := t.VLM.VL
	return []int32{vl.VisionStartID, vl.ImageTokenID, vl.VisionEndID}
}

var (
	_ Policy      = (*TextPolicy)(nil)
	_ ImagePolicy = (*VLMPolicy)(nil)
)
