package vision

import (
	"fmt"
	"math"

	"github.com/eosinlab/eosin/trainer/model"
)

// Tower is the vision encoder: patch embedding, rotary blocks and the 2×2 patch merger.
type Tower[T model.Float] struct {
	Cfg Config
	P   *Params[T]
	B   model.VisionBackend[T]
}

// NewTower couples tower parameters with a backend.
func NewTower[T model.Float](p *Params[T], be model.VisionBackend[T]) *Tower[T] {
	return &Tower[T]{Cfg: p.Cfg, P: p, B: be}
}

type blockActs[T model.Float] struct {
	x, st1, n1, q, k, v, probs, att, h, st2, n2, f1, f2, act []T
	segs                                                     []int
}

// TowerActs holds what the tower's forward pass keeps for backward.
type TowerActs[T model.Float] struct {
	n        int
	pixels   []T
	cos, sin []T
	blocks   []blockActs[T]
	xf       []T // input of ln_q
	stQ, nQ  []T
	m0, g0   []T // mlp.0 output and its GELU
	perm     []int
}

// patchPositions returns each patch row's (row, column) in the processor's order.
func patchPositions(grids []Grid) (rows, cols []int) {
	for _, g := range grids {
		for range g.T {
			for bh := 0; bh < g.H/2; bh++ {
				for bw := 0; bw < g.W/2; bw++ {
					for mh := 0; mh < 2; mh++ {
						for mw := 0; mw < 2; mw++ {
							rows, cols = append(rows, 2*bh+mh), append(cols, 2*bw+mw)
						}
					}
				}
			}
		}
	}
	return rows, cols
}

// RotaryTables returns the 2-D rotary cos/sin tables [N, headDim] of the patches (θ = 10 000,
// headDim/4 frequencies; the first half of the angles from the row, the second from the
// column, doubled for rotate_half).
func RotaryTables[T model.Float](grids []Grid, headDim int) (cos, sin []T) {
	rows, cols := patchPositions(grids)
	dim := headDim / 2
	nf := dim / 2
	inv := make([]float64, nf)
	for k := range inv {
		inv[k] = 1 / math.Pow(10000, float64(2*k)/float64(dim))
	}
	n := len(rows)
	cos, sin = make([]T, n*headDim), make([]T, n*headDim)
	for i := 0; i < n; i++ {
		for k := 0; k < dim; k++ {
			var a float64
			if k < nf {
				a = float64(rows[i]) * inv[k]
			} else {
				a = float64(cols[i]) * inv[k-nf]
			}
			c, s := T(math.Cos(a)), T(math.Sin(a))
			cos[i*headDim+k], cos[i*headDim+k+dim] = c, c
			sin[i*headDim+k], sin[i*headDim+k+dim] = s, s
		}
	}
	return cos, sin
}

// ImageSegments returns the full-attention segment offsets: one per frame of h·w patches.
func ImageSegments(grids []Grid) []int {
	s := []int{0}
	for _, g := range grids {
		for range g.T {
			s = append(s, s[len(s)-1]+g.H*g.W)
		}
	}
	return s
}

// WindowIndex returns Qwen2.5-VL's window order of the merged tokens (index[i] = the merged
// token placed at position i) and the window segment offsets in patches (empty windows
// dropped). win is the window side in merged tokens.
func WindowIndex(grids []Grid, win int) (index []int, segs []int) {
	segs = []int{0}
	off := 0
	for _, g := range grids {
		gh, gw := g.H/2, g.W/2
		ph, pw := win-gh%win, win-gw%win
		nh, nw := (gh+ph)/win, (gw+pw)/win
		for t := 0; t < g.T; t++ {
			for wy := 0; wy < nh; wy++ {
				for wx := 0; wx < nw; wx++ {
					cnt := 0
					for y := wy * win; y < (wy+1)*win; y++ {
						for x := wx * win; x < (wx+1)*win; x++ {
							if y < gh && x < gw {
								index = append(index, off+(t*gh+y)*gw+x)
								cnt++
							}
						}
					}
					if last := segs[len(segs)-1]; cnt > 0 {
						segs = append(segs, last+4*cnt)
					}
				}
			}
		}
		off += g.T * gh * gw
	}
	return index, segs
}

