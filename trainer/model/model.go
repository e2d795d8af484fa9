package model

import (
	"fmt"
	"math"
)

// Rotary fills per-token cos/sin tables [n, headDim] (rotate_half layout) from position ids.
// Text models use one row of ids (TextRoPE); the VL models' M-RoPE takes three rows
// (temporal, height, width) and plugs in here without touching the decoder.
type Rotary[T Float] interface {
	CosSin(cos, sin []T, pos [][]int32, n int)
}

// DecodeRotary is implemented by encoders whose position ids during KV-cache decoding are
// not simply the cache position (M-RoPE: three rows, position + rope_delta of the sequence in
// slot). Step uses it when the model's Rotary implements it.
type DecodeRotary interface {
	DecodePositions(slot, pos []int32) [][]int32
}

// TextRoPE is 1-D RoPE: inv_freq_k = θ^(−2k/d), angles = pos · inv_freq, doubled to d.
type TextRoPE[T Float] struct {
	Theta   float64
	HeadDim int
}

// CosSin implements Rotary using the first row of pos.
func (r TextRoPE[T]) CosSin(cos, sin []T, pos [][]int32, n int) {
	d := r.HeadDim
	half := d / 2
	inv := make([]T, half)
	for k := range inv {
		inv[k] = T(1 / math.Pow(r.Theta, float64(2*k)/float64(d)))
	}
	for i := 0; i < n; i++ {
		p := T(pos[0][i])
		for k := 0; k < half; k++ {
			a := float64(p * inv[k])
			c, s := T(math.Cos(a)), T(math.Sin(a))
			cos[i*d+k], cos[i*d+k+half] = c, c
			sin[i*d+k], sin[i*d+k+half] = s, s
		}
	}
}

// Batch is a set of packed sequences (no padding).
type Batch struct {
	// IDs are the input tokens of all sequences, one after another.
	IDs []int32
	// SeqStarts holds B+1 offsets into IDs.
	SeqStarts []int
	// Pos holds position-id rows (one for text); nil means 0, 1, 2 … within each sequence.
	Pos [][]int32
}

// NewBatch packs sequences.
func NewBatch(seqs [][]int32) *Batch {
	b := &Batch{SeqStarts: []int{0}}
	for _, s := range seqs {
		b.IDs = append(b.IDs, s...)
		b.SeqStarts = append(b.SeqStarts, len(b.IDs))
	}
	return b
}

func (b *Batch) positions() [][]int32 {
	if b.Pos != nil {
		return b.Pos
	}
	p := make([]int32, len(b.IDs))
	for s := 0; s+1 < len(b.SeqStarts); s++ {
		for i := b.SeqStarts[s]; i < b.SeqStarts[s+1]; i++ {
			p[i] = int32(i - b.SeqStarts[s])
		}
	}
	return [][]int32{p}
}

// Model couples parameters with a backend and a rotary encoder.
type Model[T Float] struct {
	Cfg  Config
	P    *Params[T]
	B    Backend[T]
	Rope Rotary[T]
	// LogitChunk is the number of rows ForwardLogProbs and its backward push through the LM
	// head at a time, so [N, vocab] logits never exist at once (0: 256).
	LogitChunk int
}

// New returns a model over params p computed by backend be, with 1-D text RoPE.
func New[T Float](p *Params[T], be Backend[T]) *Model[T] {
	return &Model[T]{Cfg: p.Cfg, P: p, B: be, Rope: TextRoPE[T]{Theta: p.Cfg.RopeTheta, HeadDim: p.Cfg.HeadDimension()}}
}

type layerActs[T Float] struct {
	x, rstd1, n1, q, k, v, probs, att, h, rstd2, n2, gate, up, act []T
}

// Inject replaces the input embeddings of some token rows with given vectors (a VL model's
// merged image features at its <|image_pad|> positions). Feats is [len(Rows), hidden].
type Inject[T Float] struct {
	Rows  []int
	Feats []T
}

func (inj *Inject[T]) check(n, H int) error {
	if inj == nil {
		return nil
	}
	if len(inj.Feats) != len(inj.Rows)*H {
		return fmt.Errorf("inject: %d values for %d rows of %d", len(inj.Feats), len(inj.Rows), H)
	}
	for _, r := range inj.Rows {
		if r < 0 || r >= n {
			return fmt.Errorf("inject: row %d outside %d tokens", r, n)
		}
	}
	return nil
}

