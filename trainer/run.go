package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/shards/storage"
	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/tokenizer"
	"github.com/eosinlab/eosin/trainer/vision"
)

// RunOptions control a training run beyond the YAML configuration.
type RunOptions struct {
	// Terminal receives one progress line per step (nil: none).
	Terminal io.Writer
	// Tasks overrides the configured data (used by --watch with a loaded dataset version).
	Tasks []Task
	// DataVersion is recorded in the run directory (the dataset version trained on). With it
	// set the run trains on Tasks only, never on the configured data.
	DataVersion string
	// Codec overrides the tokenizer (nil: from the configuration).
	Codec Codec
	// Logger receives the run's log records (nil: slog.Default()).
	Logger *slog.Logger
}

// logger is the run's logger.
func (o *RunOptions) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// Run trains for cfg.Steps rollout steps, resuming from the newest checkpoint under
// cfg.Out/checkpoints when there is one. It writes cfg.Out/log.jsonl (one StepLog per line;
// on resume the lines after the checkpoint are dropped, so the log reads as an uninterrupted
// run), checkpoints every SaveEvery steps and at the end, and the final model (ExportDType)
// with the tokenizer into cfg.Out/final. A Qwen2-VL / Qwen2.5-VL checkpoint (config.json
// model_type qwen2_vl or qwen2_5_vl) trains with the tasks' images, the same loop otherwise;
// tasks with images for a text-only model are an error.
func Run(ctx context.Context, cfg Config, opt RunOptions) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	codec := opt.Codec
	tokPath := cfg.Tokenizer
	if tokPath == "" && cfg.Model.Path != "" {
		tokPath = filepath.Join(cfg.Model.Path, "tokenizer.json")
	}
	if codec == nil {
		if tokPath == "" {
			return fmt.Errorf("train: no tokenizer (set tokenizer: or model.path with a tokenizer.json)")
		}
		tok, err := tokenizer.Load(tokPath)
		if err != nil {
			return err
		}
		if codec, err = NewHFCodec(tok, cfg.System, cfg.Template); err != nil {
			return err
		}
	}
	tasks := opt.Tasks
	if tasks == nil && opt.DataVersion == "" {
		var err error
		if tasks, opt.DataVersion, err = loadTasks(ctx, cfg.Data); err != nil {
			return err
		}
	}
	if len(tasks) == 0 {
		if opt.DataVersion != "" {
			return fmt.Errorf("train: dataset version %s has no records", opt.DataVersion)
		}
		return fmt.Errorf("train: no tasks in the data")
	}
	if err := checkImages(cfg, tasks); err != nil {
		return err
	}
	scorer, err := reward.FromConfig(cfg.Reward)
	if err != nil {
		return fmt.Errorf("train: reward: %w", err)
	}
	policy, err := initialPolicy(cfg)
	if err != nil {
		return err
	}
	tr, err := NewTrainer(cfg, codec, scorer, tasks, policy)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	ckDir := filepath.Join(cfg.Out, "checkpoints")
	logPath := filepath.Join(cfg.Out, "log.jsonl")
	if last := latestCheckpoint(ckDir); last != "" {
		if err := tr.Load(last); err != nil {
			return fmt.Errorf("train: resume from %s: %w", last, err)
		}
		if err := truncateLog(logPath, tr.StepN); err != nil {
			return fmt.Errorf("train: resume from %s: %w", last, err)
		}
		opt.logger().Info("resumed", "checkpoint", last, "step", tr.StepN)
	} else if err := truncateLog(logPath, 0); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if opt.DataVersion != "" {
		if err := os.WriteFile(filepath.Join(cfg.Out, "dataset_version"), []byte(opt.DataVersion+"\n"), 0o644); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer lf.Close()
	enc := json.NewEncoder(lf)
	start := time.Now()
	first := tr.StepN
	for tr.StepN < cfg.Steps {
		l, err := tr.Step(ctx)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("train: log: %w", err)
		}
		if opt.Terminal != nil {
			done := tr.StepN - first
			eta := time.Duration(float64(time.Since(start)) / float64(done) * float64(cfg.Steps-tr.StepN))
			fmt.Fprintf(opt.Terminal, "step %d/%d  reward %.3f±%.3f  acc %.3f  kl %.4f  clip %.3f  ent %.3f  len %.1f  %.0f tok/s  eta %s\n",
				l.Step, cfg.Steps, l.RewardMean, l.RewardStd, l.Accuracy, l.KL, l.ClipHigh+l.ClipLow, l.Entropy, l.RespLen, l.TokensPerS,
				eta.Round(time.Second))
		}
		if cfg.SaveEvery > 0 && tr.StepN%cfg.SaveEvery == 0 && tr.StepN < cfg.Steps {
			if err := tr.Save(filepath.Join(ckDir, fmt.Sprintf("step-%d", tr.StepN))); err != nil {
				return fmt.Errorf("train: %w", err)
			}
		}
	}
	if err := tr.Save(filepath.Join(ckDir, fmt.Sprintf("step-%d", tr.StepN))); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	final := filepath.Join(cfg.Out, "final")
	if err := tr.Policy.Export(final, cfg.exportDType()); err != nil {
		return fmt.Errorf("train: final: %w", err)
	}
	if tokPath != "" {
		b, err := os.ReadFile(tokPath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("train: final: %w", err)
		}
		if err == nil {
			if err := os.WriteFile(filepath.Join(final, "tokenizer.json"), b, 0o644); err != nil {
				return fmt.Errorf("train: final: %w", err)
			}
		}
	}
	return nil
}

