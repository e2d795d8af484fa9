package vision

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
)

// VLM is a Qwen2-VL / Qwen2.5-VL model: the vision tower's merged features replace the
// embeddings at the <|image_pad|> positions of the decoder's input, whose rotary encoding is
// M-RoPE over get_rope_index positions.
type VLM[T model.Float] struct {
	Dec *model.Model[T]
	Vis *Tower[T]
	VL  VLConfig
}

// NewVLM couples decoder and tower parameters with a backend; the decoder's rotary encoding
// becomes M-RoPE with vl's sections.
func NewVLM[T model.Float](dec *model.Params[T], vis *Params[T], vl VLConfig, be model.VisionBackend[T]) (*VLM[T], error) {
	if vis.Cfg.Out() != dec.Cfg.HiddenSize {
		return nil, fmt.Errorf("vlm: merger output %d differs from the decoder's hidden size %d", vis.Cfg.Out(), dec.Cfg.HiddenSize)
	}
	s := 0
	for _, v := range vl.RopeScaling.MropeSection {
		s += v
	}
	if s != dec.Cfg.HeadDimension()/2 {
		return nil, fmt.Errorf("vlm: mrope_section %v sums to %d, want head_dim/2 = %d", vl.RopeScaling.MropeSection, s, dec.Cfg.HeadDimension()/2)
	}
	m := model.New(dec, be)
	m.Rope = model.MRoPE[T]{Theta: dec.Cfg.RopeTheta, HeadDim: dec.Cfg.HeadDimension(), Sections: vl.RopeScaling.MropeSection}
	return &VLM[T]{Dec: m, Vis: NewTower(vis, be), VL: vl}, nil
}

// Input is one sequence with its images: IDs already hold grids[k].Tokens() <|image_pad|>
// ids per image; Pixels are the images' pixel_values rows, one image after another.
type Input[T model.Float] struct {
	IDs    []int32
	Pixels []T
	Grids  []Grid
}

// Acts keeps a VLM forward pass for backward.
type Acts[T model.Float] struct {
	Dec   *model.Acts[T]
	vis   *TowerActs[T]
	Batch *model.Batch
}

// tScale is the temporal position step of image frames: Qwen2.5-VL multiplies the frame
// index by second_per_grid_t, which is 0 for images; Qwen2-VL uses the frame index.
func (v *VLM[T]) tScale() int {
	if v.Vis.Cfg.Gen == Qwen25VL {
		return 0
	}
	return 1
}

// prepare packs the sequences, computes M-RoPE positions and runs the tower.
func (v *VLM[T]) prepare(in []Input[T]) (*model.Batch, *model.Inject[T], *TowerActs[T], error) {
	var seqs [][]int32
	var pix []T
	var grids []Grid
	pos := [][]int32{nil, nil, nil}
	inj := &model.Inject[T]{}
	off := 0
	for s, x := range in {
		seqs = append(seqs, x.IDs)
		p, _, err := RopeIndex(x.IDs, x.Grids, v.VL.ImageTokenID, v.VL.VisionStartID, v.tScale())
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sequence %d: %w", s, err)
		}
		rows, err := ImageRows(x.IDs, x.Grids, v.VL.ImageTokenID, v.VL.VisionStartID)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sequence %d: %w", s, err)
		}
		for k := range 3 {
			pos[k] = append(pos[k], p[k]...)
		}
		for _, r := range rows {
			inj.Rows = append(inj.Rows, off+r)
		}
		pix = append(pix, x.Pixels...)
		grids = append(grids, x.Grids...)
		off += len(x.IDs)
	}
	b := model.NewBatch(seqs)
	b.Pos = pos
	if len(grids) == 0 {
		return b, nil, nil, nil
	}
	ta, feats, err := v.Vis.Forward(pix, grids)
	if err != nil {
		return nil, nil, nil, err
	}
	inj.Feats = feats
	return b, inj, ta, nil
}

// Forward runs tower and decoder and keeps the logits [N, vocab].
func (v *VLM[T]) Forward(in []Input[T]) (*Acts[T], error) {
	b, inj, ta, err := v.prepare(in)
	if err != nil {
		return nil, fmt.Errorf("vlm forward: %w", err)
	}
	a, err := v.Dec.ForwardInject(b, inj)
	if err != nil {
		return nil, fmt.Errorf("vlm forward: %w", err)
	}
	return &Acts[T]{Dec: a, vis: ta, Batch: b}, nil
}

// ForwardLogProbs runs tower and decoder with the fused LM-head pass (see
// model.ForwardLogProbs); targets are per packed row.
func (v *VLM[T]) ForwardLogProbs(in []Input[T], targets []int32, temperature float64) (*Acts[T], []T, []T, error) {
	b, inj, ta, err := v.prepare(in)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("vlm forward: %w", err)
	}
	a, lp, ent, err := v.Dec.ForwardLogProbsInject(b, inj, targets, temperature)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("vlm forward: %w", err)
	}
	return &Acts[T]{Dec: a, vis: ta, Batch: b}, lp, ent, nil
}

// Backward accumulates decoder gradients into gd and, when gv is not nil (the tower is
// trained), tower gradients into gv, given dlogits [N, vocab] of Forward.
func (v *VLM[T]) Backward(a *Acts[T], dlogits []T, gd *model.Params[T], gv *Params[T]) {
	v.Dec.Backward(a.Dec, dlogits, gd)
	v.backwardVision(a, gv)
}

