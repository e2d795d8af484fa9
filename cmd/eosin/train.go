package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/trainer"
)

// trainOptions are the settings of `eosin train`.
type trainOptions struct {
	ConfigPath string
	Watch      string
	Poll       time.Duration
	S3         s3Options
	Overrides  trainOverrides
	Flags      *pflag.FlagSet
}

// checkTrainFlags reports settings that cannot run (usage errors).
func checkTrainFlags(o *trainOptions) error {
	if o.Watch != "" && o.Poll <= 0 {
		return flagErrorf("--poll %v: want a positive interval", o.Poll)
	}
	return nil
}

// newTrainCmd is `eosin train`: GRPO/DAPO training on the CPU reference backend. runF
// replaces the run function in tests (nil: runTrain).
func newTrainCmd(runF func(*trainOptions) error) *cobra.Command {
	opts := &trainOptions{}
	cmd := &cobra.Command{
		Use:   "train --config grpo.yaml",
		Short: "Train a Qwen2-family model with GRPO/DAPO on an RL dataset",
		Long: `train runs GRPO/DAPO (group-relative advantages, clipped policy loss, k3 KL penalty) on the
built-in Qwen2 decoder or a Qwen2-VL / Qwen2.5-VL model (prompts then carry the tasks' images),
in fp32 or bf16 mixed precision: it samples group-size completions per prompt with a KV cache,
scores them with the configured rule-based rewards (package reward: preset r1v, easyr1, dapo,
… or custom terms), computes group advantages and the clipped policy loss, and takes AdamW
steps. docs/trainer.md describes every key.

Data: data.jsonl (shards.Sample records, one per line) or data.dataset (a dataset prefix
written by eosin; the newest committed version, JSONL shards). With --watch PREFIX the command
keeps running and trains on every newer committed version as it appears.

Outputs under the run directory (-o/--output, the YAML key output): log.jsonl (one JSON object
per step: reward mean/std, accuracy, KL, clip fractions, entropy, response length, tokens/s,
…), checkpoints/step-N (Hugging Face config.json + model.safetensors, optimizer state, RNG; a
rerun resumes from the newest, bit-identically) and final/ (the model in export-dtype with
tokenizer.json, and preprocessor_config.json for VL models). Flags override the YAML keys,
which are spelled as the flags (group-size, save-every, export-dtype; snake_case spellings
still work with a deprecation warning).

Settings that run but cannot learn (group-size 1, temperature 0 or top-k 1 with a group,
reward terms all of weight 0, steps 0) are warned about; a zero learning rate,
max-new-tokens 0, and tasks with images for a text-only model are refused.`,
		Example: `  eosin train --config examples/train-tiny.yaml -o runs/tiny
  eosin train --config grpo.yaml --steps 200 --lr 1e-6 -o runs/med-r1
  eosin train --config grpo.yaml --watch s3://bucket/datasets/mcq --poll 10m`,
		Args: usageArgs(cobra.NoArgs),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			syncAliases(cmd.Flags())
			return checkTrainFlags(opts)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Flags = cmd.Flags()
			if runF != nil {
				return runF(opts)
			}
			return runTrain(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ConfigPath, "config", "", "YAML configuration (grpo.yaml)")
	f.StringVar(&opts.Watch, "watch", "", "dataset prefix to watch: train on every newer committed version")
	f.DurationVar(&opts.Poll, "poll", 5*time.Minute, "how often --watch looks for a new version")
	opts.Overrides.register(f)
	addS3Flags(f, &opts.S3)
	return cmd
}

// trainConfig is the configuration of a run: defaults, the YAML file, the flags given.
func trainConfig(opts *trainOptions) (trainer.Config, error) {
	cfg := trainer.DefaultConfig()
	if opts.ConfigPath != "" {
		var err error
		if cfg, err = trainer.LoadConfig(opts.ConfigPath); err != nil {
			return cfg, &usageError{err}
		}
	}
	opts.Overrides.apply(opts.Flags, &cfg)
	if err := cfg.Validate(); err != nil {
		return cfg, &usageError{fmt.Errorf("train: %w", err)}
	}
	return cfg, nil
}

// trainWarnings lists settings that run but cannot learn anything. Settings that cannot run
// at all (optim.lr 0, grpo.max-new-tokens 0) are refused by the configuration's Validate, and
// image tasks for a text-only model by trainer.Run.
func trainWarnings(c trainer.Config) []string {
	var w []string
	g := c.GRPO
	if g.GroupSize < 2 {
		w = append(w, fmt.Sprintf("grpo.group-size %d: group-relative advantages are all zero, nothing is learned (use 2 or more)", g.GroupSize))
	}
	if g.GroupSize >= 2 {
		switch {
		case g.Temperature == 0:
			w = append(w, fmt.Sprintf("grpo.temperature 0: greedy decoding gives the %d completions of a prompt the same text, so every advantage is zero and nothing is learned (use a temperature > 0, e.g. 1)", g.GroupSize))
		case g.TopK == 1:
			w = append(w, fmt.Sprintf("grpo.top-k 1: sampling only the most likely token gives the %d completions of a prompt the same text, so every advantage is zero and nothing is learned (use top-k 0 or ≥ 2)", g.GroupSize))
		}
	}
	if sc, err := reward.FromConfig(c.Reward); err == nil {
		zero := true
		for _, term := range sc.TermList() {
			zero = zero && term.Weight == 0
		}
		if zero {
			w = append(w, "reward: every term has weight 0, so every completion scores 0 and nothing is learned")
		}
	}
	if c.Steps < 1 {
		w = append(w, fmt.Sprintf("steps %d: no training step will run", c.Steps))
	}
	return w
}

// runTrain trains and prints where the model went.
func runTrain(cmd *cobra.Command, opts *trainOptions) error {
	cfg, err := trainConfig(opts)
	if err != nil {
		return err
	}
	for _, w := range trainWarnings(cfg) {
		slog.Warn(w)
	}
	if err := opts.S3.exportEnv(); err != nil {
		return err
	}
	opt := trainer.RunOptions{Terminal: cmd.ErrOrStderr()}
	start := time.Now()
	if opts.Watch != "" {
		return trainer.Watch(cmd.Context(), cfg, opts.Watch, opts.Poll, opt)
	}
	if err := trainer.Run(cmd.Context(), cfg, opt); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "steps      %d\nelapsed    %s\nlog        %s\nmodel      %s\n", cfg.Steps, time.Since(start).Round(time.Second),
		filepath.Join(cfg.Out, "log.jsonl"), filepath.Join(cfg.Out, "final"))
	return nil
}