// truncateLog keeps the lines of log.jsonl up to step keep (all steps after a checkpoint are
// run again on resume); a missing log is fine.
func truncateLog(path string, keep int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		var l struct {
			Step int `json:"step"`
		}
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &l) != nil || l.Step > keep {
			break
		}
		out = append(out, line...)
	}
	if len(out) == len(b) {
		return nil
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("log: %w", err)
	}
	return nil
}

// checkImages refuses tasks with images for a text-only model (model.init, or a checkpoint
// that is not Qwen2-VL / Qwen2.5-VL): its prompts would leave the images out, so the model
// would learn to answer questions about figures it never sees.
func checkImages(cfg Config, tasks []Task) error {
	n := 0
	for _, t := range tasks {
		if len(t.Images) > 0 {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	name := "model.init"
	if cfg.Model.Path != "" {
		b, err := os.ReadFile(filepath.Join(cfg.Model.Path, "config.json"))
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		if vision.IsVLConfig(b) {
			return nil
		}
		name = cfg.Model.Path
	}
	return fmt.Errorf("train: %d of %d tasks have images, but %s is a text-only model that cannot see them "+
		"(use a Qwen2-VL / Qwen2.5-VL checkpoint, or data without images)", n, len(tasks), name)
}

// initialPolicy builds the policy of model.path (a text or VL checkpoint) or model.init.
func initialPolicy(cfg Config) (Policy, error) {
	if cfg.Model.Path != "" {
		b, err := os.ReadFile(filepath.Join(cfg.Model.Path, "config.json"))
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if vision.IsVLConfig(b) {
			return loadVLMPolicy(cfg, b)
		}
	}
	params, err := initialParams(cfg)
	if err != nil {
		return nil, err
	}
	return NewTextPolicy(params, cfg.backend(), false, cfg.mixed()), nil
}

// loadVLMPolicy loads a Qwen2-VL / Qwen2.5-VL checkpoint with its preprocessor_config.json
// (vision.min_pixels / max_pixels override its bounds).
func loadVLMPolicy(cfg Config, configJSON []byte) (*VLMPolicy, error) {
	dir := cfg.Model.Path
	v, err := vision.Load[float32](dir, &model.CPU[float32]{Workers: cfg.Workers})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	proc, err := vision.ReadProcessor(dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	proc = cfg.Vision.Processor(proc)
	if err := proc.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := proc.Check(v.Vis.Cfg); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	p := NewVLMPolicy(v, proc, cfg.Vision.Train, false, cfg.mixed(), cfg.Workers)
	p.ConfigJSON = configJSON
	pj, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("train: %w", err)
	}
	p.ProcessorJSON = pj
	return p, nil
}

func initialParams(cfg Config) (*model.Params[float32], error) {
	if cfg.Model.Path != "" {
		return LoadModel(cfg.Model.Path)
	}
	if cfg.Model.Init == nil {
		return nil, fmt.Errorf("train: set model.path or model.init")
	}
	mc, err := cfg.Model.InitModelConfig()
	if err != nil {
		return nil, err
	}
	p := model.NewParams[float32](*mc)
	p.InitRandom(rand.New(rand.NewPCG(cfg.Seed, 1)))
	return p, nil
}

func loadTasks(ctx context.Context, d DataConfig) ([]Task, string, error) {
	switch {
	case d.JSONL != "":
		ts, err := LoadJSONLFile(d.JSONL)
		return ts, "", err
	case d.Dataset != "":
		st, err := storage.Open(ctx, d.Dataset, storage.S3Config{})
		if err != nil {
			return nil, "", fmt.Errorf("train: dataset: %w", err)
		}
		defer st.Close()
		v, err := LatestVersion(ctx, st)
		if err != nil {
			return nil, "", err
		}
		if v == "" {
			return nil, "", fmt.Errorf("train: dataset %s has no committed version", d.Dataset)
		}
		ts, err := LoadVersion(ctx, st, v)
		return ts, v, err
	}
	return nil, "", fmt.Errorf("train: set data.jsonl or data.dataset")
}

// latestCheckpoint returns the step-N directory with the largest N that holds a checkpoint.
func latestCheckpoint(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	type ck struct {
		n    int
		path string
	}
	var cks []ck
	for _, e := range ents {
		n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "step-"))
		if err != nil || !strings.HasPrefix(e.Name(), "step-") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if IsCheckpoint(p) {
			cks = append(cks, ck{n, p})
		}
	}
	if len(cks) == 0 {
		return ""
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].n > cks[j].n })
	return cks[0].path
}

