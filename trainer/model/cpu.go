package model

import (
	"math"
	"runtime"
	"sync"
)

// CPU is the reference backend: plain Go, parallel across cores.
type CPU[T Float] struct {
	// Workers is the number of goroutines an op may use (≤ 0: GOMAXPROCS).
	Workers int
}

// NewCPU returns a CPU backend using every core.
func NewCPU[T Float]() *CPU[T] { return &CPU[T]{} }

func (c *CPU[T]) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// parallel splits [0, n) into contiguous chunks run concurrently; cost is the rough work per
// item, so tiny loops stay on one goroutine.
func (c *CPU[T]) parallel(n, cost int, fn func(lo, hi int)) {
	w := c.workers()
	if w > n {
		w = n
	}
	if w <= 1 || n*cost < 1<<14 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	chunks := w * 4
	if chunks > n {
		chunks = n
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				k := next
				next++
				mu.Unlock()
				if k >= chunks {
					return
				}
				fn(k*n/chunks, (k+1)*n/chunks)
			}
		}()
	}
	wg.Wait()
}

func dot[T Float](a, b []T) T {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// softmax turns attention scores into probabilities in place: exp(x − max) summed in
// float64, then scaled by the reciprocal of the sum.
func softmax[T Float](p []T) {
	mx := T(math.Inf(-1))
	for _, x := range p {
		mx = max(mx, x)
	}
	var sum float64
	for j := range p {
		e := math.Exp(float64(p[j] - mx))
		p[j] = T(e)
		sum += e
	}
	inv := T(1 / sum)
	for j := range p {
		p[j] *= inv
	}
}

func axpy[T Float](alpha T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Embedding implements Backend.
func (c *CPU[T]) Embedding(out, table []T, ids []int32, dim int) {
	c.parallel(len(ids), dim, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			copy(out[i*dim:(i+1)*dim], table[int(ids[i])*dim:(int(ids[i])+1)*dim])
		}
	})
}

// EmbeddingBackward implements Backend (parallel over columns, so rows never race).
func (c *CPU[T]) EmbeddingBackward(dtable, dout []T, ids []int32, dim int) {
	c.parallel(dim, len(ids), func(lo, hi int) {
		for i, id := range ids {
			axpy(1, dout[i*dim+lo:i*dim+hi], dtable[int(id)*dim+lo:int(id)*dim+hi])
		}
	})
}

// RMSNorm implements Backend; the mean square is accumulated in float64.
func (c *CPU[T]) RMSNorm(out, rstd, x, w []T, rows, dim int, eps float64) {
	c.parallel(rows, dim, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*dim : (r+1)*dim]
			var ss float64
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
			rs := T(1 / math.Sqrt(ss/float64(dim)+eps))
			rstd[r] = rs
			or := out[r*dim : (r+1)*dim]
			for i, v := range xr {
				or[i] = (v * rs) * w[i]
			}
		}
	})
}

// RMSNormBackward implements Backend.
func (c *CPU[T]) RMSNormBackward(dx, dw, dout, x, w, rstd []T, rows, dim int) {
	// dx: parallel over rows.
	c.parallel(rows, dim, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, gr, dxr := x[r*dim:(r+1)*dim], dout[r*dim:(r+1)*dim], dx[r*dim:(r+1)*dim]
			rs := rstd[r]
			var m float64 // mean of (dout·w)·n
			for i := range xr {
				m += float64(gr[i] * w[i] * xr[i] * rs)
			}
			mt := T(m / float64(dim))
			for i := range xr {
				n := xr[i] * rs
				dxr[i] += rs * (gr[i]*w[i] - n*mt)
			}
		}
	})
	// dw: parallel over columns.
	c.parallel(dim, rows, func(lo, hi int) {
		for r := 0; r < rows; r++ {
			rs := rstd[r]
			xr, gr := x[r*dim:(r+1)*dim], dout[r*dim:(r+1)*dim]
			for i := lo; i < hi; i++ {
				dw[i] += gr[i] * xr[i] * rs
			}
		}
	})
}

