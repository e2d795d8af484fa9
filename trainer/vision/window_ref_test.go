package vision

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/eosinlab/eosin/trainer/internal/gradcheck"
	"github.com/eosinlab/eosin/trainer/model"
)

// refMaskedAttention is naive attention where token i sees token j iff group[i] == group[j].
func refMaskedAttention(q, k, v []float64, group []int, nh, hd int) []float64 {
	n := len(group)
	D := nh * hd
	out := make([]float64, n*D)
	for i := 0; i < n; i++ {
		for h := 0; h < nh; h++ {
			var sc []float64
			var js []int
			mx := math.Inf(-1)
			for j := 0; j < n; j++ {
				if group[j] != group[i] {
					continue
				}
				s := 0.0
				for d := 0; d < hd; d++ {
					s += q[i*D+h*hd+d] * k[j*D+h*hd+d]
				}
				s /= math.Sqrt(float64(hd))
				sc, js = append(sc, s), append(js, j)
				mx = math.Max(mx, s)
			}
			sum := 0.0
			for a := range sc {
				sc[a] = math.Exp(sc[a] - mx)
				sum += sc[a]
			}
			for a, j := range js {
				for d := 0; d < hd; d++ {
					out[i*D+h*hd+d] += sc[a] / sum * v[j*D+h*hd+d]
				}
			}
		}
	}
	return out
}

// The Qwen2.5-VL tower (window reordering, window segments, inverse permutation) equals a
// reference written without any reordering: patches stay in processor order and windowed
// blocks use an attention mask "same image and same window of merged tokens", computed from
// each patch's coordinates.
func TestWindowTowerMatchesMaskedReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 1))
	c := tinyVision(Qwen25VL, 6)
	c.Depth, c.FullAttBlockIndexes = 3, []int{1}
	p := NewParams[float64](c)
	p.InitRandom(rng, 0.4)
	perturbVectors(p.Tensors, p.Data, rng)
	be := &model.CPU[float64]{}
	tw := NewTower(p, be)
	grids := []Grid{{1, 6, 10}, {1, 2, 2}, {1, 4, 4}}
	n := 0
	for _, g := range grids {
		n += g.Patches()
	}
	pix := gradcheck.RandVec(rng, n*c.PatchDim(), 1)
	_, got, err := tw.Forward(pix, grids)
	if err != nil {
		t.Fatal(err)
	}
	// Reference.
	win := c.MergerWindow()
	imgOf, winOf := make([]int, 0, n), make([]int, 0, n)
	rows, cols := patchPositions(grids)
	for k, g := range grids {
		for range g.Patches() {
			imgOf = append(imgOf, k)
		}
	}
	for i := range rows {
		wr, wc := rows[i]/2/win, cols[i]/2/win
		winOf = append(winOf, imgOf[i]*10000+wr*100+wc)
	}
	D, hd, nh, I := c.Width(), c.HeadDim(), c.NumHeads, c.MLPDim()
	x := make([]float64, n*D)
	be.Linear(x, pix, p.PatchW, nil, n, c.PatchDim(), D)
	cos, sin := RotaryTables[float64](grids, hd)
	for j := range c.Depth {
		w := &p.Blocks[j]
		n1, st := make([]float64, n*D), make([]float64, n)
		be.RMSNorm(n1, st, x, w.Norm1W, n, D, 1e-6)
		qkv := make([]float64, n*3*D)
		be.Linear(qkv, n1, w.QKVW, w.QKVB, n, D, 3*D)
		q, k, v := make([]float64, n*D), make([]float64, n*D), make([]float64, n*D)
		for i := 0; i < n; i++ {
			copy(q[i*D:], qkv[i*3*D:i*3*D+D])
			copy(k[i*D:], qkv[i*3*D+D:i*3*D+2*D])
			copy(v[i*D:], qkv[i*3*D+2*D:i*3*D+3*D])
		}
		be.RoPE(q, cos, sin, n, nh, hd)
		be.RoPE(k, cos, sin, n, nh, hd)
		group := winOf
		if c.FullAttention(j) {
			group = imgOf
		}
		att := refMaskedAttention(q, k, v, group, nh, hd)
		h := make([]float64, n*D)
		be.Linear(h, att, w.ProjW, w.ProjB, n, D, D)
		be.AddTo(h, x)
		n2 := make([]float64, n*D)
		be.RMSNorm(n2, st, h, w.Norm2W, n, D, 1e-6)
		gt, up, act := make([]float64, n*I), make([]float64, n*I), make([]float64, n*I)
		be.Linear(gt, n2, w.GateW, w.GateB, n, D, I)
		be.Linear(up, n2, w.UpW, w.UpB, n, D, I)
		be.SwiGLU(act, gt, up, n*I)
		x = make([]float64, n*D)
		be.Linear(x, act, w.DownW, w.DownB, n, I, D)
		be.AddTo(x, h)
	}
	nq, st := make([]float64, n*D), make([]float64, n)
	be.RMSNorm(nq, st, x, p.LnQW, n, D, 1e-6)
	m0, g0 := make([]float64, n*D), make([]float64, n*D)
	be.Linear(m0, nq, p.M0W, p.M0B, n/4, 4*D, 4*D)
	be.GELU(g0, m0, n*D)
	want := make([]float64, n/4*c.Out())
	be.Linear(want, g0, p.M2W, p.M2B, n/4, 4*D, c.Out())
	if e := gradcheck.RelErr(got, want); e > 1e-12 {
		t.Fatalf("tower vs masked reference: relative difference %.3g", e)
	}
}
