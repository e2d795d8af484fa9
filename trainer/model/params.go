package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/eosinlab/eosin/trainer/safetensors"
)

// ParamTensor locates one Hugging Face tensor inside Params.Data.
type ParamTensor struct {
	Name   string
	Shape  []int
	Offset int
	// Decay tells whether AdamW weight decay applies (matrices yes; norms and biases no).
	Decay bool
}

// Len is the number of elements.
func (p ParamTensor) Len() int {
	n := 1
	for _, s := range p.Shape {
		n *= s
	}
	return n
}

// Layer holds views of one decoder layer's tensors.
type Layer[T Float] struct {
	InNorm, Wq, Bq, Wk, Bk, Wv, Bv, Wo, PostNorm, Wg, Wu, Wd []T
}

// Params is every decoder weight in one flat buffer (so optimizers and clipping see one
// slice), with named views. A gradient buffer is a Params of the same layout.
type Params[T Float] struct {
	Cfg     Config
	Data    []T
	Tensors []ParamTensor
	Embed   []T
	Layers  []Layer[T]
	Norm    []T
	// LMHead aliases Embed when the embeddings are tied.
	LMHead []T
}

// Layout lists the decoder's tensors for cfg with Hugging Face names, shapes and offsets
// into one flat buffer (lm_head.weight only when the embeddings are untied).
func Layout(cfg Config) []ParamTensor {
	H, I, V := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	hd := cfg.HeadDimension()
	qd, kd := cfg.NumAttentionHeads*hd, cfg.NumKeyValueHeads*hd
	var ts []ParamTensor
	off := 0
	add := func(name string, decay bool, shape ...int) {
		t := ParamTensor{Name: name, Shape: shape, Offset: off, Decay: decay}
		ts = append(ts, t)
		off += t.Len()
	}
	add("model.embed_tokens.weight", true, V, H)
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		pre := fmt.Sprintf("model.layers.%d.", i)
		add(pre+"input_layernorm.weight", false, H)
		add(pre+"self_attn.q_proj.weight", true, qd, H)
		add(pre+"self_attn.q_proj.bias", false, qd)
		add(pre+"self_attn.k_proj.weight", true, kd, H)
		add(pre+"self_attn.k_proj.bias", false, kd)
		add(pre+"self_attn.v_proj.weight", true, kd, H)
		add(pre+"self_attn.v_proj.bias", false, kd)
		add(pre+"self_attn.o_proj.weight", true, H, qd)
		add(pre+"post_attention_layernorm.weight", false, H)
		add(pre+"mlp.gate_proj.weight", true, I, H)
		add(pre+"mlp.up_proj.weight", true, I, H)
		add(pre+"mlp.down_proj.weight", true, H, I)
	}
	add("model.norm.weight", false, H)
	if !cfg.TieWordEmbeddings {
		add("lm_head.weight", true, V, H)
	}
	return ts
}

// NumParams is the number of parameters of cfg's decoder.
func NumParams(cfg Config) int {
	ts := Layout(cfg)
	last := ts[len(ts)-1]
	return last.Offset + last.Len()
}

// NewParams allocates zeroed parameters for cfg.
func NewParams[T Float](cfg Config) *Params[T] {
	p := &Params[T]{Cfg: cfg, Tensors: Layout(cfg)}
	p.Data = make([]T, NumParams(cfg))
	p.bind()
	return p
}

// View returns the slice of tensor k (an index into Tensors).
func (p *Params[T]) View(k int) []T { return p.view(k) }

func (p *Params[T]) view(k int) []T {
	t := p.Tensors[k]
	return p.Data[t.Offset : t.Offset+t.Len() : t.Offset+t.Len()]
}