// trainOverrides are flags that override YAML keys when set.
type trainOverrides struct {
	modelPath, tokenizer, jsonl, dataset, out, agg, preset string
	precision, exportDType                                 string
	steps, groupSize, prompts, maxNew, workers, saveEvery  int
	lr, temperature, klCoef, clipLow, clipHigh             float64
	seed                                                   uint64
}

func (o *trainOverrides) register(f *pflag.FlagSet) {
	f.StringVar(&o.modelPath, "model", "", "model.path: Hugging Face checkpoint directory")
	f.StringVar(&o.tokenizer, "tokenizer", "", "tokenizer: tokenizer.json path")
	f.StringVar(&o.jsonl, "data-jsonl", "", "data.jsonl: file of shards.Sample records")
	f.StringVar(&o.dataset, "dataset", "", "data.dataset: dataset prefix (directory or s3://)")
	f.StringVarP(&o.out, "output", "o", "", "output: run directory")
	f.StringVar(&o.agg, "loss-agg", "", "grpo.loss-agg: token-mean | seq-mean-token-mean | seq-mean-token-sum | dr-grpo")
	f.StringVar(&o.preset, "reward-preset", "", "reward.preset: r1v | r1v_nothink | easyr1 | easyr1_math | dapo | default")
	f.StringVar(&o.precision, "precision", "", "precision: fp32 | bf16 (mixed precision, float32 master weights)")
	f.StringVar(&o.exportDType, "export-dtype", "", "export-dtype of final/: f32 | bf16 | f16")
	f.IntVar(&o.steps, "steps", 0, "steps: rollout steps")
	f.IntVar(&o.groupSize, "group-size", 0, "grpo.group-size: completions per prompt (G)")
	f.IntVar(&o.prompts, "prompts-per-step", 0, "grpo.prompts-per-step")
	f.IntVar(&o.maxNew, "max-new-tokens", 0, "grpo.max-new-tokens")
	f.IntVar(&o.workers, "jobs", defaultJobs(), "jobs: CPU goroutines per op")
	f.IntVar(&o.saveEvery, "save-every", 0, "save-every: checkpoint every N steps")
	f.Float64Var(&o.lr, "lr", 0, "optim.lr")
	f.Float64Var(&o.temperature, "temperature", 0, "grpo.temperature")
	f.Float64Var(&o.klCoef, "kl-coef", 0, "grpo.kl-coef (β of the k3 penalty)")
	f.Float64Var(&o.clipLow, "clip-low", 0, "grpo.clip-low (ε_low)")
	f.Float64Var(&o.clipHigh, "clip-high", 0, "grpo.clip-high (ε_high)")
	f.Uint64Var(&o.seed, "seed", 0, "seed")
	aliasFlag(f, "output", "out")
	aliasFlag(f, "reward-preset", "reward")
	aliasFlag(f, "jobs", "workers")
}

func (o *trainOverrides) apply(f *pflag.FlagSet, c *trainer.Config) {
	ch := f.Changed
	set := func(name string, fn func()) {
		if ch(name) {
			fn()
		}
	}
	set("model", func() { c.Model = trainer.ModelConfig{Path: o.modelPath} })
	set("tokenizer", func() { c.Tokenizer = o.tokenizer })
	set("data-jsonl", func() { c.Data = trainer.DataConfig{JSONL: o.jsonl} })
	set("dataset", func() { c.Data = trainer.DataConfig{Dataset: o.dataset} })
	set("output", func() { c.Out = o.out })
	set("loss-agg", func() { c.GRPO.Agg = o.agg })
	set("reward-preset", func() { c.Reward.Preset = o.preset })
	set("precision", func() { c.Precision = o.precision })
	set("export-dtype", func() { c.ExportDType = o.exportDType })
	set("steps", func() { c.Steps = o.steps })
	set("group-size", func() { c.GRPO.GroupSize = o.groupSize })
	set("prompts-per-step", func() { c.GRPO.PromptsPerStep = o.prompts })
	set("max-new-tokens", func() { c.GRPO.MaxNewTokens = o.maxNew })
	set("jobs", func() { c.Workers = o.workers })
	set("save-every", func() { c.SaveEvery = o.saveEvery })
	set("lr", func() { c.Optim.LR = o.lr })
	set("temperature", func() { c.GRPO.Temperature = o.temperature })
	set("kl-coef", func() { c.GRPO.KLCoef = o.klCoef })
	set("clip-low", func() { c.GRPO.ClipLow = o.clipLow })
	set("clip-high", func() { c.GRPO.ClipHigh = o.clipHigh })
	set("seed", func() { c.Seed = o.seed })
}
