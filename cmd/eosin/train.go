package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/eosinlab/eosin/trainer"
)

// newTrainCmd is `eosin train`: GRPO/DAPO training on the CPU reference backend.
func newTrainCmd() *cobra.Command {
	var (
		cfgPath, watch string
		poll           time.Duration
		o              trainOverrides
	)
	cmd := &cobra.Command{
		Use:   "train --config grpo.yaml",
		Short: "Train a Qwen2-family model with GRPO/DAPO on an RL dataset",
		Long: `train runs GRPO/DAPO (shared/reference/grpo.md) on the built-in Qwen2 decoder or a Qwen2-VL /
Qwen2.5-VL model (prompts then carry the tasks' images), in fp32 or bf16 mixed precision: it samples
group_size completions per prompt with a KV cache, scores them with the configured rule-based
rewards (package reward: preset r1v, easyr1, dapo, … or custom terms), computes group
advantages and the clipped policy loss, and takes AdamW steps.

Data: data.jsonl (shards.Sample records, one per line) or data.dataset (a dataset prefix
written by eosin; the newest committed version, JSONL shards). With --watch PREFIX the command
keeps running and trains on every newer committed version as it appears.

Outputs under out/: log.jsonl (one JSON object per step: reward mean/std, accuracy, KL, clip
fractions, entropy, response length, tokens/s, …), checkpoints/step-N (Hugging Face
config.json + model.safetensors, optimizer state, RNG; a rerun resumes from the newest,
bit-identically) and final/ (the model in export_dtype with tokenizer.json, and
preprocessor_config.json for VL models). Flags override the YAML keys.`,
		Example: `  eosin train --config grpo.yaml
  eosin train --config grpo.yaml --steps 200 --lr 1e-6 --out runs/med-r1
  eosin train --config grpo.yaml --watch s3://bucket/datasets/mcq --poll 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := trainer.DefaultConfig()
			if cfgPath != "" {
				var err error
				if cfg, err = trainer.LoadConfig(cfgPath); err != nil {
					return err
				}
			}
			o.apply(cmd, &cfg)
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("train: %w", err)
			}
			opt := trainer.RunOptions{Terminal: os.Stderr}
			if watch != "" {
				return trainer.Watch(cmd.Context(), cfg, watch, poll, opt)
			}
			return trainer.Run(cmd.Context(), cfg, opt)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "YAML configuration (grpo.yaml)")
	f.StringVar(&watch, "watch", "", "dataset prefix to watch: train on every newer committed version")
	f.DurationVar(&poll, "poll", 5*time.Minute, "how often --watch looks for a new version")
	o.register(cmd)
	return cmd
}

// trainOverrides are flags that override YAML keys when set.
type trainOverrides struct {
	modelPath, tokenizer, jsonl, dataset, out, agg, preset string
	precision, exportDType                                 string
	steps, groupSize, prompts, maxNew, workers, saveEvery  int
	lr, temperature, klCoef, clipLow, clipHigh             float64
	seed                                                   uint64
}

func (o *trainOverrides) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.modelPath, "model", "", "model.path: Hugging Face checkpoint directory")
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer: tokenizer.json path")
	f.StringVar(&o.jsonl, "data-jsonl", "", "data.jsonl: file of shards.Sample records")
	f.StringVar(&o.dataset, "dataset", "", "data.dataset: dataset prefix (directory or s3://)")
	f.StringVar(&o.out, "out", "", "out: run directory")
	f.StringVar(&o.agg, "loss-agg", "", "grpo.loss_agg: token-mean | seq-mean-token-mean | seq-mean-token-sum | dr-grpo")
	f.StringVar(&o.preset, "reward", "", "reward.preset: r1v | r1v_nothink | easyr1 | easyr1_math | dapo | default")
	f.StringVar(&o.precision, "precision", "", "precision: fp32 | bf16 (mixed precision, float32 master weights)")
	f.StringVar(&o.exportDType, "export-dtype", "", "export_dtype of final/: f32 | bf16 | f16")
	f.IntVar(&o.steps, "steps", 0, "steps: rollout steps")
	f.IntVar(&o.groupSize, "group-size", 0, "grpo.group_size: completions per prompt (G)")
	f.IntVar(&o.prompts, "prompts-per-step", 0, "grpo.prompts_per_step")
	f.IntVar(&o.maxNew, "max-new-tokens", 0, "grpo.max_new_tokens")
	f.IntVar(&o.workers, "workers", 0, "workers: CPU goroutines per op (0: all cores)")
	f.IntVar(&o.saveEvery, "save-every", 0, "save_every: checkpoint every N steps")
	f.Float64Var(&o.lr, "lr", 0, "optim.lr")
	f.Float64Var(&o.temperature, "temperature", 0, "grpo.temperature")
	f.Float64Var(&o.klCoef, "kl-coef", 0, "grpo.kl_coef (β of the k3 penalty)")
	f.Float64Var(&o.clipLow, "clip-low", 0, "grpo.clip_low (ε_low)")
	f.Float64Var(&o.clipHigh, "clip-high", 0, "grpo.clip_high (ε_high)")
	f.Uint64Var(&o.seed, "seed", 0, "seed")
}

func (o *trainOverrides) apply(cmd *cobra.Command, c *trainer.Config) {
	ch := cmd.Flags().Changed
	set := func(name string, fn func()) {
		if ch(name) {
			fn()
		}
	}
	set("model", func() { c.Model = trainer.ModelConfig{Path: o.modelPath} })
	set("tokenizer", func() { c.Tokenizer = o.tokenizer })
	set("data-jsonl", func() { c.Data = trainer.DataConfig{JSONL: o.jsonl} })
	set("dataset", func() { c.Data = trainer.DataConfig{Dataset: o.dataset} })
	set("out", func() { c.Out = o.out })
	set("loss-agg", func() { c.GRPO.Agg = o.agg })
	set("reward", func() { c.Reward.Preset = o.preset })
	set("precision", func() { c.Precision = o.precision })
	set("export-dtype", func() { c.ExportDType = o.exportDType })
	set("steps", func() { c.Steps = o.steps })
	set("group-size", func() { c.GRPO.GroupSize = o.groupSize })
	set("prompts-per-step", func() { c.GRPO.PromptsPerStep = o.prompts })
	set("max-new-tokens", func() { c.GRPO.MaxNewTokens = o.maxNew })
	set("workers", func() { c.Workers = o.workers })
	set("save-every", func() { c.SaveEvery = o.saveEvery })
	set("lr", func() { c.Optim.LR = o.lr })
	set("temperature", func() { c.GRPO.Temperature = o.temperature })
	set("kl-coef", func() { c.GRPO.KLCoef = o.klCoef })
	set("clip-low", func() { c.GRPO.ClipLow = o.clipLow })
	set("clip-high", func() { c.GRPO.ClipHigh = o.clipHigh })
	set("seed", func() { c.Seed = o.seed })
}
