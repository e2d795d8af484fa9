package model

// Float is the element type of a backend: float32 for training and inference, float64 for
// gradient checks.
type Float interface{ ~float32 | ~float64 }

// Backend executes the decoder's ops on flat row-major slices. A second backend (CUDA) plugs
// in by implementing the same methods; the CPU backend is the reference.
//
// Conventions: forward ops overwrite their outputs; backward ops ACCUMULATE (+=) into every
// gradient they produce (parameter and activation gradients alike), so callers zero gradient
// buffers once per pass. RoPEBackward is the exception: it rotates a gradient in place.
// Sequences are packed without padding: seqStarts has B+1 offsets into the token rows; token
// i of sequence b attends to tokens seqStarts[b]…i.
type Backend[T Float] interface {
	// Embedding gathers rows of table [V, dim] for ids into out [N, dim].
	Embedding(out, table []T, ids []int32, dim int)
	// EmbeddingBackward scatters dout [N, dim] into dtable rows.
	EmbeddingBackward(dtable, dout []T, ids []int32, dim int)

	// RMSNorm: out = x · rsqrt(mean(x²) + eps) · w per row; rstd [rows] is saved for backward.
	RMSNorm(out, rstd, x, w []T, rows, dim int, eps float64)
	// RMSNormBackward accumulates dx and dw.
	RMSNormBackward(dx, dw, dout, x, w, rstd []T, rows, dim int)

	// Linear: out [rows, nOut] = x [rows, nIn] · wᵀ (w is [nOut, nIn]) + b; b may be nil.
	Linear(out, x, w, b []T, rows, nIn, nOut int)
	// LinearBackward accumulates dx, dw and db (each may be nil when not wanted).
	LinearBackward(dx, dw, db, dout, x, w []T, rows, nIn, nOut int)

	// RoPE rotates x [rows, heads, headDim] in place with per-row cos/sin tables [rows,
	// headDim] in the rotate_half layout (dimension i pairs with i + headDim/2).
	RoPE(x, cos, sin []T, rows, heads, headDim int)
	// RoPEBackward maps the gradient of the rotated tensor to the gradient of its input, in place.
	RoPEBackward(dx, cos, sin []T, rows, heads, headDim int)

	// Attention is causal GQA attention over packed sequences: q [N, nh·hd], k and v
	// [N, nkv·hd], out [N, nh·hd]; probs (size AttnProbsLen) keeps the softmax for backward.
	Attention(out, probs, q, k, v []T, seqStarts []int, nh, nkv, hd int)
	// AttentionBackward accumulates dq, dk and dv.
	AttentionBackward(dq, dk, dv, dout, probs, q, k, v []T, seqStarts []int, nh, nkv, hd int)
	// AttentionCached attends each query row i (slot[i], position pos[i]) to the cached keys
	// and values of its slot at positions 0…pos[i]; caches are [slots, maxLen, nkv·hd].
	AttentionCached(out, q, kc, vc []T, slot, pos []int32, maxLen, nh, nkv, hd int)

	// SwiGLU: out = silu(gate) ⊙ up, elementwise over n values.
	SwiGLU(out, gate, up []T, n int)
	// SwiGLUBackward accumulates dgate and dup.
	SwiGLUBackward(dgate, dup, dout, gate, up []T, n int)

	// AddTo: dst += src.
	AddTo(dst, src []T)

	// LogProbs computes, per row of logits [rows, vocab] scaled by invTemp, the log-softmax at
	// the target (logp; 0 where the target is negative) and the entropy of the distribution
	// (entropy may be nil).
	LogProbs(logp, entropy, logits []T, targets []int32, rows, vocab int, invTemp float64)
	// LogProbsBackward accumulates into dlogits the gradient of Σ dlogp·logp.
	LogProbsBackward(dlogits, dlogp, logits []T, targets []int32, rows, vocab int, invTemp float64)

	// SumSquares returns Σ x² (in float64), for gradient-norm clipping.
	SumSquares(x []T) float64
	// Scale: x *= s.
	Scale(x []T, s float64)
	// AdamW applies one decoupled-weight-decay Adam step to param with grad and moments m, v.
	AdamW(param, grad, m, v []T, h AdamWStep)
}

// AdamWStep holds one step's AdamW hyper-parameters; Step counts from 1.
type AdamWStep struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Step                               int
}

// AttnProbsLen is the number of softmax values Attention keeps for packed sequences.
func AttnProbsLen(seqStarts []int, nh int) int {
	n := 0
	for b := 0; b+1 < len(seqStarts); b++ {
		l := seqStarts[b+1] - seqStarts[b]
		n += l * (l + 1) / 2
	}
	return n * nh
}