// Linear implements Backend.
func (c *CPU[T]) Linear(out, x, w, b []T, rows, nIn, nOut int) {
	const rt, ct = 4, 16
	rTiles := (rows + rt - 1) / rt
	cTiles := (nOut + ct - 1) / ct
	c.parallel(rTiles*cTiles, rt*ct*nIn, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			r0, c0 := (t/cTiles)*rt, (t%cTiles)*ct
			r1, c1 := min(r0+rt, rows), min(c0+ct, nOut)
			xr := func(r int) []T { return x[r*nIn : (r+1)*nIn] }
			wr := func(o int) []T { return w[o*nIn : (o+1)*nIn] }
			bias := func(o int) T {
				if b == nil {
					return 0
				}
				return b[o]
			}
			o := c0
			for ; o+4 <= c1; o += 4 {
				r := r0
				for ; r+2 <= r1; r += 2 {
					s := dot2x4(xr(r), xr(r+1), wr(o), wr(o+1), wr(o+2), wr(o+3))
					for k := 0; k < 4; k++ {
						out[r*nOut+o+k] = s[k] + bias(o+k)
						out[(r+1)*nOut+o+k] = s[4+k] + bias(o+k)
					}
				}
				for ; r < r1; r++ {
					s := dot1x4(xr(r), wr(o), wr(o+1), wr(o+2), wr(o+3))
					for k := 0; k < 4; k++ {
						out[r*nOut+o+k] = s[k] + bias(o+k)
					}
				}
			}
			for ; o < c1; o++ {
				for r := r0; r < r1; r++ {
					out[r*nOut+o] = dotSeq(xr(r), wr(o)) + bias(o)
				}
			}
		}
	})
}

// LinearBackward implements Backend.
func (c *CPU[T]) LinearBackward(dx, dw, db, dout, x, w []T, rows, nIn, nOut int) {
	if dx != nil {
		// dx[r] += Σ_o dout[r,o]·w[o]
		c.parallel((rows+1)/2, nIn*nOut*2, func(lo, hi int) {
			r0, r1 := 2*lo, min(2*hi, rows)
			accRows(r1-r0, nOut,
				func(j int) []T { return dx[(r0+j)*nIn : (r0+j+1)*nIn] },
				func(o int) []T { return w[o*nIn : (o+1)*nIn] },
				func(j, o int) T { return dout[(r0+j)*nOut+o] }, 0)
		})
	}
	if dw != nil {
		// dw[o] += Σ_r dout[r,o]·x[r]
		c.parallel((nOut+1)/2, rows*nIn*2, func(lo, hi int) {
			o0, o1 := 2*lo, min(2*hi, nOut)
			accRows(o1-o0, rows,
				func(j int) []T { return dw[(o0+j)*nIn : (o0+j+1)*nIn] },
				func(r int) []T { return x[r*nIn : (r+1)*nIn] },
				func(j, r int) T { return dout[r*nOut+o0+j] }, 0)
		})
	}
	if db != nil {
		for r := 0; r < rows; r++ {
			for o := 0; o < nOut; o++ {
				db[o] += dout[r*nOut+o]
			}
		}
	}
}

// RoPE implements Backend.
func (c *CPU[T]) RoPE(x, cos, sin []T, rows, heads, hd int) {
	half := hd / 2
	c.parallel(rows, heads*hd, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			cr, sr := cos[r*hd:(r+1)*hd], sin[r*hd:(r+1)*hd]
			for h := 0; h < heads; h++ {
				v := x[(r*heads+h)*hd : (r*heads+h+1)*hd]
				for i := 0; i < half; i++ {
					a, b := v[i], v[i+half]
					v[i] = a*cr[i] - b*sr[i]
					v[i+half] = b*cr[i+half] + a*sr[i+half]
				}
			}
		}
	})
}

// RoPEBackward implements Backend.
func (c *CPU[T]) RoPEBackward(dx, cos, sin []T, rows, heads, hd int) {
	half := hd / 2
	c.parallel(rows, heads*hd, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			cr, sr := cos[r*hd:(r+1)*hd], sin[r*hd:(r+1)*hd]
			for h := 0; h < heads; h++ {
				v := dx[(r*heads+h)*hd : (r*heads+h+1)*hd]
				for i := 0; i < half; i++ {
					ga, gb := v[i], v[i+half]
					v[i] = ga*cr[i] + gb*sr[i+half]
					v[i+half] = gb*cr[i+half] - ga*sr[i]
				}
			}
		}
	})
}

// seqOf returns, for every packed token, its sequence start and the offset of its softmax
// rows in the probs buffer.
func seqIndex(seqStarts []int, nh int) (start, pOff []int) {
	n := seqStarts[len(seqStarts)-1]
	start, pOff = make([]int, n), make([]int, n)
	base := 0
	for b := 0; b+1 < len(seqStarts); b++ {
		s, e := seqStarts[b], seqStarts[b+1]
		for i := s; i < e; i++ {
			p := i - s
			start[i] = s
			pOff[i] = base + nh*p*(p+1)/2
		}
		l := e - s
		base += nh * l * (l + 1) / 2
	}
	return start, pOff
}

