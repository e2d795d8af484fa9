package trainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
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
	Out string `yaml:"output"`
	// SaveEvery writes a checkpoint every N steps (0: only at the end).
	SaveEvery int `yaml:"save-every"`
	// ExportDType is the dtype of the exported final model (F32, BF16, F16; any case).
	ExportDType string `yaml:"export-dtype"`
	// Precision is fp32 (default) or bf16: bf16 mixed precision as on a GPU (bf16 weights
	// and activations, float32 master weights, optimizer state and accumulation).
	Precision string `yaml:"precision"`
	// Workers bounds CPU parallelism (0: all cores).
	Workers int `yaml:"jobs"`
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
	MinPixels int `yaml:"min-pixels"`
	MaxPixels int `yaml:"max-pixels"`
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
	GroupSize      int     `yaml:"group-size"`
	PromptsPerStep int     `yaml:"prompts-per-step"`
	Temperature    float64 `yaml:"temperature"`
	TopP           float64 `yaml:"top-p"`
	TopK           int     `yaml:"top-k"`
	MaxNewTokens   int     `yaml:"max-new-tokens"`
	// UpdatesPerBatch is μ, passes over each rollout batch; MiniBatches splits each pass.
	UpdatesPerBatch int     `yaml:"updates-per-batch"`
	MiniBatches     int     `yaml:"mini-batches"`
	ClipLow         float64 `yaml:"clip-low"`
	ClipHigh        float64 `yaml:"clip-high"`
	DualClip        float64 `yaml:"dual-clip"`
	ClampLogRatio   *bool   `yaml:"clamp-log-ratio"`
	KLCoef          float64 `yaml:"kl-coef"`
	KLClamp         *bool   `yaml:"kl-clamp"`
	// Agg: token-mean | seq-mean-token-mean | seq-mean-token-sum | dr-grpo.
	Agg       string `yaml:"loss-agg"`
	DrGRPOLen int    `yaml:"dr-grpo-max-len"`
	// AdvScale: group | batch | none (Dr.GRPO); AdvEps is the std epsilon.
	AdvScale string  `yaml:"adv-scale"`
	AdvEps   float64 `yaml:"adv-eps"`
	// DynamicSampling drops groups whose DynamicMetric (a reward component, or "overall") is
	// all-equal and generates more, at most MaxGenBatches batches per step (≤ 0: unlimited).
	DynamicSampling bool   `yaml:"dynamic-sampling"`
	DynamicMetric   string `yaml:"dynamic-metric"`
	MaxGenBatches   int    `yaml:"max-gen-batches"`
	// MaskTruncated excludes completions without a stop token from the loss (overlong filtering).
	MaskTruncated bool `yaml:"mask-truncated"`
}

// OptimConfig is AdamW with clipping and warmup + cosine.
type OptimConfig struct {
	LR          float64 `yaml:"lr"`
	Beta1       float64 `yaml:"beta1"`
	Beta2       float64 `yaml:"beta2"`
	Eps         float64 `yaml:"eps"`
	WeightDecay float64 `yaml:"weight-decay"`
	MaxGradNorm float64 `yaml:"max-grad-norm"`
	WarmupSteps int     `yaml:"warmup-steps"`
	// TotalSteps of the cosine (optimizer steps; 0: steps × updates_per_batch × mini_batches).
	TotalSteps int     `yaml:"total-steps"`
	MinLRRatio float64 `yaml:"min-lr-ratio"`
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

// LoadConfig reads a YAML file over the defaults; unknown keys are errors. The keys are
// kebab-case, as the flags of `eosin train` (group-size, save-every, export-dtype); the
// snake_case spellings of earlier releases (group_size) and the old top-level out and workers
// are accepted with a deprecation warning (slog.Warn).
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	warn := func(old, key string) {
		slog.Warn("config key is deprecated", "config", path, "key", old, "use", key)
	}
	if err := parseConfigYAML(b, &c, warn); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfigYAML decodes YAML into c (strict: unknown keys are errors) and validates it;
// deprecated key spellings are accepted with a slog warning, as in LoadConfig.
func ParseConfigYAML(b []byte, c *Config) error {
	return parseConfigYAML(b, c, func(old, key string) {
		slog.Warn("config key is deprecated", "key", old, "use", key)
	})
}

// parseConfigYAML is ParseConfigYAML with the deprecation warnings going to warn (the old
// key's path and the key to use instead).
func parseConfigYAML(b []byte, c *Config, warn func(old, key string)) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			return fmt.Errorf("want a mapping of keys to values")
		}
		renameDeprecatedKeys(root, reflect.TypeFor[Config](), "", warn)
		norm, err := yaml.Marshal(root)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(norm))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	return c.Validate()
}

// renamedKeys are deprecated keys of Config that are not the snake_case spelling of their
// replacement (the flags are -o/--output and --jobs).
var renamedKeys = map[string]string{"out": "output", "workers": "jobs"}

// renameDeprecatedKeys rewrites, in the mapping n that decodes into a value of type t, every
// deprecated key (the snake_case spelling of a kebab-case key, or one of renamedKeys at the
// top level) to its current spelling, calls warn for each, and descends into the mappings of
// nested structs (not into maps such as model.init, whose keys are config.json's).
func renameDeprecatedKeys(n *yaml.Node, t reflect.Type, path string, warn func(old, key string)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, e := range n.Content {
			renameDeprecatedKeys(e, t.Elem(), path, warn)
		}
		return
	case t.Kind() != reflect.Struct || n.Kind != yaml.MappingNode:
		return
	}
	fields := map[string]reflect.Type{} // key → field type
	old := map[string]string{}          // deprecated key → key
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" || !f.IsExported() {
			continue
		}
		fields[key] = f.Type
		if snake := strings.ReplaceAll(key, "-", "_"); snake != key {
			old[snake] = key
		}
	}
	if path == "" {
		for o, k := range renamedKeys {
			old[o] = k
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if key, ok := old[k.Value]; ok {
			warn(path+k.Value, path+key)
			k.Value = key
		}
		if ft, ok := fields[k.Value]; ok {
			renameDeprecatedKeys(v, ft, path+k.Value+".", warn)
		}
	}
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
		return fmt.Errorf("grpo: group-size, prompts-per-step and max-new-tokens must be positive")
	case g.UpdatesPerBatch < 1 || g.MiniBatches < 1:
		return fmt.Errorf("grpo: updates-per-batch and mini-batches must be positive")
	case g.MiniBatches > g.GroupSize*g.PromptsPerStep:
		return fmt.Errorf("grpo: %d mini-batches for %d completions", g.MiniBatches, g.GroupSize*g.PromptsPerStep)
	case g.Temperature < 0 || g.TopP < 0 || g.TopP > 1 || g.TopK < 0:
		return fmt.Errorf("grpo: temperature ≥ 0, top-p in [0, 1], top-k ≥ 0")
	case g.AdvScale != "group" && g.AdvScale != "batch" && g.AdvScale != "none":
		return fmt.Errorf("grpo: adv-scale %q (group, batch, none)", g.AdvScale)
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
		return fmt.Errorf("export-dtype %q (F32, BF16, F16)", c.ExportDType)
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