func (inj *Inject[T]) apply(x []T, H int) {
	if inj == nil {
		return
	}
	for j, r := range inj.Rows {
		copy(x[r*H:(r+1)*H], inj.Feats[j*H:(j+1)*H])
	}
}

// Acts holds what the forward pass saves for the backward pass.
type Acts[T Float] struct {
	inject *Inject[T]
	// InjectGrad receives, during a backward pass after a forward with an Inject, the
	// gradient of the injected rows [len(Rows), hidden] (accumulated).
	InjectGrad    []T
	batch         *Batch
	cos, sin      []T
	layers        []layerActs[T]
	xf, rstdF, nF []T
	// Logits are [N, vocab]: row i predicts the token after IDs[i].
	Logits []T
}

// Forward runs the decoder over a batch and keeps activations (and the logits) for Backward.
func (m *Model[T]) Forward(b *Batch) (*Acts[T], error) { return m.forward(b, nil, true) }

// ForwardInject is Forward with the embeddings of inj.Rows replaced by inj.Feats; the
// backward pass leaves the gradient of those rows in Acts.InjectGrad.
func (m *Model[T]) ForwardInject(b *Batch, inj *Inject[T]) (*Acts[T], error) {
	return m.forward(b, inj, true)
}

func (m *Model[T]) forward(b *Batch, inj *Inject[T], keepLogits bool) (*Acts[T], error) {
	c := m.Cfg
	n := len(b.IDs)
	if n == 0 || len(b.SeqStarts) < 2 || b.SeqStarts[0] != 0 || b.SeqStarts[len(b.SeqStarts)-1] != n {
		return nil, fmt.Errorf("forward: malformed batch (%d tokens, starts %v)", n, b.SeqStarts)
	}
	for i, id := range b.IDs {
		if id < 0 || int(id) >= c.VocabSize {
			return nil, fmt.Errorf("forward: token %d at %d outside vocabulary of %d", id, i, c.VocabSize)
		}
	}
	H, I, V := c.HiddenSize, c.IntermediateSize, c.VocabSize
	hd, nh, nkv := c.HeadDimension(), c.NumAttentionHeads, c.NumKeyValueHeads
	qd, kd := nh*hd, nkv*hd
	if err := inj.check(n, H); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	a := &Acts[T]{batch: b, cos: make([]T, n*hd), sin: make([]T, n*hd), inject: inj}
	m.Rope.CosSin(a.cos, a.sin, b.positions(), n)
	x := make([]T, n*H)
	m.B.Embedding(x, m.P.Embed, b.IDs, H)
	inj.apply(x, H)
	pl := AttnProbsLen(b.SeqStarts, nh)
	a.layers = make([]layerActs[T], c.NumHiddenLayers)
	for li := range a.layers {
		w := &m.P.Layers[li]
		la := &a.layers[li]
		la.x = x
		la.rstd1, la.n1 = make([]T, n), make([]T, n*H)
		m.B.RMSNorm(la.n1, la.rstd1, x, w.InNorm, n, H, c.RMSNormEps)
		la.q, la.k, la.v = make([]T, n*qd), make([]T, n*kd), make([]T, n*kd)
		m.B.Linear(la.q, la.n1, w.Wq, w.Bq, n, H, qd)
		m.B.Linear(la.k, la.n1, w.Wk, w.Bk, n, H, kd)
		m.B.Linear(la.v, la.n1, w.Wv, w.Bv, n, H, kd)
		m.B.RoPE(la.q, a.cos, a.sin, n, nh, hd)
		m.B.RoPE(la.k, a.cos, a.sin, n, nkv, hd)
		la.probs, la.att = make([]T, pl), make([]T, n*qd)
		m.B.Attention(la.att, la.probs, la.q, la.k, la.v, b.SeqStarts, nh, nkv, hd)
		la.h = make([]T, n*H)
		m.B.Linear(la.h, la.att, w.Wo, nil, n, qd, H)
		m.B.AddTo(la.h, x)
		la.rstd2, la.n2 = make([]T, n), make([]T, n*H)
		m.B.RMSNorm(la.n2, la.rstd2, la.h, w.PostNorm, n, H, c.RMSNormEps)
		la.gate, la.up, la.act = make([]T, n*I), make([]T, n*I), make([]T, n*I)
		m.B.Linear(la.gate, la.n2, w.Wg, nil, n, H, I)
		m.B.Linear(la.up, la.n2, w.Wu, nil, n, H, I)
		m.B.SwiGLU(la.act, la.gate, la.up, n*I)
		x = make([]T, n*H)
		m.B.Linear(x, la.act, w.Wd, nil, n, I, H)
		m.B.AddTo(x, la.h)
	}
	a.xf, a.rstdF, a.nF = x, make([]T, n), make([]T, n*H)
	m.B.RMSNorm(a.nF, a.rstdF, x, m.P.Norm, n, H, c.RMSNormEps)
	if keepLogits {
		a.Logits = make([]T, n*V)
		m.B.Linear(a.Logits, a.nF, m.P.LMHead, nil, n, H, V)
	}
	return a, nil
}