// Attention implements Backend.
func (c *CPU[T]) Attention(out, probs, q, k, v []T, seqStarts []int, nh, nkv, hd int) {
	start, pOff := seqIndex(seqStarts, nh)
	n := len(start)
	grp := nh / nkv
	scale := T(1 / math.Sqrt(float64(hd)))
	qs, ks := nh*hd, nkv*hd
	c.parallel(n, nh*hd*64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := start[i]
			l := i - s + 1
			for h := 0; h < nh; h++ {
				kh := h / grp
				qi := q[i*qs+h*hd : i*qs+(h+1)*hd]
				p := probs[pOff[i]+h*l : pOff[i]+(h+1)*l]
				for j := 0; j < l; j++ {
					p[j] = dot(qi, k[(s+j)*ks+kh*hd:(s+j)*ks+(kh+1)*hd]) * scale
				}
				softmax(p)
				o := out[i*qs+h*hd : i*qs+(h+1)*hd]
				clear(o)
				for j := range p {
					axpy(p[j], v[(s+j)*ks+kh*hd:(s+j)*ks+(kh+1)*hd], o)
				}
			}
		}
	})
}

// AttentionBackward implements Backend. It first forms dS = P ⊙ (dP − rowsum(P ⊙ dP)) per
// query, then gathers dq per query token and dk, dv per key token, so no two goroutines write
// the same row.
func (c *CPU[T]) AttentionBackward(dq, dk, dv, dout, probs, q, k, v []T, seqStarts []int, nh, nkv, hd int) {
	start, pOff := seqIndex(seqStarts, nh)
	n := len(start)
	grp := nh / nkv
	scale := T(1 / math.Sqrt(float64(hd)))
	qs, ks := nh*hd, nkv*hd
	ds := make([]T, len(probs))
	c.parallel(n, nh*hd*64, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := start[i]
			l := i - s + 1
			for h := 0; h < nh; h++ {
				kh := h / grp
				do := dout[i*qs+h*hd : i*qs+(h+1)*hd]
				p := probs[pOff[i]+h*l : pOff[i]+(h+1)*l]
				d := ds[pOff[i]+h*l : pOff[i]+(h+1)*l]
				var sum T
				for j := 0; j < l; j++ {
					d[j] = dot(do, v[(s+j)*ks+kh*hd:(s+j)*ks+(kh+1)*hd])
					sum += p[j] * d[j]
				}
				dqi := dq[i*qs+h*hd : i*qs+(h+1)*hd]
				for j := 0; j < l; j++ {
					d[j] = p[j] * (d[j] - sum) * scale
					axpy(d[j], k[(s+j)*ks+kh*hd:(s+j)*ks+(kh+1)*hd], dqi)
				}
			}
		}
	})
	// Keys and values: token j collects from queries i ≥ j of its sequence.
	ends := make([]int, n)
	for b := 0; b+1 < len(seqStarts); b++ {
		for i := seqStarts[b]; i < seqStarts[b+1]; i++ {
			ends[i] = seqStarts[b+1]
		}
	}
	c.parallel(n, nh*hd*64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			s := start[j]
			for kh := 0; kh < nkv; kh++ {
				dkj := dk[j*ks+kh*hd : j*ks+(kh+1)*hd]
				dvj := dv[j*ks+kh*hd : j*ks+(kh+1)*hd]
				for h := kh * grp; h < (kh+1)*grp; h++ {
					for i := j; i < ends[j]; i++ {
						l := i - s + 1
						off := pOff[i] + h*l + (j - s)
						axpy(ds[off], q[i*qs+h*hd:i*qs+(h+1)*hd], dkj)
						axpy(probs[off], dout[i*qs+h*hd:i*qs+(h+1)*hd], dvj)
					}
				}
			}
		}
	})
}

