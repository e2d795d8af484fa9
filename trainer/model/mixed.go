package model

import "math"

// RoundBF16 rounds a float32 to the nearest bfloat16 (ties to even), returned as float32:
// what a GPU stores when it keeps a tensor in bf16. NaN stays NaN; overflow gives ±Inf.
func RoundBF16(x float32) float32 {
	b := math.Float32bits(x)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it quiet and a NaN
		return math.Float32frombits((b | 0x00400000) & 0xffff0000)
	}
	b += 0x7fff + (b>>16)&1
	return math.Float32frombits(b & 0xffff0000)
}

// RoundBF16Slice rounds every value of x to bfloat16 in place.
func RoundBF16Slice(x []float32) {
	for i, v := range x {
		x[i] = RoundBF16(v)
	}
}

// MixedBF16 is the CPU backend computing as a GPU does in bf16 mixed precision: every
// activation and activation gradient an op writes is stored in bf16 (rounded), while the
// sums inside matmuls, norms, softmaxes and log-probs run in float32 (or float64 where the
// CPU backend does so), norm statistics and softmax probabilities stay float32, and
// parameter gradients accumulate in float32. The weights it is given should already be bf16
// values (the trainer keeps float32 master weights and rounds a compute copy after each
// optimizer step); the optimizer ops (SumSquares, Scale, AdamW) run in float32.
type MixedBF16 struct {
	*CPU[float32]
}

// NewMixedBF16 returns a bf16 mixed-precision backend over a CPU backend with workers
// goroutines (≤ 0: all cores).
func NewMixedBF16(workers int) MixedBF16 { return MixedBF16{&CPU[float32]{Workers: workers}} }

func rnd(x []float32) { RoundBF16Slice(x) }

// Embedding implements Backend.
func (m MixedBF16) Embedding(out, table []float32, ids []int32, dim int) {
	m.CPU.Embedding(out, table, ids, dim)
	rnd(out)
}

// RMSNorm implements Backend (rstd stays float32).
func (m MixedBF16) RMSNorm(out, rstd, x, w []float32, rows, dim int, eps float64) {
	m.CPU.RMSNorm(out, rstd, x, w, rows, dim, eps)
	rnd(out)
}

// RMSNormBackward implements Backend (dw accumulates in float32).
func (m MixedBF16) RMSNormBackward(dx, dw, dout, x, w, rstd []float32, rows, dim int) {
	m.CPU.RMSNormBackward(dx, dw, dout, x, w, rstd, rows, dim)
	rnd(dx)
}

// Linear implements Backend: float32 accumulation, bf16 output.
func (m MixedBF16) Linear(out, x, w, b []float32, rows, nIn, nOut int) {
	m.CPU.Linear(out, x, w, b, rows, nIn, nOut)
	rnd(out)
}

// LinearBackward implements Backend: dx in bf16, dw and db accumulate in float32.
func (m MixedBF16) LinearBackward(dx, dw, db, dout, x, w []float32, rows, nIn, nOut int) {
	m.CPU.LinearBackward(dx, dw, db, dout, x, w, rows, nIn, nOut)
	if dx != nil {
		rnd(dx)
	}
}

// RoPE implements Backend.
func (m MixedBF16) RoPE(x, cos, sin []float32, rows, heads, headDim int) {
	m.CPU.RoPE(x, cos, sin, rows, heads, headDim)
	rnd(x[:rows*heads*headDim])
}

// RoPEBackward implements Backend.
func (m MixedBF16) RoPEBackward(dx, cos, sin []float32, rows, heads, headDim int) {
	m.CPU.RoPEBackward(dx, cos, sin, rows, heads, headDim)
	rnd(dx[:rows*heads*headDim])
}

// Attention implements Backend (probabilities stay float32, as in fused attention kernels).
func (m MixedBF16) Attention(out, probs, q, k, v []float32, seqStarts []int, nh, nkv, hd int) {
	m.CPU.Attention(out, probs, q, k, v, seqStarts, nh, nkv, hd)
	rnd(out)
}