func (m *Model[T]) chunk() int {
	if m.LogitChunk > 0 {
		return m.LogitChunk
	}
	return 256
}

// ForwardLogProbs runs the decoder and returns per-token log-probs of targets (negative
// target: 0) and entropies at the given temperature, computing the LM head in chunks of rows
// (the fused path: logits are not kept; BackwardLogProbs recomputes them chunk by chunk).
func (m *Model[T]) ForwardLogProbs(b *Batch, targets []int32, temperature float64) (*Acts[T], []T, []T, error) {
	return m.ForwardLogProbsInject(b, nil, targets, temperature)
}

// ForwardLogProbsInject is ForwardLogProbs with injected embedding rows (see ForwardInject).
func (m *Model[T]) ForwardLogProbsInject(b *Batch, inj *Inject[T], targets []int32, temperature float64) (*Acts[T], []T, []T, error) {
	a, err := m.forward(b, inj, false)
	if err != nil {
		return nil, nil, nil, err
	}
	n, H, V := len(b.IDs), m.Cfg.HiddenSize, m.Cfg.VocabSize
	if len(targets) != n {
		return nil, nil, nil, fmt.Errorf("log-probs: %d targets for %d tokens", len(targets), n)
	}
	logp, ent := make([]T, n), make([]T, n)
	ch := m.chunk()
	buf := make([]T, min(ch, n)*V)
	for r0 := 0; r0 < n; r0 += ch {
		r1 := min(r0+ch, n)
		lg := buf[:(r1-r0)*V]
		m.B.Linear(lg, a.nF[r0*H:r1*H], m.P.LMHead, nil, r1-r0, H, V)
		m.B.LogProbs(logp[r0:r1], ent[r0:r1], lg, targets[r0:r1], r1-r0, V, 1/temperature)
	}
	return a, logp, ent, nil
}

// Backward accumulates into g the parameter gradients given dlogits [N, vocab].
func (m *Model[T]) Backward(a *Acts[T], dlogits []T, g *Params[T]) {
	n, H, V := len(a.batch.IDs), m.Cfg.HiddenSize, m.Cfg.VocabSize
	dnF := make([]T, n*H)
	m.B.LinearBackward(dnF, g.LMHead, nil, dlogits, a.nF, m.P.LMHead, n, H, V)
	m.backwardFromNorm(a, dnF, g)
}

