package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/trainer/grpo"
	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
	"github.com/eosinlab/eosin/trainer/vision"
)

// Config is the YAML configuration of a training run (grpo.yaml).
type Config struct {
	// Model names the initial weights: a Hugging Face checkpoint directory (config.json +
	// safetensors) or, with init, a freshly initialised decoder of that config.
	Model ModelConfig `yaml:"model"`
	// Tokenizer is a tokenizer.json path (default: <model.path>/tokenizer.json).
	Tokenizer string `yaml:"tokenizer"`
	// System is the chat system prompt ("" omits it); Template formats the user turn.
	System   string `yaml:"system"`
	Template string `yaml:"template"`
	// Data is where tasks come from.
	Data DataConfig `yaml:"data"`
	// Reward composes the reward (package reward: preset and/or terms).
	Reward reward.Config `yaml:"reward"`
	GRPO   GRPOConfig    `yaml:"grpo"`
	Optim  OptimConfig   `yaml:"optim"`
	// Steps is the number of rollout steps to run.
	Steps int    `yaml:"steps"`
	Seed  uint64 `yaml:"seed"`
	// Out is the run directory: log.jsonl, checkpoints/step-N, final/.
	Out string `yaml:"out"`
	// SaveEvery writes a checkpoint every N steps (0: only at the end).
	SaveEvery int `yaml:"save_every"`
	// ExportDType is the dtype of the exported final model (F32, BF16, F16; any case).
	ExportDType string `yaml:"export_dtype"`
	// Precision is fp32 (default) or bf16: bf16 mixed precision as on a GPU (bf16 weights
	// and activations, float32 master weights, optimizer state and accumulation).
	Precision string `yaml:"precision"`
	// Workers bounds CPU parallelism (0: all cores).
	Workers int `yaml:"workers"`
	// Vision configures Qwen2-VL / Qwen2.5-VL training (VLMTrainer).
	Vision VisionConfig `yaml:"vision"`
}

// VisionConfig holds the multimodal settings.
type VisionConfig struct {
	// Train updates the vision tower too (false: frozen, only the decoder learns).
	Train bool `yaml:"train"`
	// MinPixels and MaxPixels bound the resized images (0: the checkpoint's
	// preprocessor_config.json, else the published 3136 and 12 845 056; Med-R1 uses max
	// 401 408).
	MinPixels int `yaml:"min_pixels"`
	MaxPixels int `yaml:"max_pixels"`
}

// Processor is base with the pixel bounds set here overriding its own.
func (v VisionConfig) Processor(base vision.Processor) vision.Processor {
	if v.MinPixels > 0 {
		base.MinPixels = v.MinPixels
	}
	if v.MaxPixels > 0 {
		base.MaxPixels = v.MaxPixels
	}
	return base
}

// ModelConfig selects the initial model.
type ModelConfig struct {
	Path string `yaml:"path"`
	// Init is a config.json object for a randomly initialised model (used when Path is empty).
	Init map[string]any `yaml:"init"`
}

// DataConfig selects the tasks.
type DataConfig struct {
	// JSONL is a file of shards.Sample records.
	JSONL string `yaml:"jsonl"`
	// Dataset is a dataset prefix (directory or s3://bucket/prefix) written by eosin; the newest
	// committed version is used.
	Dataset string `yaml:"dataset"`
}

// GRPOConfig holds the rollout and loss settings (grpo.md).
type GRPOConfig struct {
	GroupSize      int     `yaml:"group_size"`
	PromptsPerStep int     `yaml:"prompts_per_step"`
	Temperature    float64 `yaml:"temperature"`
	TopP           float64 `yaml:"top_p"`
	TopK           int     `yaml:"top_k"`
	MaxNewTokens   int     `yaml:"max_new_tokens"`
	// UpdatesPerBatch is μ, passes over each rollout batch; MiniBatches splits each pass.
	UpdatesPerBatch int     `yaml:"updates_per_batch"`
	MiniBatches     int     `yaml:"mini_batches"`
	ClipLow         float64 `yaml:"clip_low"`
	ClipHigh        float64 `yaml:"clip_high"`
	DualClip        float64 `yaml:"dual_clip"`
	ClampLogRatio   *bool   `yaml:"clamp_log_ratio"`
	KLCoef          float64 `yaml:"kl_coef"`
	KLClamp         *bool   `yaml:"kl_clamp"`
	// Agg: token-mean | seq-mean-token-mean | seq-mean-token-sum | dr-grpo.
	Agg       string `yaml:"loss_agg"`
	DrGRPOLen int    `yaml:"dr_grpo_max_len"`
	// AdvScale: group | batch | none (Dr.GRPO); AdvEps is the std epsilon.
	AdvScale string  `yaml:"adv_scale"`
	AdvEps   float64 `yaml:"adv_eps"`
	// DynamicSampling drops groups whose DynamicMetric (a reward component, or "overall") is
	// all-equal and generates more, at most MaxGenBatches batches per step (≤ 0: unlimited).
	DynamicSampling bool   `yaml:"dynamic_sampling"`
	DynamicMetric   string `yaml:"dynamic_metric"`
	MaxGenBatches   int    `yaml:"max_gen_batches"`
	// MaskTruncated excludes completions without a stop token from the loss (overlong filtering).
	MaskTruncated bool `yaml:"mask_truncated"`
}

