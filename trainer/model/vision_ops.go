package model

import "math"

// VisionBackend adds the ops of the Qwen2-VL / Qwen2.5-VL vision tower to Backend. The
// conventions are Backend's: forward ops overwrite, backward ops accumulate.
type VisionBackend[T Float] interface {
	Backend[T]
	// LayerNorm: out = (x − mean) · rstd · w + b per row (b may be nil); stats [2·rows] keeps
	// mean and rstd for backward.
	LayerNorm(out, stats, x, w, b []T, rows, dim int, eps float64)
	// LayerNormBackward accumulates dx, dw and db (db may be nil).
	LayerNormBackward(dx, dw, db, dout, x, w, stats []T, rows, dim int)
	// QuickGELU: out = x · σ(1.702·x) over n values.
	QuickGELU(out, x []T, n int)
	// QuickGELUBackward accumulates dx.
	QuickGELUBackward(dx, dout, x []T, n int)
	// GELU is the exact (erf) GELU: out = x · Φ(x).
	GELU(out, x []T, n int)
	// GELUBackward accumulates dx.
	GELUBackward(dx, dout, x []T, n int)
	// AttentionFull is bidirectional multi-head attention within segments: q, k, v and out are
	// [N, nh·hd]; segStarts has S+1 offsets; every token attends to every token of its
	// segment. probs (size FullAttnProbsLen) keeps the softmax for backward.
	AttentionFull(out, probs, q, k, v []T, segStarts []int, nh, hd int)
	// AttentionFullBackward accumulates dq, dk and dv.
	AttentionFullBackward(dq, dk, dv, dout, probs, q, k, v []T, segStarts []int, nh, hd int)
}

// FullAttnProbsLen is the number of softmax values AttentionFull keeps: Σ len² · nh.
func FullAttnProbsLen(segStarts []int, nh int) int {
	n := 0
	for s := 0; s+1 < len(segStarts); s++ {
		l := segStarts[s+1] - segStarts[s]
		n += l * l
	}
	return n * nh
}

// LayerNorm implements VisionBackend.
func (c *CPU[T]) LayerNorm(out, stats, x, w, b []T, rows, dim int, eps float64) {
	c.parallel(rows, dim*4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*dim : (r+1)*dim]
			var mean float64
			for _, v := range xr {
				mean += float64(v)
			}
			mean /= float64(dim)
			var vr float64
			for _, v := range xr {
				d := float64(v) - mean
				vr += d * d
			}
			rs := 1 / math.Sqrt(vr/float64(dim)+eps)
			stats[2*r], stats[2*r+1] = T(mean), T(rs)
			o := out[r*dim : (r+1)*dim]
			for i, v := range xr {
				y := T((float64(v) - mean) * rs)
				y *= w[i]
				if b != nil {
					y += b[i]
				}
				o[i] = y
			}
		}
	})
}

// LayerNormBackward implements VisionBackend: with x̂ = (x − μ)·r and g = dout ⊙ w,
// dx = r · (g − mean(g) − x̂ · mean(g ⊙ x̂)).
func (c *CPU[T]) LayerNormBackward(dx, dw, db, dout, x, w, stats []T, rows, dim int) {
	c.parallel(rows, dim*6, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			mean, rs := float64(stats[2*r]), float64(stats[2*r+1])
			xr, dr, dxr := x[r*dim:(r+1)*dim], dout[r*dim:(r+1)*dim], dx[r*dim:(r+1)*dim]
			var mg, mgx float64
			for i := range xr {
				g := float64(dr[i]) * float64(w[i])
				xh := (float64(xr[i]) - mean) * rs
				mg += g
				mgx += g * xh
			}
			mg /= float64(dim)
			mgx /= float64(dim)
			for i := range xr {
				g := float64(dr[i]) * float64(w[i])
				xh := (float64(xr[i]) - mean) * rs
				dxr[i] += T(rs * (g - mg - xh*mgx))
			}
		}
	})
	// Parameter gradients: per column, serial over rows (no write races).
	c.parallel(dim, rows*4, func(lo, hi int) {
		for r := 0; r < rows; r++ {
			mean, rs := float64(stats[2*r]), float64(stats[2*r+1])
			for i := lo; i < hi; i++ {
				d := dout[r*dim+i]
				dw[i] += d * T((float64(x[r*dim+i])-mean)*rs)
				if db != nil {
					db[i] += d
				}
			}
		}
	})
}

