package model

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer/internal/gradcheck"
)

// Gradient checks of the vision ops against central differences in float64.
func TestVisionOpGradients(t *testing.T) {
	be := &CPU[float64]{Workers: 2}
	segs := []int{0, 3, 7, 8} // segments of lengths 3, 4, 1
	N := segs[len(segs)-1]
	cases := []opCase{
		{"layernorm", 1e-7, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			rows, D := 4, 6
			x, w, b := gradcheck.RandVec(rng, rows*D, 1), gradcheck.RandVec(rng, D, 1), gradcheck.RandVec(rng, D, 1)
			for i := range x {
				x[i] += 0.7 // a non-zero mean
			}
			r := gradcheck.RandVec(rng, rows*D, 1)
			out, st := make([]float64, rows*D), make([]float64, 2*rows)
			loss := func() float64 { be.LayerNorm(out, st, x, w, b, rows, D, 1e-6); return weighted(out, r) }
			loss()
			dx, dw, db := make([]float64, len(x)), make([]float64, D), make([]float64, D)
			be.LayerNormBackward(dx, dw, db, r, x, w, st, rows, D)
			return [][]float64{x, w, b}, loss, [][]float64{dx, dw, db}
		}},
		{"quick_gelu", 1e-8, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			n := 20
			x, r := gradcheck.RandVec(rng, n, 2), gradcheck.RandVec(rng, n, 1)
			out := make([]float64, n)
			loss := func() float64 { be.QuickGELU(out, x, n); return weighted(out, r) }
			dx := make([]float64, n)
			be.QuickGELUBackward(dx, r, x, n)
			return [][]float64{x}, loss, [][]float64{dx}
		}},
		{"gelu_erf", 1e-8, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			n := 20
			x, r := gradcheck.RandVec(rng, n, 2), gradcheck.RandVec(rng, n, 1)
			out := make([]float64, n)
			loss := func() float64 { be.GELU(out, x, n); return weighted(out, r) }
			dx := make([]float64, n)
			be.GELUBackward(dx, r, x, n)
			return [][]float64{x}, loss, [][]float64{dx}
		}},
		{"attention-full", 1e-7, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			nh, hd := 2, 3
			q, k, v := gradcheck.RandVec(rng, N*nh*hd, 1), gradcheck.RandVec(rng, N*nh*hd, 1), gradcheck.RandVec(rng, N*nh*hd, 1)
			r := gradcheck.RandVec(rng, N*nh*hd, 1)
			out, probs := make([]float64, N*nh*hd), make([]float64, FullAttnProbsLen(segs, nh))
			loss := func() float64 { be.AttentionFull(out, probs, q, k, v, segs, nh, hd); return weighted(out, r) }
			loss()
			dq, dk, dv := make([]float64, len(q)), make([]float64, len(k)), make([]float64, len(v))
			be.AttentionFullBackward(dq, dk, dv, r, probs, q, k, v, segs, nh, hd)
			return [][]float64{q, k, v}, loss, [][]float64{dq, dk, dv}
		}},
		{"rope-mrope-tables", 1e-8, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			rows, heads, hd := 3, 2, 8
			x := gradcheck.RandVec(rng, rows*heads*hd, 1)
			cos, sin := make([]float64, rows*hd), make([]float64, rows*hd)
			MRoPE[float64]{Theta: 10000, HeadDim: hd, Sections: []int{1, 1, 2}}.CosSin(cos, sin, [][]int32{{0, 4, 4}, {0, 4, 5}, {0, 6, 4}}, rows)
			r := gradcheck.RandVec(rng, len(x), 1)
			y := make([]float64, len(x))
			loss := func() float64 { copy(y, x); be.RoPE(y, cos, sin, rows, heads, hd); return weighted(y, r) }
			dx := append([]float64(nil), r...)
			be.RoPEBackward(dx, cos, sin, rows, heads, hd)
			return [][]float64{x}, loss, [][]float64{dx}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			inputs, loss, grads := c.run(rng)
			for k, x := range inputs {
				num := gradcheck.NumGrad(x, loss)
				if e := gradcheck.RelErr(grads[k], num); e > c.bound || math.IsNaN(e) {
					t.Errorf("input %d: relative error %.3g > %.0g", k, e, c.bound)
				} else {
					t.Logf("input %d: relative error %.3g (bound %.0g)", k, e, c.bound)
				}
			}
		})
	}
}

// Attention within segments is bidirectional: the first token sees the last one of its
// segment, and nothing outside it.
func TestAttentionFullSegments(t *testing.T) {
	be := &CPU[float64]{}
	segs := []int{0, 2, 3}
	q := []float64{0, 0, 0}
	k := []float64{0, 0, 0}
	v := []float64{1, 3, 100}
	out, probs := make([]float64, 3), make([]float64, FullAttnProbsLen(segs, 1))
	be.AttentionFull(out, probs, q, k, v, segs, 1, 1)
	if out[0] != 2 || out[1] != 2 || out[2] != 100 {
		t.Fatalf("uniform attention within segments: got %v, want [2 2 100]", out)
	}
}