// BackwardLogProbs accumulates the gradient of Σ dlogp·logp (see model.BackwardLogProbs).
func (v *VLM[T]) BackwardLogProbs(a *Acts[T], targets []int32, dlogp []T, temperature float64, gd *model.Params[T], gv *Params[T]) {
	v.Dec.BackwardLogProbs(a.Dec, targets, dlogp, temperature, gd)
	v.backwardVision(a, gv)
}

func (v *VLM[T]) backwardVision(a *Acts[T], gv *Params[T]) {
	if gv == nil || a.vis == nil || a.Dec.InjectGrad == nil {
		return
	}
	v.Vis.Backward(a.vis, a.Dec.InjectGrad, gv)
	a.Dec.InjectGrad = nil
}

// Generate samples one completion per prompt, conditioning on the prompts' images: the tower
// encodes them once, the prefill injects the features, and decoding continues the M-RoPE
// positions with each prompt's rope_delta.
func (v *VLM[T]) Generate(ctx context.Context, prompts []Input[T], opt model.SampleOptions, rng *rand.Rand) ([]model.Completion, error) {
	ids := make([][]int32, len(prompts))
	injs := make([]*model.Inject[T], len(prompts))
	rope := model.MRoPE[T]{Theta: v.Dec.Cfg.RopeTheta, HeadDim: v.Dec.Cfg.HeadDimension(), Sections: v.VL.RopeScaling.MropeSection,
		PromptPos: make([][3][]int32, len(prompts)), Delta: make([]int32, len(prompts))}
	cache := map[*Input[T]]*model.Inject[T]{}
	for s := range prompts {
		x := &prompts[s]
		ids[s] = x.IDs
		p, d, err := RopeIndex(x.IDs, x.Grids, v.VL.ImageTokenID, v.VL.VisionStartID, v.tScale())
		if err != nil {
			return nil, fmt.Errorf("vlm generate: prompt %d: %w", s, err)
		}
		rope.PromptPos[s], rope.Delta[s] = p, d
		if len(x.Grids) == 0 {
			continue
		}
		if s > 0 && sameInput(&prompts[s-1], x) {
			injs[s] = cache[&prompts[s-1]]
			cache[x] = injs[s]
			continue
		}
		_, feats, err := v.Vis.Forward(x.Pixels, x.Grids)
		if err != nil {
			return nil, fmt.Errorf("vlm generate: prompt %d: %w", s, err)
		}
		rows, err := ImageRows(x.IDs, x.Grids, v.VL.ImageTokenID, v.VL.VisionStartID)
		if err != nil {
			return nil, fmt.Errorf("vlm generate: prompt %d: %w", s, err)
		}
		injs[s] = &model.Inject[T]{Rows: rows, Feats: feats}
		cache[x] = injs[s]
	}
	m := *v.Dec
	m.Rope = rope
	return m.GenerateInject(ctx, ids, injs, opt, rng)
}

// sameInput tells whether two prompts share their token and pixel slices (a GRPO group).
func sameInput[T model.Float](a, b *Input[T]) bool {
	return len(a.IDs) == len(b.IDs) && len(a.Pixels) == len(b.Pixels) && len(a.IDs) > 0 && len(a.Pixels) > 0 &&
		&a.IDs[0] == &b.IDs[0] && &a.Pixels[0] == &b.Pixels[0]
}

// Load reads a Qwen2-VL / Qwen2.5-VL checkpoint directory (config.json and safetensors,
// single or sharded; visual.* and model.* names, or the newer model.visual.* and
// model.language_model.*).
func Load[T model.Float](dir string, be model.VisionBackend[T]) (*VLM[T], error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("load vlm: %w", err)
	}
	dc, err := model.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("load vlm: %w", err)
	}
	vl, err := ParseVLConfig(b)
	if err != nil {
		return nil, fmt.Errorf("load vlm: %w", err)
	}
	ts, err := safetensors.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load vlm: %w", err)
	}
	dp := model.NewParams[T](*dc)
	if err := dp.LoadTensors(ts); err != nil {
		return nil, fmt.Errorf("load vlm: %w", err)
	}
	vp := NewParams[T](vl.Vision)
	if err := vp.LoadTensors(ts); err != nil {
		return nil, fmt.Errorf("load vlm: %w", err)
	}
	return NewVLM(dp, vp, *vl, be)
}

// Save writes the model as a Hugging Face checkpoint: configJSON as config.json and every
// decoder (model.*, lm_head.*) and tower (visual.*) tensor in dtype dt in model.safetensors.
func (v *VLM[T]) Save(dir string, dt safetensors.DType, configJSON []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save vlm: %w", err)
	}
	ts, err := v.Dec.P.SafeTensors(dt)
	if err != nil {
		return fmt.Errorf("save vlm: %w", err)
	}
	vts, err := v.Vis.P.SafeTensors(dt)
	if err != nil {
		return fmt.Errorf("save vlm: %w", err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), append(ts, vts...), map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save vlm: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), configJSON, 0o644); err != nil {
		return fmt.Errorf("save vlm: %w", err)
	}
	return nil
}

// IsVLConfig tells whether config.json bytes describe a Qwen2-VL / Qwen2.5-VL model.
func IsVLConfig(b []byte) bool {
	var c struct {
		ModelType string `json:"model_type"`
	}
	return json.Unmarshal(b, &c) == nil && (c.ModelType == "qwen2_vl" || c.ModelType == "qwen2_5_vl")
}