// OptimConfig is AdamW with clipping and warmup + cosine.
type OptimConfig struct {
	LR          float64 `yaml:"lr"`
	Beta1       float64 `yaml:"beta1"`
	Beta2       float64 `yaml:"beta2"`
	Eps         float64 `yaml:"eps"`
	WeightDecay float64 `yaml:"weight_decay"`
	MaxGradNorm float64 `yaml:"max_grad_norm"`
	WarmupSteps int     `yaml:"warmup_steps"`
	// TotalSteps of the cosine (optimizer steps; 0: steps × updates_per_batch × mini_batches).
	TotalSteps int     `yaml:"total_steps"`
	MinLRRatio float64 `yaml:"min_lr_ratio"`
}

// DefaultConfig returns the defaults: DAPO-style clip-higher (0.2/0.28), token-mean, no KL,
// G = 8, T = 1, lr 1e-6, weight decay 0.01, grad norm 1.
func DefaultConfig() Config {
	t := true
	return Config{
		Steps: 100, Seed: 1, Out: "runs/grpo", ExportDType: "BF16", Precision: "fp32",
		Reward: reward.Config{Preset: "r1v"},
		GRPO: GRPOConfig{GroupSize: 8, PromptsPerStep: 8, Temperature: 1, TopP: 1, MaxNewTokens: 256,
			UpdatesPerBatch: 1, MiniBatches: 1, ClipLow: 0.2, ClipHigh: 0.28, ClampLogRatio: &t, KLClamp: &t,
			Agg: string(grpo.TokenMean), AdvScale: string(grpo.ScaleGroup), AdvEps: 1e-6,
			DynamicMetric: "accuracy", MaxGenBatches: 10},
		Optim: OptimConfig{LR: 1e-6, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, MaxGradNorm: 1},
	}
}

// LoadConfig reads a YAML file over the defaults; unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if err := ParseConfigYAML(b, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfigYAML decodes YAML into c (strict: unknown keys are errors).
func ParseConfigYAML(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytesReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return c.Validate()
}

// LossConfig converts the GRPO settings to the loss configuration.
func (g *GRPOConfig) LossConfig() grpo.LossConfig {
	return grpo.LossConfig{ClipLow: g.ClipLow, ClipHigh: g.ClipHigh, DualClip: g.DualClip,
		ClampLogRatio: g.ClampLogRatio == nil || *g.ClampLogRatio, KLCoef: g.KLCoef,
		KLClamp: g.KLClamp == nil || *g.KLClamp, Agg: grpo.Agg(g.Agg), MaxLen: g.DrGRPOLen}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	g := &c.GRPO
	lc := g.LossConfig()
	if err := lc.Validate(); err != nil {
		return err
	}
	switch {
	case g.GroupSize < 1 || g.PromptsPerStep < 1 || g.MaxNewTokens < 1:
		return fmt.Errorf("grpo: group_size, prompts_per_step and max_new_tokens must be positive")
	case g.UpdatesPerBatch < 1 || g.MiniBatches < 1:
		return fmt.Errorf("grpo: updates_per_batch and mini_batches must be positive")
	case g.MiniBatches > g.GroupSize*g.PromptsPerStep:
		return fmt.Errorf("grpo: %d mini-batches for %d completions", g.MiniBatches, g.GroupSize*g.PromptsPerStep)
	case g.Temperature < 0 || g.TopP < 0 || g.TopP > 1 || g.TopK < 0:
		return fmt.Errorf("grpo: temperature ≥ 0, top_p in [0, 1], top_k ≥ 0")
	case g.AdvScale != "group" && g.AdvScale != "batch" && g.AdvScale != "none":
		return fmt.Errorf("grpo: adv_scale %q (group, batch, none)", g.AdvScale)
	case c.Optim.LR <= 0 || c.Optim.Beta1 < 0 || c.Optim.Beta1 >= 1 || c.Optim.Beta2 < 0 || c.Optim.Beta2 >= 1:
		return fmt.Errorf("optim: lr > 0 and betas in [0, 1)")
	case c.Steps < 0:
		return fmt.Errorf("steps must be ≥ 0")
	}
	switch strings.ToLower(c.Precision) {
	case "", "fp32", "float32", "bf16":
	default:
		return fmt.Errorf("precision %q (fp32, bf16)", c.Precision)
	}
	switch strings.ToUpper(c.ExportDType) {
	case "", "F32", "BF16", "F16":
	default:
		return fmt.Errorf("export_dtype %q (F32, BF16, F16)", c.ExportDType)
	}
	return nil
}

// precision names the configured precision: fp32 or bf16.
func (c *Config) precision() string {
	if c.mixed() {
		return "bf16"
	}
	return "fp32"
}

// exportDType is the safetensors dtype of the final export (F32 when unset).
func (c *Config) exportDType() safetensors.DType {
	if c.ExportDType == "" {
		return safetensors.F32
	}
	return safetensors.DType(strings.ToUpper(c.ExportDType))
}

// InitModelConfig turns model.init into a decoder config.
func (m *ModelConfig) InitModelConfig() (*model.Config, error) {
	b, err := json.Marshal(m.Init)
	if err != nil {
		return nil, fmt.Errorf("model.init: %w", err)
	}
	return model.ParseConfig(b)
}
