package vision

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer/model"
)

// The float32 VLM (the training precision) follows the float64 one: log-probs within 1e-5
// relative, decoder and tower gradients within 1e-5 of the largest gradient.
func TestFloat32AgainstFloat64(t *testing.T) {
	for _, gen := range []Generation{Qwen2VL, Qwen25VL} {
		v64, dp, vp := tinyVLM(t, gen, 51)
		dp32 := model.NewParams[float32](dp.Cfg)
		for i, x := range dp.Data {
			dp32.Data[i] = float32(x)
		}
		vp32 := NewParams[float32](vp.Cfg)
		for i, x := range vp.Data {
			vp32.Data[i] = float32(x)
		}
		// Compare against float64 parameters that are exactly the float32 values.
		for i := range dp.Data {
			dp.Data[i] = float64(dp32.Data[i])
		}
		for i := range vp.Data {
			vp.Data[i] = float64(vp32.Data[i])
		}
		v32, err := NewVLM(dp32, vp32, v64.VL, &model.CPU[float32]{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(2, 2))
		in64 := tinyInputs(rng, vp.Cfg.PatchDim())
		in32 := make([]Input[float32], len(in64))
		n := 0
		for i, x := range in64 {
			in32[i] = Input[float32]{IDs: x.IDs, Grids: x.Grids}
			for j, p := range x.Pixels {
				in64[i].Pixels[j] = float64(float32(p))
				in32[i].Pixels = append(in32[i].Pixels, float32(p))
			}
			n += len(x.IDs)
		}
		targets := make([]int32, n)
		coef64, coef32 := make([]float64, n), make([]float32, n)
		for i := range targets {
			targets[i] = int32(rng.IntN(12))
			coef32[i] = float32(rng.NormFloat64())
			coef64[i] = float64(coef32[i])
		}
		a64, lp64, _, err := v64.ForwardLogProbs(in64, targets, 1)
		if err != nil {
			t.Fatal(err)
		}
		a32, lp32, _, err := v32.ForwardLogProbs(in32, targets, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i := range lp64 {
			if d := math.Abs(float64(lp32[i]) - lp64[i]); d > 1e-5*(1+math.Abs(lp64[i])) {
				t.Fatalf("gen %d log-prob %d: float32 %g, float64 %g", gen, i, lp32[i], lp64[i])
			}
		}
		gd64, gv64 := dp.ZerosLike(), vp.ZerosLike()
		gd32, gv32 := dp32.ZerosLike(), vp32.ZerosLike()
		v64.BackwardLogProbs(a64, targets, coef64, 1, gd64, gv64)
		v32.BackwardLogProbs(a32, targets, coef32, 1, gd32, gv32)
		for _, c := range []struct {
			name string
			a    []float32
			b    []float64
		}{{"decoder", gd32.Data, gd64.Data}, {"tower", gv32.Data, gv64.Data}} {
			var d, m float64
			for i := range c.b {
				d = math.Max(d, math.Abs(float64(c.a[i])-c.b[i]))
				m = math.Max(m, math.Abs(c.b[i]))
			}
			if d > 1e-5*m || m == 0 {
				t.Errorf("gen %d %s gradients: max difference %.3g, max magnitude %.3g", gen, c.name, d, m)
			}
			t.Logf("gen %d %s gradients: relative difference %.3g", gen, c.name, d/m)
		}
	}
}
