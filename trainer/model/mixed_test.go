package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer/internal/gradcheck"
	"github.com/eosinlab/eosin/trainer/safetensors"
)

func TestRoundBF16(t *testing.T) {
	ulp := float32(1.0 / 128) // bf16 spacing in [1, 2)
	cases := []struct {
		name    string
		in, out float32
	}{
		{"exact", 1.5, 1.5},
		{"negative exact", -3, -3},
		{"zero", 0, 0},
		{"tie to even, down", 1 + ulp/2, 1},
		{"tie to even, up", 1 + 3*ulp/2, 1 + 2*ulp},
		{"above the tie", 1 + ulp/2 + 1.0/(1<<20), 1 + ulp},
		{"below the tie", 1 + ulp/2 - 1.0/(1<<20), 1},
		{"negative rounds by magnitude", -(1 + 3*ulp/2), -(1 + 2*ulp)},
		{"overflow", math.MaxFloat32, float32(math.Inf(1))},
		{"infinity", float32(math.Inf(-1)), float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := RoundBF16(c.in); got != c.out {
			t.Errorf("%s: RoundBF16(%g) = %g, want %g", c.name, c.in, got, c.out)
		}
	}
	if v := RoundBF16(float32(math.NaN())); v == v {
		t.Error("NaN did not stay NaN")
	}
	// The same rounding as the safetensors BF16 export.
	rng := rand.New(rand.NewPCG(1, 1))
	for range 10000 {
		x := float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10)))
		if got, want := RoundBF16(x), safetensors.BF16ToFloat32(safetensors.Float32ToBF16(x)); got != want {
			t.Fatalf("RoundBF16(%g) = %g, the BF16 export gives %g", x, got, want)
		}
	}
}

// The bf16 mixed-precision backend against float32 on the same (bf16) weights: log-probs and
// gradients follow at bf16 accuracy, every activation it writes is a bf16 value, and the
// parameter gradients are not rounded (they accumulate in float32).
func TestMixedBF16AgainstFloat32(t *testing.T) {
	cfg := Config{HiddenSize: 64, IntermediateSize: 128, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		VocabSize: 50, RMSNormEps: 1e-6, RopeTheta: 1e6, InitializerRange: 0.1}
	p := NewParams[float32](cfg)
	p.InitRandom(rand.New(rand.NewPCG(5, 6)))
	RoundBF16Slice(p.Data)
	mf, mb := New(p, NewCPU[float32]()), New(p, NewMixedBF16(0))
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
	d := make([]float32, len(tg))
	for i := range tg {
		tg[i] = int32(rng.IntN(cfg.VocabSize))
		d[i] = float32(rng.NormFloat64() / float64(len(tg)))
	}
	af, lpf, _, err := mf.ForwardLogProbs(b, tg, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	ab, lpb, _, err := mb.ForwardLogProbs(b, tg, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	var dl, ml float64
	for i := range lpf {
		dl = math.Max(dl, math.Abs(float64(lpb[i]-lpf[i])))
		ml = math.Max(ml, math.Abs(float64(lpf[i])))
	}
	for li, la := range ab.layers {
		for _, act := range [][]float32{la.n1, la.q, la.k, la.att, la.h, la.n2, la.act} {
			for _, v := range act {
				if RoundBF16(v) != v {
					t.Fatalf("layer %d: activation %g is not a bf16 value", li, v)
				}
			}
		}
	}
	gf, gb := p.ZerosLike(), p.ZerosLike()
	mf.BackwardLogProbs(af, tg, d, 0.9, gf)
	mb.BackwardLogProbs(ab, tg, d, 0.9, gb)
	g64f, g64b := make([]float64, len(gf.Data)), make([]float64, len(gb.Data))
	unrounded := 0
	for i := range gf.Data {
		g64f[i], g64b[i] = float64(gf.Data[i]), float64(gb.Data[i])
		if RoundBF16(gb.Data[i]) != gb.Data[i] {
			unrounded++
		}
	}
	eg := gradcheck.RelErr(g64b, g64f)
	t.Logf("bf16 vs fp32: log-probs max |Δ| %.3g (max |logp| %.3g); gradients relative error %.3g; %d of %d gradient values not bf16",
		dl, ml, eg, unrounded, len(gb.Data))
	if dl > 0.03*ml || eg > 0.05 {
		t.Errorf("bf16 vs fp32: log-prob Δ %.3g (max %.3g), gradient relative error %.3g", dl, ml, eg)
	}
	if unrounded < len(gb.Data)/2 {
		t.Errorf("only %d of %d parameter gradients are off the bf16 grid: they should accumulate in float32", unrounded, len(gb.Data))
	}
}
