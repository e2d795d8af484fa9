package trainer_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/eosinlab/eosin/trainer"
	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/vision"
)

// recordingPolicy remembers every token a policy generates.
type recordingPolicy struct {
	trainer.Policy
	tokens []int32
}

func (r *recordingPolicy) Generate(ctx context.Context, prompts []trainer.Prompt, opt model.SampleOptions, rng *rand.Rand) ([]model.Completion, error) {
	cs, err := r.Policy.Generate(ctx, prompts, opt, rng)
	for _, c := range cs {
		r.tokens = append(r.tokens, c.Tokens...)
	}
	return cs, err
}

// recordingImagePolicy is a recordingPolicy of an ImagePolicy.
type recordingImagePolicy struct {
	*recordingPolicy
	img trainer.ImagePolicy
}

func (r recordingImagePolicy) ImageProcessor() vision.Processor { return r.img.ImageProcessor() }

func (r recordingImagePolicy) VisionTokens() []int32 { return r.img.VisionTokens() }

// TestSamplingStaysInTokenizerVocab: a model whose embedding has more rows than the tokenizer
// has tokens (as Qwen2.5's 151 936 rows for 151 669 tokens) never samples the extra ids, text
// and VL policies alike: with 22 rows for 10 tokens an unmasked sampler draws one of the 12
// extra ids at almost every token, and decoding it fails. A VL policy never samples its image
// tokens either.
func TestSamplingStaysInTokenizerVocab(t *testing.T) {
	const rows = 22
	cases := []struct {
		name   string
		policy func() trainer.Policy
	}{
		{"text", func() trainer.Policy {
			dc := model.Config{HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2, NumKeyValueHeads: 1,
				VocabSize: rows, RMSNormEps: 1e-6, RopeTheta: 100, InitializerRange: 0.5}
			p := model.NewParams[float32](dc)
			p.InitRandom(rand.New(rand.NewPCG(3, 3)))
			return &recordingPolicy{Policy: trainer.NewTextPolicy(p, &model.CPU[float32]{Workers: 2}, false, false)}
		}},
		{"vlm", func() trainer.Policy {
			vp := trainer.NewVLMPolicy(tinyVLMVocab(t, 1, rows), vision.PublishedProcessor(), false, false, false, 2)
			return recordingImagePolicy{&recordingPolicy{Policy: vp}, vp}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(4, 4))
			var tasks []trainer.Task
			for i := range 4 {
				tasks = append(tasks, redSquareTask(rng, i, i%2 == 1))
			}
			cfg := trainer.DefaultConfig()
			cfg.Steps, cfg.GRPO.GroupSize, cfg.GRPO.PromptsPerStep, cfg.GRPO.MaxNewTokens = 3, 4, 2, 3
			cfg.GRPO.Temperature, cfg.Optim.LR = 1, 1e-2
			p := c.policy()
			tr, err := trainer.NewTrainer(cfg, figCodec{}, exactLetter{}, tasks, p)
			if err != nil {
				t.Fatal(err)
			}
			for range cfg.Steps {
				if _, err := tr.Step(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			var rec *recordingPolicy
			switch r := p.(type) {
			case *recordingPolicy:
				rec = r
			case recordingImagePolicy:
				rec = r.recordingPolicy
			}
			if len(rec.tokens) < cfg.Steps*cfg.GRPO.GroupSize*cfg.GRPO.PromptsPerStep {
				t.Fatalf("%d tokens generated", len(rec.tokens))
			}
			var vision []int32
			if ip, ok := p.(trainer.ImagePolicy); ok {
				vision = ip.VisionTokens()
			}
			for _, tok := range rec.tokens {
				if int(tok) >= len(figVocab) {
					t.Fatalf("sampled id %d, the tokenizer has %d", tok, len(figVocab))
				}
				if slices.Contains(vision, tok) {
					t.Fatalf("sampled the image token %d (%s)", tok, figVocab[tok])
				}
			}
		})
	}
}
