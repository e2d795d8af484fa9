package model

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func smallModel(t testing.TB, seed uint64, workers int) *Model[float32] {
	cfg := Config{HiddenSize: 32, IntermediateSize: 48, NumHiddenLayers: 2, NumAttentionHeads: 4, NumKeyValueHeads: 2,
		VocabSize: 40, RMSNormEps: 1e-6, RopeTheta: 10000, TieWordEmbeddings: true, InitializerRange: 0.2}
	p := NewParams[float32](cfg)
	p.InitRandom(rand.New(rand.NewPCG(seed, 1)))
	return New[float32](p, &CPU[float32]{Workers: workers})
}

// The KV-cache path (prefill, then one token at a time) gives the logits of the full forward.
func TestKVCacheMatchesForward(t *testing.T) {
	m := smallModel(t, 7, 2)
	seqs := [][]int32{{1, 2, 3, 4, 5, 6, 7, 8, 9}, {30, 31, 5}, {0, 39, 12, 12, 12, 4}}
	a, err := m.Forward(NewBatch(seqs))
	if err != nil {
		t.Fatal(err)
	}
	V := m.Cfg.VocabSize
	c := m.NewKVCache(len(seqs), 16)
	// Prefill the first two tokens of every sequence at once, then feed one token per step.
	var ids, slot, pos []int32
	var rows []int
	for s, sq := range seqs {
		for i := 0; i < 2; i++ {
			ids, slot, pos = append(ids, sq[i]), append(slot, int32(s)), append(pos, int32(i))
			rows = append(rows, len(ids)-1)
		}
	}
	check := func(lg []float32, s, p int) {
		off := 0
		for b := 0; b < s; b++ {
			off += len(seqs[b])
		}
		want := a.Logits[(off+p)*V : (off+p+1)*V]
		for i := range want {
			if d := math.Abs(float64(lg[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("seq %d pos %d logit %d: cached %g, forward %g", s, p, i, lg[i], want[i])
			}
		}
	}
	lg, err := m.Step(c, ids, slot, pos, rows)
	if err != nil {
		t.Fatal(err)
	}
	for j := range rows {
		check(lg[j*V:(j+1)*V], j/2, j%2)
	}
	for p := 2; ; p++ {
		ids, slot, pos, rows = ids[:0], slot[:0], pos[:0], rows[:0]
		var who []int
		for s, sq := range seqs {
			if p < len(sq) {
				ids, slot, pos = append(ids, sq[p]), append(slot, int32(s)), append(pos, int32(p))
				rows = append(rows, len(ids)-1)
				who = append(who, s)
			}
		}
		if len(ids) == 0 {
			break
		}
		lg, err := m.Step(c, ids, slot, pos, rows)
		if err != nil {
			t.Fatal(err)
		}
		for j, s := range who {
			check(lg[j*V:(j+1)*V], s, p)
		}
	}
}

// Parallel and serial CPU backends agree (the work split does not change results beyond
// float reassociation, which these ops avoid: each output is computed by one goroutine).
func TestWorkersAgree(t *testing.T) {
	seqs := [][]int32{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, {3, 4, 5, 6, 7, 8, 9, 10}}
	var got [][]float32
	for _, w := range []int{1, 3} {
		m := smallModel(t, 9, w)
		a, err := m.Forward(NewBatch(seqs))
		if err != nil {
			t.Fatal(err)
		}
		tg := make([]int32, len(a.batch.IDs))
		for i := range tg {
			tg[i] = int32(i % 40)
		}
		g := m.P.ZerosLike()
		dl := make([]float32, len(tg))
		for i := range dl {
			dl[i] = 1
		}
		m.BackwardLogProbs(a, tg, dl, 1, g)
		got = append(got, append(append([]float32(nil), a.Logits...), g.Data...))
	}
	for i := range got[0] {
		if got[0][i] != got[1][i] {
			t.Fatalf("value %d: 1 worker %g, 3 workers %g", i, got[0][i], got[1][i])
		}
	}
}

func TestGenerate(t *testing.T) {
	m := smallModel(t, 11, 2)
	ctx := context.Background()
	prompts := [][]int32{{1, 2, 3}, {4, 5}, {6}}
	greedy, err := m.Generate(ctx, prompts, SampleOptions{MaxNewTokens: 6}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// top-k 1 sampling is greedy decoding.
	k1, _ := m.Generate(ctx, prompts, SampleOptions{Temperature: 1.3, TopK: 1, MaxNewTokens: 6}, rand.New(rand.NewPCG(2, 2)))
	for i := range greedy {
		if len(greedy[i].Tokens) != 6 || greedy[i].Stopped {
			t.Fatalf("greedy %d: %v", i, greedy[i])
		}
		for j := range greedy[i].Tokens {
			if greedy[i].Tokens[j] != k1[i].Tokens[j] {
				t.Fatalf("top-k 1 differs from greedy: %v vs %v", k1[i].Tokens, greedy[i].Tokens)
			}
		}
	}
	// Stop tokens end a completion and are kept.
	stopTok := greedy[0].Tokens[2]
	st, _ := m.Generate(ctx, prompts[:1], SampleOptions{MaxNewTokens: 6, StopTokens: []int32{stopTok}}, rand.New(rand.NewPCG(1, 1)))
	if !st[0].Stopped || st[0].Tokens[len(st[0].Tokens)-1] != stopTok || len(st[0].Tokens) > 3 {
		t.Errorf("stop: %+v", st[0])
	}
	// Sampled log-probs equal the training pass's log-probs at the same temperature.
	const temp = 0.7
	smp, _ := m.Generate(ctx, prompts, SampleOptions{Temperature: temp, TopP: 0.9, MaxNewTokens: 5}, rand.New(rand.NewPCG(3, 3)))
	var seqs [][]int32
	var tg []int32
	for i, c := range smp {
		s := append(append([]int32(nil), prompts[i]...), c.Tokens...)
		seqs = append(seqs, s[:len(s)-1])
		for j := 0; j < len(s)-1; j++ {
			if j+1 >= len(prompts[i]) {
				tg = append(tg, s[j+1])
			} else {
				tg = append(tg, -1)
			}
		}
	}
	a, _ := m.Forward(NewBatch(seqs))
	lp, _ := m.LogProbs(a, tg, temp)
	k := 0
	for i, c := range smp {
		k += len(prompts[i]) - 1
		for j := range c.Tokens {
			if d := math.Abs(float64(lp[k]) - c.LogProbs[j]); d > 1e-4 {
				t.Errorf("seq %d token %d: sampled logp %g, forward %g", i, j, c.LogProbs[j], lp[k])
			}
			k++
		}
	}
}

// The sampler's frequencies follow the truncated, renormalised distribution.
func TestSamplerDistribution(t *testing.T) {
	logits := []float32{2, 1, 0.5, 0, -1, -3}
	probs := make([]float64, len(logits))
	var z float64
	for i, v := range logits {
		probs[i] = math.Exp(float64(v))
		z += probs[i]
	}
	for i := range probs {
		probs[i] /= z
	}
	cases := []struct {
		name string
		opt  SampleOptions
		keep int // tokens kept (they are in descending order already)
	}{
		{"full", SampleOptions{Temperature: 1}, 6},
		{"top-k 3", SampleOptions{Temperature: 1, TopK: 3}, 3},
		{"top-p 0.8", SampleOptions{Temperature: 1, TopP: 0.8}, 3}, // cumulative 0.561, 0.767, 0.892: the third token crosses 0.8
		{"top-p 0.5", SampleOptions{Temperature: 1, TopP: 0.5}, 1},
		{"top-k 4 + top-p 0.9", SampleOptions{Temperature: 1, TopK: 4, TopP: 0.9}, 3}, // renormalised over 4: 0.579, 0.792, 0.922
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, c := range cases {
		s := newSampler(len(logits), c.opt)
		counts := make([]int, len(logits))
		const n = 20000
		for range n {
			tok, _ := sampleRow(s, logits, rng)
			counts[tok]++
		}
		var mass float64
		for i := 0; i < c.keep; i++ {
			mass += probs[i]
		}
		for i := range logits {
			want := 0.0
			if i < c.keep {
				want = probs[i] / mass
			}
			got := float64(counts[i]) / n
			if math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/n)+1e-9 {
				t.Errorf("%s: token %d frequency %.4f, want %.4f", c.name, i, got, want)
			}
		}
	}
}

// shiftedRoPE is a test Rotary that offsets positions, in forward (Batch.Pos) and in decoding
// (DecodePositions), the way M-RoPE's rope_delta does.
type shiftedRoPE struct {
	TextRoPE[float32]
	delta int32
}

func (r shiftedRoPE) DecodePositions(slot, pos []int32) [][]int32 {
	out := make([]int32, len(pos))
	for i, p := range pos {
		out[i] = p + r.delta
	}
	return [][]int32{out}
}

// A pluggable position encoder is used consistently by the full forward and the KV cache.
func TestPluggablePositions(t *testing.T) {
	m := smallModel(t, 13, 2)
	m.Rope = shiftedRoPE{TextRoPE[float32]{Theta: m.Cfg.RopeTheta, HeadDim: m.Cfg.HeadDimension()}, 7}
	seq := []int32{3, 1, 4, 1, 5, 9}
	b := NewBatch([][]int32{seq})
	b.Pos = [][]int32{{7, 8, 9, 10, 11, 12}}
	a, err := m.Forward(b)
	if err != nil {
		t.Fatal(err)
	}
	c := m.NewKVCache(1, 8)
	V := m.Cfg.VocabSize
	for p := range seq {
		lg, err := m.Step(c, seq[p:p+1], []int32{0}, []int32{int32(p)}, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < V; i++ {
			if d := math.Abs(float64(lg[i] - a.Logits[p*V+i])); d > 1e-5*(1+math.Abs(float64(lg[i]))) {
				t.Fatalf("position %d logit %d: cached %g, forward %g", p, i, lg[i], a.Logits[p*V+i])
			}
		}
	}
	// And the shift matters: plain positions give different logits.
	plain, _ := smallModel(t, 13, 2).Forward(NewBatch([][]int32{seq}))
	same := true
	for i := V; i < len(plain.Logits); i++ {
		same = same && plain.Logits[i] == a.Logits[i]
	}
	if same {
		t.Error("position offset had no effect")
	}
}

// SampleOptions.Vocab masks the ids past it: greedy, top-k and top-p never draw them, the
// frequencies follow the distribution over the remaining ids, and the log-probs stay those of
// the whole vocabulary (the training pass's).
func TestSamplerVocabMask(t *testing.T) {
	// The masked ids 3 and 4 hold almost all the mass.
	logits := []float32{1, 0, 0.5, 9, 8}
	const vocab = 3
	var zAll, zKept float64
	for i, v := range logits {
		zAll += math.Exp(float64(v))
		if i < vocab {
			zKept += math.Exp(float64(v))
		}
	}
	kept := []float64{math.Exp(1) / zKept, math.Exp(0) / zKept, math.Exp(0.5) / zKept} // 0.506, 0.186, 0.307
	cases := []struct {
		name string
		opt  SampleOptions
		want []float64 // frequencies of ids 0, 1, 2
	}{
		{"greedy", SampleOptions{Vocab: vocab}, []float64{1, 0, 0}},
		{"full", SampleOptions{Temperature: 1, Vocab: vocab}, kept},
		{"top-k 2", SampleOptions{Temperature: 1, TopK: 2, Vocab: vocab}, []float64{kept[0] / (kept[0] + kept[2]), 0, kept[2] / (kept[0] + kept[2])}},
		{"top-k 4", SampleOptions{Temperature: 1, TopK: 4, Vocab: vocab}, kept},
		{"top-p 0.5", SampleOptions{Temperature: 1, TopP: 0.5, Vocab: vocab}, []float64{1, 0, 0}},
		{"top-p 0.7", SampleOptions{Temperature: 1, TopP: 0.7, Vocab: vocab}, []float64{kept[0] / (kept[0] + kept[2]), 0, kept[2] / (kept[0] + kept[2])}},
		{"vocab ≥ row: no mask", SampleOptions{Vocab: len(logits)}, []float64{0, 0, 0}}, // greedy picks id 3
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, c := range cases {
		s := newSampler(len(logits), c.opt)
		counts := make([]int, len(logits))
		const n = 20000
		for range n {
			tok, lp := sampleRow(s, logits, rng)
			counts[tok]++
			if want := float64(logits[tok]) - math.Log(zAll); math.Abs(lp-want) > 1e-9 {
				t.Fatalf("%s: token %d log-prob %g, want the full-vocabulary %g", c.name, tok, lp, want)
			}
		}
		for i, want := range c.want {
			got := float64(counts[i]) / n
			if math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/n)+1e-9 {
				t.Errorf("%s: token %d frequency %.4f, want %.4f", c.name, i, got, want)
			}
		}
		if c.opt.Vocab < len(logits) && counts[3]+counts[4] > 0 {
			t.Errorf("%s: masked ids drawn %d and %d times", c.name, counts[3], counts[4])
		}
	}
}

// TestSamplerBanned: banned ids (a VL model's image tokens) are never drawn, in every sampling
// mode, even when they hold most of the mass; the others keep their relative frequencies and
// log-probabilities stay those of the full vocabulary.
func TestSamplerBanned(t *testing.T) {
	logits := []float32{1, 9, 0, 0.5, 8} // ids 1 and 4 banned
	banned := []int32{1, 4}
	var zAll, zKept float64
	for i, v := range logits {
		zAll += math.Exp(float64(v))
		if i != 1 && i != 4 {
			zKept += math.Exp(float64(v))
		}
	}
	kept := []float64{math.Exp(1) / zKept, 0, math.Exp(0) / zKept, math.Exp(0.5) / zKept, 0}
	for _, c := range []struct {
		name string
		opt  SampleOptions
		want []float64
	}{
		{"greedy", SampleOptions{Banned: banned}, []float64{1, 0, 0, 0, 0}},
		{"full", SampleOptions{Temperature: 1, Banned: banned}, kept},
		{"top-k 2", SampleOptions{Temperature: 1, TopK: 2, Banned: banned}, []float64{kept[0] / (kept[0] + kept[3]), 0, 0, kept[3] / (kept[0] + kept[3]), 0}},
		{"top-p 0.5", SampleOptions{Temperature: 1, TopP: 0.5, Banned: banned}, []float64{1, 0, 0, 0, 0}},
		{"with vocab", SampleOptions{Temperature: 1, Vocab: 4, Banned: banned}, []float64{kept[0] / (1 - kept[4]), 0, kept[2] / (1 - kept[4]), kept[3] / (1 - kept[4]), 0}},
	} {
		s := newSampler(len(logits), c.opt)
		rng := rand.New(rand.NewPCG(3, 9))
		counts := make([]int, len(logits))
		const n = 20000
		for range n {
			tok, lp := sampleRow(s, logits, rng)
			counts[tok]++
			if want := float64(logits[tok]) - math.Log(zAll); math.Abs(lp-want) > 1e-9 {
				t.Fatalf("%s: token %d log-prob %g, want %g", c.name, tok, lp, want)
			}
		}
		if counts[1]+counts[4] > 0 {
			t.Errorf("%s: banned ids drawn %d and %d times", c.name, counts[1], counts[4])
		}
		for i, want := range c.want {
			got := float64(counts[i]) / n
			if math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/n)+1e-9 {
				t.Errorf("%s: token %d frequency %.4f, want %.4f", c.name, i, got, want)
			}
		}
	}
}