const quickGELUAlpha = 1.702

// QuickGELU implements VisionBackend.
func (c *CPU[T]) QuickGELU(out, x []T, n int) {
	c.parallel(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			out[i] = T(v * sigmoid(quickGELUAlpha*v))
		}
	})
}

// QuickGELUBackward implements VisionBackend: d/dx x·σ(αx) = σ + αx·σ(1 − σ).
func (c *CPU[T]) QuickGELUBackward(dx, dout, x []T, n int) {
	c.parallel(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			s := sigmoid(quickGELUAlpha * v)
			dx[i] += dout[i] * T(s+quickGELUAlpha*v*s*(1-s))
		}
	})
}

// GELU implements VisionBackend.
func (c *CPU[T]) GELU(out, x []T, n int) {
	c.parallel(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			out[i] = T(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
		}
	})
}

// GELUBackward implements VisionBackend: d/dx x·Φ(x) = Φ(x) + x·φ(x).
func (c *CPU[T]) GELUBackward(dx, dout, x []T, n int) {
	c.parallel(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			cdf := 0.5 * (1 + math.Erf(v/math.Sqrt2))
			pdf := math.Exp(-0.5*v*v) / math.Sqrt(2*math.Pi)
			dx[i] += dout[i] * T(cdf+v*pdf)
		}
	})
}

// segIndex maps each token to its segment start, length and the offset of its probability
// rows.
func segIndex(segStarts []int, nh int) (start, length, pOff []int) {
	n := segStarts[len(segStarts)-1]
	start, length, pOff = make([]int, n), make([]int, n), make([]int, n)
	off := 0
	for s := 0; s+1 < len(segStarts); s++ {
		a, b := segStarts[s], segStarts[s+1]
		for i := a; i < b; i++ {
			start[i], length[i], pOff[i] = a, b-a, off
			off += (b - a) * nh
		}
	}
	return start, length, pOff
}

// AttentionFull implements VisionBackend.
func (c *CPU[T]) AttentionFull(out, probs, q, k, v []T, segStarts []int, nh, hd int) {
	start, length, pOff := segIndex(segStarts, nh)
	n := len(start)
	scale := T(1 / math.Sqrt(float64(hd)))
	qs := nh * hd
	c.parallel(n, nh*hd*64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s, l := start[i], length[i]
			for h := 0; h < nh; h++ {
				qi := q[i*qs+h*hd : i*qs+(h+1)*hd]
				p := probs[pOff[i]+h*l : pOff[i]+(h+1)*l]
				for j := 0; j < l; j++ {
					p[j] = dot(qi, k[(s+j)*qs+h*hd:(s+j)*qs+(h+1)*hd]) * scale
				}
				softmax(p)
				o := out[i*qs+h*hd : i*qs+(h+1)*hd]
				clear(o)
				for j := range p {
					axpy(p[j], v[(s+j)*qs+h*hd:(s+j)*qs+(h+1)*hd], o)
				}
			}
		}
	})
}

