package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// KVCache holds keys and values of every layer for a fixed number of sequence slots.
type KVCache[T Float] struct {
	Slots, MaxLen int
	k, v          [][]T // per layer: [slots, maxLen, nkv·hd]
}

// NewKVCache allocates a cache for slots sequences of up to maxLen tokens.
func (m *Model[T]) NewKVCache(slots, maxLen int) *KVCache[T] {
	kd := m.Cfg.NumKeyValueHeads * m.Cfg.HeadDimension()
	c := &KVCache[T]{Slots: slots, MaxLen: maxLen}
	for range m.Cfg.NumHiddenLayers {
		c.k = append(c.k, make([]T, slots*maxLen*kd))
		c.v = append(c.v, make([]T, slots*maxLen*kd))
	}
	return c
}

// Step feeds tokens (token i goes to cache slot slot[i] at position pos[i]; every earlier
// position of that slot must already be cached or be in this call before it) and returns
// the logits [len(outRows), vocab] of the rows listed in outRows.
func (m *Model[T]) Step(c *KVCache[T], ids, slot, pos []int32, outRows []int) ([]T, error) {
	return m.StepInject(c, ids, slot, pos, outRows, nil)
}

// StepInject is Step with the embeddings of inj.Rows (rows of ids) replaced by inj.Feats.
func (m *Model[T]) StepInject(c *KVCache[T], ids, slot, pos []int32, outRows []int, inj *Inject[T]) ([]T, error) {
	cfg := m.Cfg
	n := len(ids)
	H, I, V := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	hd, nh, nkv := cfg.HeadDimension(), cfg.NumAttentionHeads, cfg.NumKeyValueHeads
	qd, kd := nh*hd, nkv*hd
	for i := range ids {
		if ids[i] < 0 || int(ids[i]) >= V {
			return nil, fmt.Errorf("step: token %d outside vocabulary of %d", ids[i], V)
		}
		if slot[i] < 0 || int(slot[i]) >= c.Slots || pos[i] < 0 || int(pos[i]) >= c.MaxLen {
			return nil, fmt.Errorf("step: slot %d position %d outside cache (%d×%d)", slot[i], pos[i], c.Slots, c.MaxLen)
		}
	}
	cos, sin := make([]T, n*hd), make([]T, n*hd)
	rows := [][]int32{pos}
	if dr, ok := m.Rope.(DecodeRotary); ok {
		rows = dr.DecodePositions(slot, pos)
	}
	m.Rope.CosSin(cos, sin, rows, n)
	x := make([]T, n*H)
	m.B.Embedding(x, m.P.Embed, ids, H)
	if err := inj.check(n, H); err != nil {
		return nil, fmt.Errorf("step: %w", err)
	}
	inj.apply(x, H)
	nb, rstd := make([]T, n*H), make([]T, n)
	q, k, v, att := make([]T, n*qd), make([]T, n*kd), make([]T, n*kd), make([]T, n*qd)
	gate, up := make([]T, n*I), make([]T, n*I)
	tmp := make([]T, n*H)
	for li := range m.P.Layers {
		w := &m.P.Layers[li]
		m.B.RMSNorm(nb, rstd, x, w.InNorm, n, H, cfg.RMSNormEps)
		m.B.Linear(q, nb, w.Wq, w.Bq, n, H, qd)
		m.B.Linear(k, nb, w.Wk, w.Bk, n, H, kd)
		m.B.Linear(v, nb, w.Wv, w.Bv, n, H, kd)
		m.B.RoPE(q, cos, sin, n, nh, hd)
		m.B.RoPE(k, cos, sin, n, nkv, hd)
		for i := 0; i < n; i++ {
			off := (int(slot[i])*c.MaxLen + int(pos[i])) * kd
			copy(c.k[li][off:off+kd], k[i*kd:(i+1)*kd])
			copy(c.v[li][off:off+kd], v[i*kd:(i+1)*kd])
		}
		m.B.AttentionCached(att, q, c.k[li], c.v[li], slot, pos, c.MaxLen, nh, nkv, hd)
		m.B.Linear(tmp, att, w.Wo, nil, n, qd, H)
		m.B.AddTo(x, tmp)
		m.B.RMSNorm(nb, rstd, x, w.PostNorm, n, H, cfg.RMSNormEps)
		m.B.Linear(gate, nb, w.Wg, nil, n, H, I)
		m.B.Linear(up, nb, w.Wu, nil, n, H, I)
		m.B.SwiGLU(gate, gate, up, n*I)
		m.B.Linear(tmp, gate, w.Wd, nil, n, I, H)
		m.B.AddTo(x, tmp)
	}
	sel := make([]T, len(outRows)*H)
	for j, r := range outRows {
		copy(sel[j*H:(j+1)*H], x[r*H:(r+1)*H])
	}
	ns, rs := make([]T, len(outRows)*H), make([]T, len(outRows))
	m.B.RMSNorm(ns, rs, sel, m.P.Norm, len(outRows), H, cfg.RMSNormEps)
	logits := make([]T, len(outRows)*V)
	m.B.Linear(logits, ns, m.P.LMHead, nil, len(outRows), H, V)
	return logits, nil
}