// Watch polls a dataset prefix and trains whenever a newer committed version appears: each
// version gets its own run directory cfg.Out/<version> (resumed if it exists) and starts from
// the newest checkpoint of the version trained before it. It trains on exactly the records of
// the version LATEST names, never on the configured data; a version without records is
// skipped with a warning (not recorded as trained). It returns when ctx ends.
func Watch(ctx context.Context, cfg Config, prefix string, every time.Duration, opt RunOptions) error {
	st, err := storage.Open(ctx, prefix, storage.S3Config{})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer st.Close()
	log := opt.logger()
	trained := ""
	if b, err := os.ReadFile(filepath.Join(cfg.Out, "watch_version")); err == nil {
		trained = strings.TrimSpace(string(b))
	}
	empty := "" // the last version seen without records
	for {
		v, err := LatestVersion(ctx, st)
		if err != nil {
			log.Warn("watch: reading dataset", "prefix", prefix, "err", err)
		} else if v != "" && v != trained && v != empty {
			tasks, err := LoadVersion(ctx, st, v)
			if err != nil {
				return fmt.Errorf("watch: %w", err)
			}
			if len(tasks) == 0 {
				log.Warn("watch: dataset version has no records, skipped", "prefix", prefix, "version", v)
				empty = v
			} else {
				log.Info("watch: training on dataset version", "prefix", prefix, "version", v, "records", len(tasks))
				if err := watchTrain(ctx, cfg, trained, v, tasks, opt); err != nil {
					if errors.Is(err, context.Canceled) {
						return nil
					}
					return err
				}
				trained = v
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// watchTrain trains on the tasks of dataset version v in cfg.Out/v, starting from the newest
// checkpoint of the previously trained version (if any), and records v as trained.
func watchTrain(ctx context.Context, cfg Config, previous, v string, tasks []Task, opt RunOptions) error {
	c := cfg
	c.Out = filepath.Join(cfg.Out, v)
	c.Data = DataConfig{}
	if previous != "" {
		// Continue from the newest weights trained on the previous version.
		if last := latestCheckpoint(filepath.Join(cfg.Out, previous, "checkpoints")); last != "" {
			c.Model = ModelConfig{Path: last}
			if c.Tokenizer == "" && cfg.Model.Path != "" {
				c.Tokenizer = filepath.Join(cfg.Model.Path, "tokenizer.json")
			}
		}
	}
	o := opt
	o.Tasks, o.DataVersion = tasks, v
	if err := Run(ctx, c, o); err != nil {
		return fmt.Errorf("watch: version %s: %w", v, err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, "watch_version"), []byte(v+"\n"), 0o644); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	return nil
}