func (p *Params[T]) bind() {
	k := 0
	next := func() []T { k++; return p.view(k - 1) }
	p.Embed = next()
	p.Layers = make([]Layer[T], p.Cfg.NumHiddenLayers)
	for i := range p.Layers {
		l := &p.Layers[i]
		l.InNorm, l.Wq, l.Bq, l.Wk, l.Bk, l.Wv, l.Bv = next(), next(), next(), next(), next(), next(), next()
		l.Wo, l.PostNorm, l.Wg, l.Wu, l.Wd = next(), next(), next(), next(), next()
	}
	p.Norm = next()
	if p.Cfg.TieWordEmbeddings {
		p.LMHead = p.Embed
	} else {
		p.LMHead = next()
	}
}

// ZerosLike returns a zeroed Params with the same layout (a gradient buffer).
func (p *Params[T]) ZerosLike() *Params[T] { return NewParams[T](p.Cfg) }

// Clone returns a deep copy.
func (p *Params[T]) Clone() *Params[T] {
	q := NewParams[T](p.Cfg)
	copy(q.Data, p.Data)
	return q
}

// Zero clears every value.
func (p *Params[T]) Zero() { clear(p.Data) }

// InitRandom fills weight matrices with N(0, std²) (std = initializer_range, 0.02 when unset),
// norm weights with 1 and biases with 0, as the Hugging Face initialiser does.
func (p *Params[T]) InitRandom(rng *rand.Rand) {
	std := p.Cfg.InitializerRange
	if std == 0 {
		std = 0.02
	}
	for k, t := range p.Tensors {
		v := p.view(k)
		switch {
		case len(t.Shape) == 2:
			for i := range v {
				v[i] = T(rng.NormFloat64() * std)
			}
		case isNorm(t.Name):
			for i := range v {
				v[i] = 1
			}
		default:
			clear(v)
		}
	}
}

func isNorm(name string) bool {
	return len(name) > 0 && (hasSuffix(name, "layernorm.weight") || name == "model.norm.weight")
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// SafeTensors converts the parameters to safetensors tensors of dtype dt with HF names.
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
			return nil, err
		}
		if dt == safetensors.F64 {
			st.Data = st.Data[:0]
			for _, x := range v {
				st.Data = appendF64(st.Data, float64(x))
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func appendF64(b []byte, f float64) []byte {
	u := math.Float64bits(f)
	return append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24), byte(u>>32), byte(u>>40), byte(u>>48), byte(u>>56))
}

// LoadTensors fills the parameters from named tensors (any convertible dtype). Every expected
// tensor must be present with the expected shape; lm_head.weight in a tied checkpoint is
// ignored and vision tensors (visual.*) are skipped.
func (p *Params[T]) LoadTensors(ts map[string]*safetensors.Tensor) error {
	for k, t := range p.Tensors {
		st := ts[t.Name]
		if st == nil {
			// Newer transformers may save the decoder under model.language_model.
			alt := "model.language_model." + t.Name[len("model."):]
			if len(t.Name) > 6 && t.Name[:6] == "model." {
				st = ts[alt]
			}
		}
		if st == nil {
			return fmt.Errorf("load weights: tensor %s missing", t.Name)
		}
		if len(st.Shape) != len(t.Shape) {
			return fmt.Errorf("load weights: %s has shape %v, want %v", t.Name, st.Shape, t.Shape)
		}
		for i := range t.Shape {
			if st.Shape[i] != t.Shape[i] {
				return fmt.Errorf("load weights: %s has shape %v, want %v", t.Name, st.Shape, t.Shape)
			}
		}
		var f64 []float64
		if st.DType == safetensors.F64 {
			f64 = make([]float64, st.Numel())
			for i := range f64 {
				b := st.Data[8*i:]
				f64[i] = math.Float64frombits(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
					uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
			}
		}
		v := p.view(k)
		if f64 != nil {
			for i := range v {
				v[i] = T(f64[i])
			}
			continue
		}
		f, err := st.Float32()
		if err != nil {
			return fmt.Errorf("load weights: %w", err)
		}
		for i := range v {
			v[i] = T(f[i])
		}
	}
	return nil
}