// SampleOptions controls sampling.
type SampleOptions struct {
	// Temperature divides the logits; 0 means greedy decoding.
	Temperature float64
	// TopP keeps the smallest set of tokens whose probability reaches TopP (0 or 1: off).
	TopP float64
	// TopK keeps the K most likely tokens (0: off).
	TopK int
	// MaxNewTokens bounds each completion.
	MaxNewTokens int
	// StopTokens end a completion; the stop token is kept as its last token.
	StopTokens []int32
	// Vocab, when positive and below the model's vocabulary, is the number of ids that may be
	// sampled: the logits of ids ≥ Vocab are masked to −inf before sampling (greedy, top-k and
	// top-p alike), as vLLM does for embedding rows past the tokenizer's tokens (Qwen2.5 has
	// 151 936 rows for 151 669 tokens). LogProbs still normalise over the whole vocabulary, as
	// the training pass does.
	Vocab int
	// Banned ids are never sampled (masked to −inf like the ids past Vocab): the vision
	// placeholders of a VL model (<|vision_start|>, <|image_pad|>, …), which in a completion
	// would announce an image that is not there.
	Banned []int32
}

// Completion is one sampled continuation.
type Completion struct {
	Tokens []int32
	// LogProbs[i] is log softmax(logits / T)[Tokens[i]] over the whole vocabulary (T = 1 when
	// greedy), the same quantity the training pass computes.
	LogProbs []float64
	// Stopped is true when the completion ended on a stop token (false: truncated).
	Stopped bool
}

// Generate samples one completion per prompt, all prompts decoded together in one batch with
// a KV cache.
func (m *Model[T]) Generate(ctx context.Context, prompts [][]int32, opt SampleOptions, rng *rand.Rand) ([]Completion, error) {
	return m.GenerateInject(ctx, prompts, nil, opt, rng)
}

// GenerateInject is Generate where injs[s] (nil or a nil entry: none) replaces embedding rows
// of prompt s (rows relative to the prompt) during the prefill.
func (m *Model[T]) GenerateInject(ctx context.Context, prompts [][]int32, injs []*Inject[T], opt SampleOptions, rng *rand.Rand) ([]Completion, error) {
	if opt.MaxNewTokens <= 0 {
		return nil, fmt.Errorf("generate: max new tokens must be positive")
	}
	maxLen := 0
	var ids, slot, pos []int32
	var last []int
	var pre *Inject[T]
	for s, p := range prompts {
		if len(p) == 0 {
			return nil, fmt.Errorf("generate: prompt %d is empty", s)
		}
		if s < len(injs) && injs[s] != nil {
			if err := injs[s].check(len(p), m.Cfg.HiddenSize); err != nil {
				return nil, fmt.Errorf("generate: prompt %d: %w", s, err)
			}
			if pre == nil {
				pre = &Inject[T]{}
			}
			for _, r := range injs[s].Rows {
				pre.Rows = append(pre.Rows, len(ids)+r)
			}
			pre.Feats = append(pre.Feats, injs[s].Feats...)
		}
		maxLen = max(maxLen, len(p)+opt.MaxNewTokens)
		for i, t := range p {
			ids, slot, pos = append(ids, t), append(slot, int32(s)), append(pos, int32(i))
		}
		last = append(last, len(ids)-1)
	}
	cache := m.NewKVCache(len(prompts), maxLen)
	out := make([]Completion, len(prompts))
	active := make([]int, len(prompts))
	for i := range active {
		active[i] = i
	}
	stop := map[int32]bool{}
	for _, t := range opt.StopTokens {
		stop[t] = true
	}
	s := newSampler(m.Cfg.VocabSize, opt)
	for step := 0; len(active) > 0; step++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		inj := pre
		if step > 0 {
			inj = nil
		}
		logits, err := m.StepInject(cache, ids, slot, pos, last, inj)
		if err != nil {
			return nil, fmt.Errorf("generate step %d: %w", step, err)
		}
		V := m.Cfg.VocabSize
		ids, slot, pos, last = ids[:0], slot[:0], pos[:0], last[:0]
		var still []int
		for j, sq := range active {
			tok, lp := sampleRow(s, logits[j*V:(j+1)*V], rng)
			c := &out[sq]
			c.Tokens = append(c.Tokens, tok)
			c.LogProbs = append(c.LogProbs, lp)
			if stop[tok] {
				c.Stopped = true
				continue
			}
			if len(c.Tokens) >= opt.MaxNewTokens {
				continue
			}
			still = append(still, sq)
			ids = append(ids, tok)
			slot = append(slot, int32(sq))
			pos = append(pos, int32(len(prompts[sq])+len(c.Tokens)-1))
			last = append(last, len(ids)-1)
		}
		active = still
	}
	return out, nil
}

