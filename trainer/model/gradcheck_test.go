package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer/internal/gradcheck"
)

// Relative error used by every gradient check: ‖analytic − numeric‖∞ / max(‖analytic‖∞,
// ‖numeric‖∞, 1e-12), numeric from central differences with step 1e-6 in float64.

func weighted(out, r []float64) float64 {
	var s float64
	for i := range out {
		s += out[i] * r[i]
	}
	return s
}

type opCase struct {
	name  string
	bound float64
	// inputs to perturb, the scalar loss Σ R·out, and the analytic gradients in input order.
	run func(rng *rand.Rand) (inputs [][]float64, loss func() float64, grads [][]float64)
}

func opCases() []opCase {
	be := &CPU[float64]{Workers: 2}
	seqStarts := []int{0, 3, 7, 8} // three packed sequences of lengths 3, 4, 1
	N := seqStarts[len(seqStarts)-1]
	return []opCase{
		{"embedding", 1e-8, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			V, D := 5, 3
			ids := []int32{1, 4, 1, 0}
			tab := gradcheck.RandVec(rng, V*D, 1)
			r := gradcheck.RandVec(rng, len(ids)*D, 1)
			out := make([]float64, len(ids)*D)
			loss := func() float64 { be.Embedding(out, tab, ids, D); return weighted(out, r) }
			g := make([]float64, V*D)
			be.EmbeddingBackward(g, r, ids, D)
			return [][]float64{tab}, loss, [][]float64{g}
		}},
		{"rmsnorm", 1e-7, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			rows, D := 4, 6
			x, w := gradcheck.RandVec(rng, rows*D, 1), gradcheck.RandVec(rng, D, 1)
			r := gradcheck.RandVec(rng, rows*D, 1)
			out, rstd := make([]float64, rows*D), make([]float64, rows)
			loss := func() float64 { be.RMSNorm(out, rstd, x, w, rows, D, 1e-6); return weighted(out, r) }
			loss()
			dx, dw := make([]float64, len(x)), make([]float64, len(w))
			be.RMSNormBackward(dx, dw, r, x, w, rstd, rows, D)
			return [][]float64{x, w}, loss, [][]float64{dx, dw}
		}},
		{"linear+bias", 1e-8, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			rows, in, out := 5, 7, 6
			x, w, b := gradcheck.RandVec(rng, rows*in, 1), gradcheck.RandVec(rng, out*in, 1), gradcheck.RandVec(rng, out, 1)
			r := gradcheck.RandVec(rng, rows*out, 1)
			y := make([]float64, rows*out)
			loss := func() float64 { be.Linear(y, x, w, b, rows, in, out); return weighted(y, r) }
			dx, dw, db := make([]float64, len(x)), make([]float64, len(w)), make([]float64, len(b))
			be.LinearBackward(dx, dw, db, r, x, w, rows, in, out)
			return [][]float64{x, w, b}, loss, [][]float64{dx, dw, db}
		}},
		{"rope", 1e-8, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			rows, heads, hd := 4, 3, 8
			x := gradcheck.RandVec(rng, rows*heads*hd, 1)
			cos, sin := make([]float64, rows*hd), make([]float64, rows*hd)
			TextRoPE[float64]{Theta: 10000, HeadDim: hd}.CosSin(cos, sin, [][]int32{{0, 5, 17, 300}}, rows)
			r := gradcheck.RandVec(rng, len(x), 1)
			y := make([]float64, len(x))
			loss := func() float64 { copy(y, x); be.RoPE(y, cos, sin, rows, heads, hd); return weighted(y, r) }
			dx := append([]float64(nil), r...)
			be.RoPEBackward(dx, cos, sin, rows, heads, hd)
			return [][]float64{x}, loss, [][]float64{dx}
		}},
		{"attention-gqa", 1e-7, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			nh, nkv, hd := 4, 2, 3
			q, k, v := gradcheck.RandVec(rng, N*nh*hd, 1), gradcheck.RandVec(rng, N*nkv*hd, 1), gradcheck.RandVec(rng, N*nkv*hd, 1)
			r := gradcheck.RandVec(rng, N*nh*hd, 1)
			out, probs := make([]float64, N*nh*hd), make([]float64, AttnProbsLen(seqStarts, nh))
			loss := func() float64 {
				be.Attention(out, probs, q, k, v, seqStarts, nh, nkv, hd)
				return weighted(out, r)
			}
			loss()
			dq, dk, dv := make([]float64, len(q)), make([]float64, len(k)), make([]float64, len(v))
			be.AttentionBackward(dq, dk, dv, r, probs, q, k, v, seqStarts, nh, nkv, hd)
			return [][]float64{q, k, v}, loss, [][]float64{dq, dk, dv}
		}},
		{"swiglu", 1e-8, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			n := 20
			gt, up := gradcheck.RandVec(rng, n, 2), gradcheck.RandVec(rng, n, 1)
			r := gradcheck.RandVec(rng, n, 1)
			out := make([]float64, n)
			loss := func() float64 { be.SwiGLU(out, gt, up, n); return weighted(out, r) }
			dg, du := make([]float64, n), make([]float64, n)
			be.SwiGLUBackward(dg, du, r, gt, up, n)
			return [][]float64{gt, up}, loss, [][]float64{dg, du}
		}},
		{"logprob-gather/T=0.7", 1e-7, func(rng *rand.Rand) ([][]float64, func() float64, [][]float64) {
			rows, V := 5, 9
			logits := gradcheck.RandVec(rng, rows*V, 2)
			tg := []int32{3, 0, -1, 8, 8}
			r := gradcheck.RandVec(rng, rows, 1)
			lp := make([]float64, rows)
			loss := func() float64 { be.LogProbs(lp, nil, logits, tg, rows, V, 1/0.7); return weighted(lp, r) }
			d := make([]float64, len(logits))
			be.LogProbsBackward(d, r, logits, tg, rows, V, 1/0.7)
			return [][]float64{logits}, loss, [][]float64{d}
		}},
	}
}