// AttentionCached implements Backend.
func (c *CPU[T]) AttentionCached(out, q, kc, vc []T, slot, pos []int32, maxLen, nh, nkv, hd int) {
	grp := nh / nkv
	scale := T(1 / math.Sqrt(float64(hd)))
	qs, ks := nh*hd, nkv*hd
	c.parallel(len(slot)*nh, hd*64, func(lo, hi int) {
		var p []T
		for t := lo; t < hi; t++ {
			i, h := t/nh, t%nh
			kh := h / grp
			base := int(slot[i]) * maxLen * ks
			l := int(pos[i]) + 1
			if cap(p) < l {
				p = make([]T, l)
			}
			p = p[:l]
			qi := q[i*qs+h*hd : i*qs+(h+1)*hd]
			for j := 0; j < l; j++ {
				p[j] = dot(qi, kc[base+j*ks+kh*hd:base+j*ks+(kh+1)*hd]) * scale
			}
			softmax(p)
			o := out[i*qs+h*hd : i*qs+(h+1)*hd]
			clear(o)
			for j := range p {
				axpy(p[j], vc[base+j*ks+kh*hd:base+j*ks+(kh+1)*hd], o)
			}
		}
	})
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// SwiGLU implements Backend.
func (c *CPU[T]) SwiGLU(out, gate, up []T, n int) {
	c.parallel(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := float64(gate[i])
			out[i] = T(g*sigmoid(g)) * up[i]
		}
	})
}

// SwiGLUBackward implements Backend.
func (c *CPU[T]) SwiGLUBackward(dgate, dup, dout, gate, up []T, n int) {
	c.parallel(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := float64(gate[i])
			s := sigmoid(g)
			dgate[i] += dout[i] * up[i] * T(s*(1+g*(1-s)))
			dup[i] += dout[i] * T(g*s)
		}
	})
}

// AddTo implements Backend.
func (c *CPU[T]) AddTo(dst, src []T) {
	c.parallel(len(dst), 1, func(lo, hi int) { axpy(1, src[lo:hi], dst[lo:hi]) })
}

// LogProbs implements Backend; the log-sum-exp runs in float64.
func (c *CPU[T]) LogProbs(logp, entropy, logits []T, targets []int32, rows, vocab int, invTemp float64) {
	c.parallel(rows, vocab*4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			z := logits[r*vocab : (r+1)*vocab]
			mx := math.Inf(-1)
			for _, v := range z {
				mx = max(mx, float64(v)*invTemp)
			}
			var sum, sz float64
			for _, v := range z {
				zz := float64(v) * invTemp
				e := math.Exp(zz - mx)
				sum += e
				sz += e * zz
			}
			lse := mx + math.Log(sum)
			if t := targets[r]; t >= 0 {
				logp[r] = T(float64(z[t])*invTemp - lse)
			} else {
				logp[r] = 0
			}
			if entropy != nil {
				entropy[r] = T(lse - sz/sum)
			}
		}
	})
}

// LogProbsBackward implements Backend.
func (c *CPU[T]) LogProbsBackward(dlogits, dlogp, logits []T, targets []int32, rows, vocab int, invTemp float64) {
	c.parallel(rows, vocab*4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			g := float64(dlogp[r])
			t := targets[r]
			if g == 0 || t < 0 {
				continue
			}
			z := logits[r*vocab : (r+1)*vocab]
			mx := math.Inf(-1)
			for _, v := range z {
				mx = max(mx, float64(v)*invTemp)
			}
			var sum float64
			for _, v := range z {
				sum += math.Exp(float64(v)*invTemp - mx)
			}
			d := dlogits[r*vocab : (r+1)*vocab]
			for i, v := range z {
				p := math.Exp(float64(v)*invTemp-mx) / sum
				d[i] -= T(g * p * invTemp)
			}
			d[t] += T(g * invTemp)
		}
	})
}

// SumSquares implements Backend.
func (c *CPU[T]) SumSquares(x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// Scale implements Backend.
func (c *CPU[T]) Scale(x []T, s float64) {
	st := T(s)
	for i := range x {
		x[i] *= st
	}
}

// AdamW implements Backend (PyTorch's AdamW: decay first, bias-corrected moments).
func (c *CPU[T]) AdamW(param, grad, m, v []T, h AdamWStep) {
	bc1 := 1 - math.Pow(h.Beta1, float64(h.Step))
	bc2 := 1 - math.Pow(h.Beta2, float64(h.Step))
	c.parallel(len(param), 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g := float64(grad[i])
			p := float64(param[i]) * (1 - h.LR*h.WeightDecay)
			mi := h.Beta1*float64(m[i]) + (1-h.Beta1)*g
			vi := h.Beta2*float64(v[i]) + (1-h.Beta2)*g*g
			m[i], v[i] = T(mi), T(vi)
			p -= h.LR * (mi / bc1) / (math.Sqrt(vi/bc2) + h.Eps)
			param[i] = T(p)
		}
	})
}