type sampler struct {
	opt    SampleOptions
	probs  []float64
	idx    []int
	banned []bool // by id; nil when nothing is banned
}

func newSampler(vocab int, opt SampleOptions) *sampler {
	s := &sampler{opt: opt, probs: make([]float64, vocab), idx: make([]int, vocab)}
	for _, id := range opt.Banned {
		if id >= 0 && int(id) < vocab {
			if s.banned == nil {
				s.banned = make([]bool, vocab)
			}
			s.banned[id] = true
		}
	}
	return s
}

// sampleRow draws a token from one row of logits and returns it with its full-vocabulary
// log-probability at the sampling temperature.
func sampleRow[T Float](s *sampler, logits []T, rng *rand.Rand) (int32, float64) {
	temp := s.opt.Temperature
	greedy := temp <= 0
	if greedy {
		temp = 1
	}
	// Only the first n ids may be drawn: the rest are masked to −inf (probability 0).
	n := len(logits)
	if v := s.opt.Vocab; v > 0 && v < n {
		n = v
	}
	probs := s.probs[:n]
	ban := s.banned
	mx := math.Inf(-1)
	arg := 0
	for i, v := range logits[:n] {
		if ban != nil && ban[i] {
			continue
		}
		if z := float64(v) / temp; z > mx {
			mx, arg = z, i
		}
	}
	var sum float64
	for i, v := range logits[:n] {
		if ban != nil && ban[i] {
			probs[i] = 0
			continue
		}
		e := math.Exp(float64(v)/temp - mx)
		probs[i] = e
		sum += e
	}
	logZ := mx + math.Log(sum)
	if n < len(logits) || ban != nil {
		logZ = logSumExp(logits, temp) // the full vocabulary, as the training pass normalises
	}
	lp := func(i int) float64 { return float64(logits[i])/temp - logZ }
	if greedy {
		return int32(arg), lp(arg)
	}
	for i := range probs {
		probs[i] /= sum
	}
	k, p := s.opt.TopK, s.opt.TopP
	cand := s.idx[:0]
	if p > 0 && p < 1 && k <= 0 {
		// Only tokens at least as likely as some threshold can be in the nucleus: halve the
		// threshold until the tokens above it hold mass ≥ p, then sort just those.
		pmax := math.Exp(0) / sum // the most likely token's probability
		for th := pmax / 2; ; th /= 2 {
			cand = cand[:0]
			var mass float64
			for i, q := range probs {
				if q >= th {
					cand = append(cand, i)
					mass += q
				}
			}
			if mass >= p || th < 1e-300 {
				break
			}
		}
	} else {
		for i, q := range probs {
			if q > 0 || ban == nil || !ban[i] {
				cand = append(cand, i)
			}
		}
	}
	if (k > 0 && k < len(cand)) || (p > 0 && p < 1) {
		sort.Slice(cand, func(a, b int) bool {
			pa, pb := probs[cand[a]], probs[cand[b]]
			return pa > pb || (pa == pb && cand[a] < cand[b])
		})
		if k > 0 && k < len(cand) {
			cand = cand[:k]
		}
		if p > 0 && p < 1 {
			// Keep the smallest prefix whose mass reaches p (at least one token), as the
			// Hugging Face top-p warper does (it removes tokens whose preceding mass ≥ p).
			tot := 1.0 // mass of the distribution top-p sees: all tokens, or the top k
			if k > 0 {
				tot = 0
				for _, c := range cand {
					tot += probs[c]
				}
			}
			var acc float64
			for j, c := range cand {
				acc += probs[c] / tot
				if acc >= p {
					cand = cand[:j+1]
					break
				}
			}
		}
	}
	var mass float64
	for _, c := range cand {
		mass += probs[c]
	}
	u := rng.Float64() * mass
	choice := cand[len(cand)-1]
	for _, c := range cand {
		u -= probs[c]
		if u < 0 {
			choice = c
			break
		}
	}
	return int32(choice), lp(choice)
}

// logSumExp is log Σ exp(logits[i]/temp) over the whole row.
func logSumExp[T Float](logits []T, temp float64) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v)/temp)
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v)/temp - mx)
	}
	return mx + math.Log(sum)
}

// IsStop reports whether tok is one of the stop tokens.
func (o SampleOptions) IsStop(tok int32) bool { return slices.Contains(o.StopTokens, tok) }