func TestOpGradients(t *testing.T) {
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
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

func TestEntropyAndAdamW(t *testing.T) {
	be := &CPU[float64]{}
	logits := []float64{0, 0, 0, 0}
	lp, ent := make([]float64, 1), make([]float64, 1)
	be.LogProbs(lp, ent, logits, []int32{2}, 1, 4, 1)
	if math.Abs(ent[0]-math.Log(4)) > 1e-12 || math.Abs(lp[0]+math.Log(4)) > 1e-12 {
		t.Errorf("uniform: logp %g entropy %g", lp[0], ent[0])
	}
	// One AdamW step by hand: p=1, g=0.5, lr 0.1, wd 0.01 → p·(1−0.001) − 0.1·(m̂/(√v̂+ε)), m̂ = g, v̂ = g².
	p, g, m, v := []float64{1}, []float64{0.5}, []float64{0}, []float64{0}
	be.AdamW(p, g, m, v, AdamWStep{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: 1})
	want := 1*(1-0.1*0.01) - 0.1*0.5/(0.5+1e-8)
	if math.Abs(p[0]-want) > 1e-12 || math.Abs(m[0]-0.05) > 1e-15 || math.Abs(v[0]-0.00025) > 1e-15 {
		t.Errorf("AdamW: p %v m %v v %v, want p %v", p, m, v, want)
	}
}

func tinyConfig(tied bool) Config {
	return Config{HiddenSize: 8, IntermediateSize: 12, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		VocabSize: 11, RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: tied, InitializerRange: 0.5}
}

func TestModelGradient(t *testing.T) {
	for _, c := range []struct{ tied, fused bool }{{false, false}, {true, false}, {true, true}, {false, true}} {
		t.Run(fmt.Sprintf("tied=%v/fused=%v", c.tied, c.fused), func(t *testing.T) {
			cfg := tinyConfig(c.tied)
			rng := rand.New(rand.NewPCG(3, 4))
			p := NewParams[float64](cfg)
			p.InitRandom(rng)
			// Non-trivial norms and biases so their gradients are exercised.
			for k, tn := range p.Tensors {
				if len(tn.Shape) == 1 {
					v := p.view(k)
					for i := range v {
						v[i] += rng.NormFloat64() * 0.3
					}
				}
			}
			m := New[float64](p, &CPU[float64]{Workers: 2})
			m.LogitChunk = 3 // several chunks, the last one partial
			b := NewBatch([][]int32{{1, 5, 7, 2}, {3, 3}, {10, 0, 4, 9, 6}})
			targets := make([]int32, len(b.IDs))
			for i := range targets {
				targets[i] = int32(rng.IntN(cfg.VocabSize))
			}
			targets[1] = -1
			coef := gradcheck.RandVec(rng, len(targets), 1)
			coef[4], coef[5] = 0, 0 // a whole chunk without gradient is skipped
			const temp = 0.8
			fwd := func() (*Acts[float64], []float64) {
				if c.fused {
					a, lp, _, err := m.ForwardLogProbs(b, targets, temp)
					if err != nil {
						t.Fatal(err)
					}
					return a, lp
				}
				a, err := m.Forward(b)
				if err != nil {
					t.Fatal(err)
				}
				lp, _ := m.LogProbs(a, targets, temp)
				return a, lp
			}
			loss := func() float64 { _, lp := fwd(); return weighted(lp, coef) }
			a, lp := fwd()
			if c.fused {
				af, _ := m.Forward(b)
				lpf, _ := m.LogProbs(af, targets, temp)
				for i := range lp {
					if lp[i] != lpf[i] {
						t.Fatalf("fused log-prob %d: %g, full %g", i, lp[i], lpf[i])
					}
				}
			}
			g := p.ZerosLike()
			m.BackwardLogProbs(a, targets, coef, temp, g)
			num := gradcheck.NumGrad(p.Data, loss)
			worst := 0.0
			for k, tn := range p.Tensors {
				e := gradcheck.RelErr(g.view(k), num[tn.Offset:tn.Offset+tn.Len()])
				worst = math.Max(worst, e)
				if e > 1e-6 || math.IsNaN(e) {
					t.Errorf("%s: relative error %.3g > 1e-6", tn.Name, e)
				}
			}
			if e := gradcheck.RelErr(g.Data, num); e > 1e-6 {
				t.Errorf("whole model: relative error %.3g > 1e-6", e)
			}
			t.Logf("%d parameters, worst per-tensor relative error %.3g (bound 1e-6)", len(p.Data), worst)
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"hidden_size":8,"intermediate_size":12,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"vocab_size":5}`))
	f.Add([]byte(`{"text_config":{"hidden_size":8}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig returned an invalid config: %v", err)
		}
	})
}
