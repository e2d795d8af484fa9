package vision

import (
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer/model"
)

// BenchmarkTowerForwardBackward: a 4-block, width-256 Qwen2.5-VL-style tower (14-px patches,
// window 112 px, one full-attention block) on one 224×224 image (256 patches, 64 merged
// tokens), float32 on the CPU backend; reports patches/s.
func BenchmarkTowerForwardBackward(b *testing.B) {
	c := Config{Gen: Qwen25VL, Depth: 4, HiddenSize: 256, OutHiddenSize: 256, IntermediateSize: 684, NumHeads: 4, InChans: 3,
		PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2, WindowSize: 112, FullAttBlockIndexes: []int{3}}
	p := NewParams[float32](c)
	rng := rand.New(rand.NewPCG(1, 1))
	p.InitRandom(rng, 0.02)
	tw := NewTower(p, &model.CPU[float32]{})
	grids := []Grid{{1, 16, 16}}
	pix := make([]float32, 256*c.PatchDim())
	for i := range pix {
		pix[i] = float32(rng.NormFloat64())
	}
	dout := make([]float32, 64*256)
	for i := range dout {
		dout[i] = float32(rng.NormFloat64())
	}
	g := p.ZerosLike()
	b.ResetTimer()
	for range b.N {
		a, _, err := tw.Forward(pix, grids)
		if err != nil {
			b.Fatal(err)
		}
		tw.Backward(a, dout, g)
	}
	b.ReportMetric(float64(256*b.N)/b.Elapsed().Seconds(), "patches/s")
}

func FuzzParseVLConfig(f *testing.F) {
	f.Add([]byte(qwen2VLConfig))
	f.Add([]byte(qwen25VLConfig))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseVLConfig(b)
		if err != nil {
			return
		}
		if err := c.Vision.Validate(); err != nil {
			t.Fatalf("ParseVLConfig returned an invalid config: %v", err)
		}
	})
}

func FuzzRopeIndex(f *testing.F) {
	f.Add([]byte{1, 9, 11, 11, 11, 11, 10, 3}, uint8(4), uint8(4))
	f.Fuzz(func(t *testing.T, raw []byte, h, w uint8) {
		if len(raw) > 200 || h == 0 || w == 0 || h%2 != 0 || w%2 != 0 || h > 40 || w > 40 {
			return
		}
		ids := make([]int32, len(raw))
		for i, b := range raw {
			ids[i] = int32(b % 12)
		}
		pos, delta, err := RopeIndex(ids, []Grid{{1, int(h), int(w)}}, 11, 9, 1)
		if err != nil {
			return
		}
		mx := int32(-1)
		for k := range 3 {
			for _, p := range pos[k] {
				mx = max(mx, p)
			}
		}
		if delta != mx+1-int32(len(ids)) {
			t.Fatalf("delta %d, max %d, len %d", delta, mx, len(ids))
		}
	})
}
