package vision

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
)

// Block holds views of one vision block's tensors. Qwen2-VL uses Fc1/Fc2 (+ norm biases),
// Qwen2.5-VL Gate/Up/Down; the others are nil.
type Block[T model.Float] struct {
	Norm1W, Norm1B, Norm2W, Norm2B []T
	QKVW, QKVB, ProjW, ProjB       []T
	Fc1W, Fc1B, Fc2W, Fc2B         []T
	GateW, GateB, UpW, UpB         []T
	DownW, DownB                   []T
}

// Params is every vision-tower weight in one flat buffer with named views (Hugging Face
// names under visual.*). A gradient buffer is a Params of the same layout.
type Params[T model.Float] struct {
	Cfg     Config
	Data    []T
	Tensors []model.ParamTensor
	PatchW  []T
	Blocks  []Block[T]
	// Merger: ln_q (bias only in Qwen2-VL), mlp.0, mlp.2.
	LnQW, LnQB, M0W, M0B, M2W, M2B []T
}

// Layout lists the tower's tensors with Hugging Face names, shapes and offsets.
func Layout(c Config) []model.ParamTensor {
	D, I, O, p := c.Width(), c.MLPDim(), c.Out(), c.Patch()
	var ts []model.ParamTensor
	off := 0
	add := func(name string, decay bool, shape ...int) {
		t := model.ParamTensor{Name: name, Shape: shape, Offset: off, Decay: decay}
		ts = append(ts, t)
		off += t.Len()
	}
	add("visual.patch_embed.proj.weight", true, D, c.Channels(), c.TemporalPatchSize, p, p)
	v1 := c.Gen == Qwen2VL
	for j := 0; j < c.Depth; j++ {
		pre := fmt.Sprintf("visual.blocks.%d.", j)
		add(pre+"norm1.weight", false, D)
		if v1 {
			add(pre+"norm1.bias", false, D)
		}
		add(pre+"norm2.weight", false, D)
		if v1 {
			add(pre+"norm2.bias", false, D)
		}
		add(pre+"attn.qkv.weight", true, 3*D, D)
		add(pre+"attn.qkv.bias", false, 3*D)
		add(pre+"attn.proj.weight", true, D, D)
		add(pre+"attn.proj.bias", false, D)
		if v1 {
			add(pre+"mlp.fc1.weight", true, I, D)
			add(pre+"mlp.fc1.bias", false, I)
			add(pre+"mlp.fc2.weight", true, D, I)
			add(pre+"mlp.fc2.bias", false, D)
		} else {
			add(pre+"mlp.gate_proj.weight", true, I, D)
			add(pre+"mlp.gate_proj.bias", false, I)
			add(pre+"mlp.up_proj.weight", true, I, D)
			add(pre+"mlp.up_proj.bias", false, I)
			add(pre+"mlp.down_proj.weight", true, D, I)
			add(pre+"mlp.down_proj.bias", false, D)
		}
	}
	add("visual.merger.ln_q.weight", false, D)
	if v1 {
		add("visual.merger.ln_q.bias", false, D)
	}
	add("visual.merger.mlp.0.weight", true, 4*D, 4*D)
	add("visual.merger.mlp.0.bias", false, 4*D)
	add("visual.merger.mlp.2.weight", true, O, 4*D)
	add("visual.merger.mlp.2.bias", false, O)
	return ts
}

// NewParams allocates zeroed tower parameters.
func NewParams[T model.Float](c Config) *Params[T] {
	p := &Params[T]{Cfg: c, Tensors: Layout(c)}
	last := p.Tensors[len(p.Tensors)-1]
	p.Data = make([]T, last.Offset+last.Len())
	p.bind()
	return p
}

func (p *Params[T]) view(k int) []T {
	t := p.Tensors[k]
	return p.Data[t.Offset : t.Offset+t.Len() : t.Offset+t.Len()]
}

func (p *Params[T]) bind() {
	k := 0
	next := func() []T { k++; return p.view(k - 1) }
	v1 := p.Cfg.Gen == Qwen2VL
	p.PatchW = next()
	p.Blocks = make([]Block[T], p.Cfg.Depth)
	for j := range p.Blocks {
		b := &p.Blocks[j]
		b.Norm1W = next()
		if v1 {
			b.Norm1B = next()
		}
		b.Norm2W = next()
		if v1 {
			b.Norm2B = next()
		}
		b.QKVW, b.QKVB, b.ProjW, b.ProjB = next(), next(), next(), next()
		if v1 {
			b.Fc1W, b.Fc1B, b.Fc2W, b.Fc2B = next(), next(), next(), next()
		} else {
			b.GateW, b.GateB, b.UpW, b.UpB, b.DownW, b.DownB = next(), next(), next(), next(), next(), next()
		}
	}
	p.LnQW = next()
	if v1 {
		p.LnQB = next()
	}
	p.M0W, p.M0B, p.M2W, p.M2B = next(), next(), next(), next()
}

// ZerosLike returns a zeroed Params of the same layout.
func (p *Params[T]) ZerosLike() *Params[T] { return NewParams[T](p.Cfg) }

// InitRandom fills matrices (and the patch-embedding kernel) with N(0, std²), norm weights
// with 1 and biases with 0.
func (p *Params[T]) InitRandom(rng *rand.Rand, std float64) {
	for k, t := range p.Tensors {
		v := p.view(k)
		switch {
		case len(t.Shape) >= 2:
			for i := range v {
				v[i] = T(rng.NormFloat64() * std)
			}
		case strings.HasSuffix(t.Name, ".weight"):
			for i := range v {
				v[i] = 1
			}
		default:
			clear(v)
		}
	}
}

// LoadTensors fills the parameters from named tensors (visual.* or the newer
// model.visual.* names); every tensor must be present with the expected shape.
func (p *Params[T]) LoadTensors(ts map[string]*safetensors.Tensor) error {
	for k, t := range p.Tensors {
		st := ts[t.Name]
		if st == nil {
			st = ts["model."+t.Name]
		}
		if st == nil {
			return fmt.Errorf("load vision weights: tensor %s missing", t.Name)
		}
		if fmt.Sprint(st.Shape) != fmt.Sprint(t.Shape) {
			return fmt.Errorf("load vision weights: %s has shape %v, want %v", t.Name, st.Shape, t.Shape)
		}
		f, err := st.Float32()
		if err != nil {
			return fmt.Errorf("load vision weights: %s: %w", t.Name, err)
		}
		v := p.view(k)
		for i := range v {
			v[i] = T(f[i])
		}
	}
	return nil
}

// SafeTensors converts the tower's parameters to safetensors tensors of dtype dt (F32, BF16
// or F16) with Hugging Face names.
func (p *Params[T]) SafeTensors(dt safetensors.DType) ([]*safetensors.Tensor, error) {
	out := make([]*safetensors.Tensor, 0, len(p.Tensors))
	for k, t := range p.Tensors {
		v := p.view(k)
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		st, err := safetensors.FromFloat32(t.Name, dt, t.Shape, f)
		if err != nil {
			return nil, fmt.Errorf("vision tensors: %w", err)
		}
		out = append(out, st)
	}
	return out, nil
}