// AttentionBackward implements Backend.
func (m MixedBF16) AttentionBackward(dq, dk, dv, dout, probs, q, k, v []float32, seqStarts []int, nh, nkv, hd int) {
	m.CPU.AttentionBackward(dq, dk, dv, dout, probs, q, k, v, seqStarts, nh, nkv, hd)
	rnd(dq)
	rnd(dk)
	rnd(dv)
}

// AttentionCached implements Backend.
func (m MixedBF16) AttentionCached(out, q, kc, vc []float32, slot, pos []int32, maxLen, nh, nkv, hd int) {
	m.CPU.AttentionCached(out, q, kc, vc, slot, pos, maxLen, nh, nkv, hd)
	rnd(out[:len(slot)*nh*hd])
}

// SwiGLU implements Backend.
func (m MixedBF16) SwiGLU(out, gate, up []float32, n int) {
	m.CPU.SwiGLU(out, gate, up, n)
	rnd(out[:n])
}

// SwiGLUBackward implements Backend.
func (m MixedBF16) SwiGLUBackward(dgate, dup, dout, gate, up []float32, n int) {
	m.CPU.SwiGLUBackward(dgate, dup, dout, gate, up, n)
	rnd(dgate[:n])
	rnd(dup[:n])
}

// AddTo implements Backend (residual additions: the sum is stored in bf16).
func (m MixedBF16) AddTo(dst, src []float32) {
	m.CPU.AddTo(dst, src)
	rnd(dst)
}

// LogProbsBackward implements Backend (the logits' gradient is stored in bf16).
func (m MixedBF16) LogProbsBackward(dlogits, dlogp, logits []float32, targets []int32, rows, vocab int, invTemp float64) {
	m.CPU.LogProbsBackward(dlogits, dlogp, logits, targets, rows, vocab, invTemp)
	rnd(dlogits[:rows*vocab])
}

// LayerNorm implements VisionBackend (mean and rstd stay float32).
func (m MixedBF16) LayerNorm(out, stats, x, w, b []float32, rows, dim int, eps float64) {
	m.CPU.LayerNorm(out, stats, x, w, b, rows, dim, eps)
	rnd(out)
}

// LayerNormBackward implements VisionBackend.
func (m MixedBF16) LayerNormBackward(dx, dw, db, dout, x, w, stats []float32, rows, dim int) {
	m.CPU.LayerNormBackward(dx, dw, db, dout, x, w, stats, rows, dim)
	rnd(dx)
}

// QuickGELU implements VisionBackend.
func (m MixedBF16) QuickGELU(out, x []float32, n int) {
	m.CPU.QuickGELU(out, x, n)
	rnd(out[:n])
}

// QuickGELUBackward implements VisionBackend.
func (m MixedBF16) QuickGELUBackward(dx, dout, x []float32, n int) {
	m.CPU.QuickGELUBackward(dx, dout, x, n)
	rnd(dx[:n])
}

// GELU implements VisionBackend.
func (m MixedBF16) GELU(out, x []float32, n int) {
	m.CPU.GELU(out, x, n)
	rnd(out[:n])
}

// GELUBackward implements VisionBackend.
func (m MixedBF16) GELUBackward(dx, dout, x []float32, n int) {
	m.CPU.GELUBackward(dx, dout, x, n)
	rnd(dx[:n])
}

// AttentionFull implements VisionBackend.
func (m MixedBF16) AttentionFull(out, probs, q, k, v []float32, segStarts []int, nh, hd int) {
	m.CPU.AttentionFull(out, probs, q, k, v, segStarts, nh, hd)
	rnd(out)
}

// AttentionFullBackward implements VisionBackend.
func (m MixedBF16) AttentionFullBackward(dq, dk, dv, dout, probs, q, k, v []float32, segStarts []int, nh, hd int) {
	m.CPU.AttentionFullBackward(dq, dk, dv, dout, probs, q, k, v, segStarts, nh, hd)
	rnd(dq)
	rnd(dk)
	rnd(dv)
}

var _ VisionBackend[float32] = MixedBF16{}