// backwardFromNorm continues the backward pass from the gradient of the final norm's output.
func (m *Model[T]) backwardFromNorm(a *Acts[T], dnF []T, g *Params[T]) {
	c := m.Cfg
	b := a.batch
	n := len(b.IDs)
	H, I := c.HiddenSize, c.IntermediateSize
	hd, nh, nkv := c.HeadDimension(), c.NumAttentionHeads, c.NumKeyValueHeads
	qd, kd := nh*hd, nkv*hd
	dx := make([]T, n*H)
	m.B.RMSNormBackward(dx, g.Norm, dnF, a.xf, m.P.Norm, a.rstdF, n, H)
	for li := len(a.layers) - 1; li >= 0; li-- {
		w, gw, la := &m.P.Layers[li], &g.Layers[li], &a.layers[li]
		// x_out = h + down(act): dx flows to dh directly and through the MLP.
		dact := make([]T, n*I)
		m.B.LinearBackward(dact, gw.Wd, nil, dx, la.act, w.Wd, n, I, H)
		dgate, dup := make([]T, n*I), make([]T, n*I)
		m.B.SwiGLUBackward(dgate, dup, dact, la.gate, la.up, n*I)
		dn2 := make([]T, n*H)
		m.B.LinearBackward(dn2, gw.Wg, nil, dgate, la.n2, w.Wg, n, H, I)
		m.B.LinearBackward(dn2, gw.Wu, nil, dup, la.n2, w.Wu, n, H, I)
		dh := dx // residual
		m.B.RMSNormBackward(dh, gw.PostNorm, dn2, la.h, w.PostNorm, la.rstd2, n, H)
		// h = x + o_proj(att)
		datt := make([]T, n*qd)
		m.B.LinearBackward(datt, gw.Wo, nil, dh, la.att, w.Wo, n, qd, H)
		dq, dk, dv := make([]T, n*qd), make([]T, n*kd), make([]T, n*kd)
		m.B.AttentionBackward(dq, dk, dv, datt, la.probs, la.q, la.k, la.v, b.SeqStarts, nh, nkv, hd)
		m.B.RoPEBackward(dq, a.cos, a.sin, n, nh, hd)
		m.B.RoPEBackward(dk, a.cos, a.sin, n, nkv, hd)
		dn1 := make([]T, n*H)
		m.B.LinearBackward(dn1, gw.Wq, gw.Bq, dq, la.n1, w.Wq, n, H, qd)
		m.B.LinearBackward(dn1, gw.Wk, gw.Bk, dk, la.n1, w.Wk, n, H, kd)
		m.B.LinearBackward(dn1, gw.Wv, gw.Bv, dv, la.n1, w.Wv, n, H, kd)
		m.B.RMSNormBackward(dh, gw.InNorm, dn1, la.x, w.InNorm, la.rstd1, n, H)
		dx = dh
	}
	if a.inject != nil {
		if a.InjectGrad == nil {
			a.InjectGrad = make([]T, len(a.inject.Feats))
		}
		for j, r := range a.inject.Rows {
			m.B.AddTo(a.InjectGrad[j*H:(j+1)*H], dx[r*H:(r+1)*H])
			clear(dx[r*H : (r+1)*H])
		}
	}
	m.B.EmbeddingBackward(g.Embed, dx, b.IDs, H)
}

// LogProbs returns per-token log-probabilities of targets (negative target: skipped, 0) and
// entropies under softmax(logits / temperature).
func (m *Model[T]) LogProbs(a *Acts[T], targets []int32, temperature float64) (logp, entropy []T) {
	n := len(a.batch.IDs)
	logp, entropy = make([]T, n), make([]T, n)
	m.B.LogProbs(logp, entropy, a.Logits, targets, n, m.Cfg.VocabSize, 1/temperature)
	return logp, entropy
}

// BackwardLogProbs accumulates into g the gradient of Σ dlogp[i]·logp[i]. After
// ForwardLogProbs it recomputes the logits chunk by chunk (rows with dlogp = 0 are skipped).
func (m *Model[T]) BackwardLogProbs(a *Acts[T], targets []int32, dlogp []T, temperature float64, g *Params[T]) {
	n, H, V := len(a.batch.IDs), m.Cfg.HiddenSize, m.Cfg.VocabSize
	if a.Logits != nil {
		dl := make([]T, len(a.Logits))
		m.B.LogProbsBackward(dl, dlogp, a.Logits, targets, n, V, 1/temperature)
		m.Backward(a, dl, g)
		return
	}
	dnF := make([]T, n*H)
	ch := m.chunk()
	lgBuf, dlBuf := make([]T, min(ch, n)*V), make([]T, min(ch, n)*V)
	for r0 := 0; r0 < n; r0 += ch {
		r1 := min(r0+ch, n)
		active := false
		for _, d := range dlogp[r0:r1] {
			active = active || d != 0
		}
		if !active {
			continue
		}
		lg, dl := lgBuf[:(r1-r0)*V], dlBuf[:(r1-r0)*V]
		clear(dl)
		m.B.Linear(lg, a.nF[r0*H:r1*H], m.P.LMHead, nil, r1-r0, H, V)
		m.B.LogProbsBackward(dl, dlogp[r0:r1], lg, targets[r0:r1], r1-r0, V, 1/temperature)
		m.B.LinearBackward(dnF[r0*H:r1*H], g.LMHead, nil, dl, a.nF[r0*H:r1*H], m.P.LMHead, r1-r0, H, V)
	}
	m.backwardFromNorm(a, dnF, g)
}
