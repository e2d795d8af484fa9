package model

import (
	"context"
	"math/rand/v2"
	"testing"
)

// benchConfig is a small Qwen2-shaped decoder (≈ 9.7 M parameters): hidden 256, 4 layers,
// 8 heads / 2 KV heads of 32, SwiGLU 704, vocabulary 8192, tied embeddings.
func benchConfig() Config {
	return Config{HiddenSize: 256, IntermediateSize: 704, NumHiddenLayers: 4, NumAttentionHeads: 8, NumKeyValueHeads: 2,
		VocabSize: 8192, RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true}
}

func benchModel() *Model[float32] {
	p := NewParams[float32](benchConfig())
	p.InitRandom(rand.New(rand.NewPCG(1, 1)))
	return New(p, NewCPU[float32]())
}

// BenchmarkForwardBackward: 2 sequences × 128 tokens, forward + log-probs + backward.
func BenchmarkForwardBackward(b *testing.B) {
	m := benchModel()
	rng := rand.New(rand.NewPCG(2, 2))
	var seqs [][]int32
	for range 2 {
		s := make([]int32, 128)
		for i := range s {
			s[i] = int32(rng.IntN(m.Cfg.VocabSize))
		}
		seqs = append(seqs, s)
	}
	batch := NewBatch(seqs)
	targets := make([]int32, len(batch.IDs))
	dl := make([]float32, len(targets))
	for i := range targets {
		targets[i] = int32(rng.IntN(m.Cfg.VocabSize))
		dl[i] = -1 / float32(len(targets))
	}
	g := m.P.ZerosLike()
	b.ResetTimer()
	for range b.N {
		a, err := m.Forward(batch)
		if err != nil {
			b.Fatal(err)
		}
		m.LogProbs(a, targets, 1)
		g.Zero()
		m.BackwardLogProbs(a, targets, dl, 1, g)
	}
	b.ReportMetric(float64(len(batch.IDs)*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkGenerate: 8 prompts of 16 tokens, 32 new tokens each, KV cache, T = 1, top-p 0.9.
func BenchmarkGenerate(b *testing.B) {
	m := benchModel()
	rng := rand.New(rand.NewPCG(3, 3))
	var prompts [][]int32
	for range 8 {
		s := make([]int32, 16)
		for i := range s {
			s[i] = int32(rng.IntN(m.Cfg.VocabSize))
		}
		prompts = append(prompts, s)
	}
	b.ResetTimer()
	n := 0
	for range b.N {
		out, err := m.Generate(context.Background(), prompts, SampleOptions{Temperature: 1, TopP: 0.9, MaxNewTokens: 32}, rng)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range out {
			n += len(c.Tokens)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "new-tokens/s")
}