// permuteGroups reorders rows in groups of 4 (one merged token): out group i = in group
// perm[i]; inverse scatters back.
func permuteGroups[T model.Float](x []T, perm []int, width int, inverse bool) []T {
	out := make([]T, len(x))
	gs := 4 * width
	for i, p := range perm {
		if inverse {
			copy(out[p*gs:(p+1)*gs], x[i*gs:(i+1)*gs])
		} else {
			copy(out[i*gs:(i+1)*gs], x[p*gs:(p+1)*gs])
		}
	}
	return out
}

// Forward encodes pixel_values [N, PatchDim] of images with grids into merged features
// [N/4, Out] in image order, keeping activations for Backward.
func (tw *Tower[T]) Forward(pixels []T, grids []Grid) (*TowerActs[T], []T, error) {
	c := &tw.Cfg
	n := 0
	for _, g := range grids {
		if g.T <= 0 || g.H%2 != 0 || g.W%2 != 0 || g.H <= 0 || g.W <= 0 {
			return nil, nil, fmt.Errorf("vision forward: bad grid %+v", g)
		}
		n += g.Patches()
	}
	pd, D, hd, nh, I := c.PatchDim(), c.Width(), c.HeadDim(), c.NumHeads, c.MLPDim()
	if len(pixels) != n*pd {
		return nil, nil, fmt.Errorf("vision forward: %d pixel values for %d patches of %d", len(pixels), n, pd)
	}
	be, P := tw.B, tw.P
	a := &TowerActs[T]{n: n, pixels: pixels}
	x := make([]T, n*D)
	be.Linear(x, pixels, P.PatchW, nil, n, pd, D)
	a.cos, a.sin = RotaryTables[T](grids, hd)
	full := ImageSegments(grids)
	var winSegs []int
	if c.Gen == Qwen25VL {
		a.perm, winSegs = WindowIndex(grids, c.MergerWindow())
		x = permuteGroups(x, a.perm, D, false)
		a.cos = permuteGroups(a.cos, a.perm, hd, false)
		a.sin = permuteGroups(a.sin, a.perm, hd, false)
	}
	v1 := c.Gen == Qwen2VL
	a.blocks = make([]blockActs[T], c.Depth)
	for j := range a.blocks {
		w, ba := &P.Blocks[j], &a.blocks[j]
		ba.x = x
		ba.segs = full
		if !c.FullAttention(j) {
			ba.segs = winSegs
		}
		ba.n1 = make([]T, n*D)
		if v1 {
			ba.st1 = make([]T, 2*n)
			be.LayerNorm(ba.n1, ba.st1, x, w.Norm1W, w.Norm1B, n, D, 1e-6)
		} else {
			ba.st1 = make([]T, n)
			be.RMSNorm(ba.n1, ba.st1, x, w.Norm1W, n, D, 1e-6)
		}
		qkv := make([]T, n*3*D)
		be.Linear(qkv, ba.n1, w.QKVW, w.QKVB, n, D, 3*D)
		ba.q, ba.k, ba.v = make([]T, n*D), make([]T, n*D), make([]T, n*D)
		for i := 0; i < n; i++ {
			r := qkv[i*3*D:]
			copy(ba.q[i*D:(i+1)*D], r[:D])
			copy(ba.k[i*D:(i+1)*D], r[D:2*D])
			copy(ba.v[i*D:(i+1)*D], r[2*D:3*D])
		}
		be.RoPE(ba.q, a.cos, a.sin, n, nh, hd)
		be.RoPE(ba.k, a.cos, a.sin, n, nh, hd)
		ba.probs, ba.att = make([]T, model.FullAttnProbsLen(ba.segs, nh)), make([]T, n*D)
		be.AttentionFull(ba.att, ba.probs, ba.q, ba.k, ba.v, ba.segs, nh, hd)
		ba.h = make([]T, n*D)
		be.Linear(ba.h, ba.att, w.ProjW, w.ProjB, n, D, D)
		be.AddTo(ba.h, x)
		ba.n2 = make([]T, n*D)
		x = make([]T, n*D)
		if v1 {
			ba.st2 = make([]T, 2*n)
			be.LayerNorm(ba.n2, ba.st2, ba.h, w.Norm2W, w.Norm2B, n, D, 1e-6)
			ba.f1, ba.act = make([]T, n*I), make([]T, n*I)
			be.Linear(ba.f1, ba.n2, w.Fc1W, w.Fc1B, n, D, I)
			be.QuickGELU(ba.act, ba.f1, n*I)
			be.Linear(x, ba.act, w.Fc2W, w.Fc2B, n, I, D)
		} else {
			ba.st2 = make([]T, n)
			be.RMSNorm(ba.n2, ba.st2, ba.h, w.Norm2W, n, D, 1e-6)
			ba.f1, ba.f2, ba.act = make([]T, n*I), make([]T, n*I), make([]T, n*I)
			be.Linear(ba.f1, ba.n2, w.GateW, w.GateB, n, D, I)
			be.Linear(ba.f2, ba.n2, w.UpW, w.UpB, n, D, I)
			be.SwiGLU(ba.act, ba.f1, ba.f2, n*I)
			be.Linear(x, ba.act, w.DownW, w.DownB, n, I, D)
		}
		be.AddTo(x, ba.h)
	}
	a.xf, a.nQ = x, make([]T, n*D)
	if v1 {
		a.stQ = make([]T, 2*n)
		be.LayerNorm(a.nQ, a.stQ, x, P.LnQW, P.LnQB, n, D, 1e-6)
	} else {
		a.stQ = make([]T, n)
		be.RMSNorm(a.nQ, a.stQ, x, P.LnQW, n, D, 1e-6)
	}
	m := n / 4
	a.m0, a.g0 = make([]T, m*4*D), make([]T, m*4*D)
	be.Linear(a.m0, a.nQ, P.M0W, P.M0B, m, 4*D, 4*D)
	be.GELU(a.g0, a.m0, m*4*D)
	out := make([]T, m*c.Out())
	be.Linear(out, a.g0, P.M2W, P.M2B, m, 4*D, c.Out())
	if a.perm != nil {
		out = permuteRows(out, a.perm, c.Out(), true)
	}
	return a, out, nil
}