// AttentionFullBackward implements VisionBackend: dS = P ⊙ (dP − rowsum(P ⊙ dP)) per query
// row, then dq per query token and dk, dv per key token (no two goroutines write one row).
func (c *CPU[T]) AttentionFullBackward(dq, dk, dv, dout, probs, q, k, v []T, segStarts []int, nh, hd int) {
	start, length, pOff := segIndex(segStarts, nh)
	n := len(start)
	scale := T(1 / math.Sqrt(float64(hd)))
	qs := nh * hd
	ds := make([]T, len(probs))
	c.parallel(n, nh*hd*64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s, l := start[i], length[i]
			for h := 0; h < nh; h++ {
				do := dout[i*qs+h*hd : i*qs+(h+1)*hd]
				p := probs[pOff[i]+h*l : pOff[i]+(h+1)*l]
				d := ds[pOff[i]+h*l : pOff[i]+(h+1)*l]
				var rs T
				for j := 0; j < l; j++ {
					d[j] = dot(do, v[(s+j)*qs+h*hd:(s+j)*qs+(h+1)*hd])
					rs += p[j] * d[j]
				}
				dqi := dq[i*qs+h*hd : i*qs+(h+1)*hd]
				for j := 0; j < l; j++ {
					d[j] = p[j] * (d[j] - rs) * scale
					axpy(d[j], k[(s+j)*qs+h*hd:(s+j)*qs+(h+1)*hd], dqi)
				}
			}
		}
	})
	c.parallel(n, nh*hd*64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			s, l := start[j], length[j]
			jj := j - s
			for i := s; i < s+l; i++ {
				for h := 0; h < nh; h++ {
					off := pOff[i] + h*l + jj
					axpy(ds[off], q[i*qs+h*hd:i*qs+(h+1)*hd], dk[j*qs+h*hd:j*qs+(h+1)*hd])
					axpy(probs[off], dout[i*qs+h*hd:i*qs+(h+1)*hd], dv[j*qs+h*hd:j*qs+(h+1)*hd])
				}
			}
		}
	})
}

// MRoPE is the multimodal rotary encoding of the VL decoders: three position rows (temporal,
// height, width); the head_dim/2 frequencies are cut into Sections (e.g. [16, 24, 24]) and
// section k takes its angles from row k mod 3, the same in both halves of rotate_half.
// With a single row (or three equal rows) it is plain 1-D RoPE.
//
// For KV-cache decoding (DecodeRotary) PromptPos holds each slot's prompt position rows and
// Delta its rope_delta: cache position p < prompt length uses the prompt rows, later
// positions use p + Delta on all three rows.
type MRoPE[T Float] struct {
	Theta     float64
	HeadDim   int
	Sections  []int
	PromptPos [][3][]int32
	Delta     []int32
}

// CosSin implements Rotary.
func (r MRoPE[T]) CosSin(cos, sin []T, pos [][]int32, n int) {
	d := r.HeadDim
	half := d / 2
	row := make([]int, half)
	k := 0
	for s, l := range r.Sections {
		for range l {
			if k < half {
				row[k] = s % 3
			}
			k++
		}
	}
	for ; k < half; k++ {
		row[k] = 2 // sections shorter than half: the rest from the last row (not in Qwen configs)
	}
	for i := 0; i < n; i++ {
		for k := 0; k < half; k++ {
			rw := row[k]
			if rw >= len(pos) {
				rw = 0
			}
			inv := T(1 / math.Pow(r.Theta, float64(2*k)/float64(d)))
			a := float64(T(pos[rw][i]) * inv)
			c, s := T(math.Cos(a)), T(math.Sin(a))
			cos[i*d+k], cos[i*d+k+half] = c, c
			sin[i*d+k], sin[i*d+k+half] = s, s
		}
	}
}

// DecodePositions implements DecodeRotary.
func (r MRoPE[T]) DecodePositions(slot, pos []int32) [][]int32 {
	out := [][]int32{make([]int32, len(pos)), make([]int32, len(pos)), make([]int32, len(pos))}
	for i := range pos {
		s := int(slot[i])
		if s < len(r.PromptPos) && int(pos[i]) < len(r.PromptPos[s][0]) {
			for k := range 3 {
				out[k][i] = r.PromptPos[s][k][pos[i]]
			}
			continue
		}
		var delta int32
		if s < len(r.Delta) {
			delta = r.Delta[s]
		}
		for k := range 3 {
			out[k][i] = pos[i] + delta
		}
	}
	return out
}