// Hand-worked M-RoPE tables: head_dim 8, sections [1, 1, 2], θ = 10 000 ⇒ inverse
// frequencies 1, 0.1, 0.01, 0.001; frequency 0 from the temporal row, 1 from the height row,
// 2 and 3 from the width row, repeated in the second half.
func TestMRoPEHandWorked(t *testing.T) {
	r := MRoPE[float64]{Theta: 10000, HeadDim: 8, Sections: []int{1, 1, 2}}
	cos, sin := make([]float64, 8), make([]float64, 8)
	r.CosSin(cos, sin, [][]int32{{5}, {2}, {3}}, 1)
	want := []float64{5, 0.2, 0.03, 0.003, 5, 0.2, 0.03, 0.003}
	for i, a := range want {
		if math.Abs(cos[i]-math.Cos(a)) > 1e-15 || math.Abs(sin[i]-math.Sin(a)) > 1e-15 {
			t.Errorf("dim %d: cos %g sin %g, want angle %g", i, cos[i], sin[i], a)
		}
	}
	// Equal rows reduce to the text RoPE exactly.
	pos := [][]int32{{0, 7, 300}, {0, 7, 300}, {0, 7, 300}}
	c1, s1 := make([]float64, 3*8), make([]float64, 3*8)
	c2, s2 := make([]float64, 3*8), make([]float64, 3*8)
	r.CosSin(c1, s1, pos, 3)
	TextRoPE[float64]{Theta: 10000, HeadDim: 8}.CosSin(c2, s2, pos[:1], 3)
	for i := range c1 {
		if c1[i] != c2[i] || s1[i] != s2[i] {
			t.Fatalf("value %d: M-RoPE with equal rows %g/%g, text RoPE %g/%g", i, c1[i], s1[i], c2[i], s2[i])
		}
	}
	// Decode positions: prompt rows inside the prompt, position + delta after it.
	r.PromptPos = [][3][]int32{{{0, 1, 1}, {0, 1, 2}, {0, 2, 1}}}
	r.Delta = []int32{-1}
	got := r.DecodePositions([]int32{0, 0, 0}, []int32{1, 2, 5})
	wantP := [][]int32{{1, 1, 4}, {1, 2, 4}, {2, 1, 4}}
	for k := range 3 {
		for i := range 3 {
			if got[k][i] != wantP[k][i] {
				t.Fatalf("decode positions %v, want %v", got, wantP)
			}
		}
	}
}

// Injected embedding rows: injecting a token's own embedding row is the plain forward; the
// gradient of injected rows matches central differences; KV-cache generation with injected
// rows and M-RoPE matches the full forward.
func TestInject(t *testing.T) {
	cfg := tinyConfig(true)
	rng := rand.New(rand.NewPCG(8, 9))
	p := NewParams[float64](cfg)
	p.InitRandom(rng)
	m := New[float64](p, &CPU[float64]{Workers: 2})
	m.Rope = MRoPE[float64]{Theta: 10000, HeadDim: cfg.HeadDimension(), Sections: []int{0, 1}}
	H := cfg.HiddenSize
	ids := []int32{1, 5, 7, 2, 3}
	b := NewBatch([][]int32{ids})
	b.Pos = [][]int32{{0, 1, 1, 1, 2}, {0, 1, 2, 1, 3}, {0, 1, 1, 2, 3}}
	plain, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	own := &Inject[float64]{Rows: []int{2}, Feats: append([]float64(nil), p.Embed[7*H:8*H]...)}
	a, err := m.ForwardInject(b, own)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Logits {
		if a.Logits[i] != plain.Logits[i] {
			t.Fatalf("logit %d: injected own row %g, plain %g", i, a.Logits[i], plain.Logits[i])
		}
	}
	inj := &Inject[float64]{Rows: []int{1, 3}, Feats: gradcheck.RandVec(rng, 2*H, 1)}
	targets := []int32{4, 0, 9, 3, 1}
	coef := gradcheck.RandVec(rng, len(targets), 1)
	loss := func() float64 {
		_, lp, _, err := m.ForwardLogProbsInject(b, inj, targets, 1)
		if err != nil {
			t.Fatal(err)
		}
		return weighted(lp, coef)
	}
	a, _, _, _ = m.ForwardLogProbsInject(b, inj, targets, 1)
	g := p.ZerosLike()
	m.BackwardLogProbs(a, targets, coef, 1, g)
	num := gradcheck.NumGrad(inj.Feats, loss)
	if e := gradcheck.RelErr(a.InjectGrad, num); e > 1e-6 {
		t.Errorf("injected rows: relative error %.3g > 1e-6", e)
	}
	numP := gradcheck.NumGrad(p.Data, loss)
	if e := gradcheck.RelErr(g.Data, numP); e > 1e-6 {
		t.Errorf("parameters with injection: relative error %.3g > 1e-6", e)
	}
	// Generation: greedy decoding with a prefill injection follows the full forward.
	full, _ := m.ForwardInject(b, inj)
	mr := m.Rope.(MRoPE[float64])
	mr.PromptPos = [][3][]int32{{b.Pos[0][:4], b.Pos[1][:4], b.Pos[2][:4]}}
	mr.Delta = []int32{3 + 1 - 4}
	gm := *m
	gm.Rope = mr
	comp, err := gm.GenerateInject(context.Background(), [][]int32{ids[:4]}, []*Inject[float64]{inj}, SampleOptions{MaxNewTokens: 1}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	V := cfg.VocabSize
	best := 0
	for i := 0; i < V; i++ {
		if full.Logits[3*V+i] > full.Logits[3*V+best] {
			best = i
		}
	}
	if int(comp[0].Tokens[0]) != best {
		t.Fatalf("greedy token after injected prefill %d, full forward argmax %d", comp[0].Tokens[0], best)
	}
}