// permuteRows is permuteGroups for single rows.
func permuteRows[T model.Float](x []T, perm []int, width int, inverse bool) []T {
	out := make([]T, len(x))
	for i, p := range perm {
		if inverse {
			copy(out[p*width:(p+1)*width], x[i*width:(i+1)*width])
		} else {
			copy(out[i*width:(i+1)*width], x[p*width:(p+1)*width])
		}
	}
	return out
}

// Backward accumulates into g the parameter gradients given dout [N/4, Out] (the gradient
// of Forward's output).
func (tw *Tower[T]) Backward(a *TowerActs[T], dout []T, g *Params[T]) {
	c := &tw.Cfg
	be, P := tw.B, tw.P
	n, D, hd, nh, I, pd := a.n, c.Width(), c.HeadDim(), c.NumHeads, c.MLPDim(), c.PatchDim()
	m := n / 4
	if a.perm != nil {
		dout = permuteRows(dout, a.perm, c.Out(), false)
	}
	v1 := c.Gen == Qwen2VL
	dg0 := make([]T, m*4*D)
	be.LinearBackward(dg0, g.M2W, g.M2B, dout, a.g0, P.M2W, m, 4*D, c.Out())
	dm0 := make([]T, m*4*D)
	be.GELUBackward(dm0, dg0, a.m0, m*4*D)
	dnQ := make([]T, n*D)
	be.LinearBackward(dnQ, g.M0W, g.M0B, dm0, a.nQ, P.M0W, m, 4*D, 4*D)
	dx := make([]T, n*D)
	if v1 {
		be.LayerNormBackward(dx, g.LnQW, g.LnQB, dnQ, a.xf, P.LnQW, a.stQ, n, D)
	} else {
		be.RMSNormBackward(dx, g.LnQW, dnQ, a.xf, P.LnQW, a.stQ, n, D)
	}
	for j := len(a.blocks) - 1; j >= 0; j-- {
		w, gw, ba := &P.Blocks[j], &g.Blocks[j], &a.blocks[j]
		dact := make([]T, n*I)
		dn2 := make([]T, n*D)
		if v1 {
			be.LinearBackward(dact, gw.Fc2W, gw.Fc2B, dx, ba.act, w.Fc2W, n, I, D)
			df1 := make([]T, n*I)
			be.QuickGELUBackward(df1, dact, ba.f1, n*I)
			be.LinearBackward(dn2, gw.Fc1W, gw.Fc1B, df1, ba.n2, w.Fc1W, n, D, I)
		} else {
			be.LinearBackward(dact, gw.DownW, gw.DownB, dx, ba.act, w.DownW, n, I, D)
			dgate, dup := make([]T, n*I), make([]T, n*I)
			be.SwiGLUBackward(dgate, dup, dact, ba.f1, ba.f2, n*I)
			be.LinearBackward(dn2, gw.GateW, gw.GateB, dgate, ba.n2, w.GateW, n, D, I)
			be.LinearBackward(dn2, gw.UpW, gw.UpB, dup, ba.n2, w.UpW, n, D, I)
		}
		dh := dx
		if v1 {
			be.LayerNormBackward(dh, gw.Norm2W, gw.Norm2B, dn2, ba.h, w.Norm2W, ba.st2, n, D)
		} else {
			be.RMSNormBackward(dh, gw.Norm2W, dn2, ba.h, w.Norm2W, ba.st2, n, D)
		}
		datt := make([]T, n*D)
		be.LinearBackward(datt, gw.ProjW, gw.ProjB, dh, ba.att, w.ProjW, n, D, D)
		dq, dk, dv := make([]T, n*D), make([]T, n*D), make([]T, n*D)
		be.AttentionFullBackward(dq, dk, dv, datt, ba.probs, ba.q, ba.k, ba.v, ba.segs, nh, hd)
		be.RoPEBackward(dq, a.cos, a.sin, n, nh, hd)
		be.RoPEBackward(dk, a.cos, a.sin, n, nh, hd)
		dqkv := make([]T, n*3*D)
		for i := 0; i < n; i++ {
			r := dqkv[i*3*D:]
			copy(r[:D], dq[i*D:(i+1)*D])
			copy(r[D:2*D], dk[i*D:(i+1)*D])
			copy(r[2*D:3*D], dv[i*D:(i+1)*D])
		}
		dn1 := make([]T, n*D)
		be.LinearBackward(dn1, gw.QKVW, gw.QKVB, dqkv, ba.n1, w.QKVW, n, D, 3*D)
		if v1 {
			be.LayerNormBackward(dh, gw.Norm1W, gw.Norm1B, dn1, ba.x, w.Norm1W, ba.st1, n, D)
		} else {
			be.RMSNormBackward(dh, gw.Norm1W, dn1, ba.x, w.Norm1W, ba.st1, n, D)
		}
		dx = dh
	}
	if a.perm != nil {
		dx = permuteGroups(dx, a.perm, D, true)
	}
	be.LinearBackward(nil, g.PatchW, nil, dx, a.pixels, P.PatchW, n, pd, D)
}
