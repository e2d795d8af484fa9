package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer/internal/gradcheck"
)

// The float32 model (what training and generation run) against the float64 model with the
// same weights: logits and gradients agree to float32 accuracy. This is the tolerance a
// float32 backend is held to; bf16 backends need looser, per-tensor bounds.
func TestFloat32AgainstFloat64(t *testing.T) {
	cfg := Config{HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		VocabSize: 50, RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: false, InitializerRange: 0.1}
	p32 := NewParams[float32](cfg)
	p32.InitRandom(rand.New(rand.NewPCG(5, 6)))
	p64 := NewParams[float64](cfg)
	for i, v := range p32.Data {
		p64.Data[i] = float64(v)
	}
	m32, m64 := New(p32, NewCPU[float32]()), New(p64, NewCPU[float64]())
	rng := rand.New(rand.NewPCG(7, 8))
	var seqs [][]int32
	for _, l := range []int{40, 17, 64} {
		s := make([]int32, l)
		for i := range s {
			s[i] = int32(rng.IntN(cfg.VocabSize))
		}
		seqs = append(seqs, s)
	}
	b := NewBatch(seqs)
	tg := make([]int32, len(b.IDs))
	d32, d64 := make([]float32, len(tg)), make([]float64, len(tg))
	for i := range tg {
		tg[i] = int32(rng.IntN(cfg.VocabSize))
		d64[i] = rng.NormFloat64() / float64(len(tg))
		d32[i] = float32(d64[i])
	}
	a32, lp32, _, err := m32.ForwardLogProbs(b, tg, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	a64, lp64, _, _ := m64.ForwardLogProbs(b, tg, 0.9)
	var dl, ml float64
	for i := range lp64 {
		dl = math.Max(dl, math.Abs(float64(lp32[i])-lp64[i]))
		ml = math.Max(ml, math.Abs(lp64[i]))
	}
	g32, g64 := p32.ZerosLike(), p64.ZerosLike()
	m32.BackwardLogProbs(a32, tg, d32, 0.9, g32)
	m64.BackwardLogProbs(a64, tg, d64, 0.9, g64)
	g := make([]float64, len(g32.Data))
	for i, v := range g32.Data {
		g[i] = float64(v)
	}
	eg := gradcheck.RelErr(g, g64.Data)
	t.Logf("log-probs: max |Δ| %.3g (max |logp| %.3g); gradients: relative error %.3g", dl, ml, eg)
	if dl > 1e-6*ml || eg > 1e-5 {
		t.Errorf("float32 vs float64: log-prob Δ %.3g, gradient relative error %.3g", dl, eg)
	}
}
