package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/cot/cotbeam"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/shards"
)

// cotOptions are the settings of `eosin cot`.
type cotOptions struct {
	ConfigPath, Pairs, Generator, Model, Output, OutputDir, Formats, DatasetVersion, Tasks string
	Cache, APIKeyEnv, Templates, DumpTemplates, RewardConfig, RewardPreset                 string
	Temperature, TopP, MinSupport, MinReward, Dedup                                        float64
	MaxTokens, Concurrency, Attempts, Workers, Agreement, Options, Turns, PerShard         int
	Timeout, Progress                                                                      time.Duration
	Judge, Refresh, CheckGenerator                                                         bool
	MaxResponse                                                                            int64
	Beam                                                                                   beamrun.Options
	S3                                                                                     s3Options
}

// checkCoTFlags reports settings that cannot run (usage errors).
func checkCoTFlags(o *cotOptions) error {
	if o.DumpTemplates != "" {
		return nil
	}
	switch {
	case o.Pairs == "":
		return flagErrorf("--pairs is required")
	case o.Generator == "":
		return flagErrorf("--generator is required (e.g. http://localhost:8000/v1)")
	case o.Model == "":
		return flagErrorf("--model is required")
	case (o.Output == "") == (o.OutputDir == ""):
		return flagErrorf("give exactly one of -o/--output PREFIX and --output-dir DIR")
	case o.Concurrency < 1:
		return flagErrorf("--concurrency %d: want at least 1", o.Concurrency)
	}
	if err := cot.CheckBaseURL(o.Generator); err != nil {
		return flagErrorf("--generator: %v", err)
	}
	if _, err := cot.ParseTaskSpecs(o.Tasks); err != nil {
		return flagErrorf("--tasks: %v", err)
	}
	if o.Output != "" {
		if _, err := shards.ParseFormats(o.Formats); err != nil {
			return flagErrorf("--formats: %v", err)
		}
		if err := o.Beam.Validate(); err != nil {
			return &usageError{err}
		}
	}
	return nil
}

// newCoTCmd is `eosin cot`: chain-of-thought samples from figure–caption pairs. runF
// replaces the run function in tests (nil: runCoT).
func newCoTCmd(runF func(*cotOptions) error) *cobra.Command {
	opts := &cotOptions{}
	cmd := &cobra.Command{
		Use:   "cot --pairs PREFIX[@VERSION] --generator URL --model NAME -o PREFIX",
		Short: "Generate, verify and filter chain-of-thought SFT and RL samples from figure–caption pairs",
		Long: `cot asks a model server speaking the OpenAI chat-completions protocol (vLLM, SGLang, TGI,
llama.cpp server, Ollama, hosted APIs) to write questions, options, answers and step-by-step
reasoning about each figure, grounded in its caption and the sentences citing it, following
Patho-R1's task types (mcq, description, reasoning, conversation) and reasoning lengths (short,
medium, long). The image travels as a data URL.

Every sample is verified: structure (parse), truncation, reasoning length and repetition, the
correct answer grounded in the caption, a judge pass through the same model (--judge), agreement
of k fresh answers to the question (--agreement), the reward of the assistant turn
(--min-reward) and MinHash near-duplicate removal across the run. Each dropped sample is a
reject with its reason.

--pairs is a committed figure dataset (PREFIX or PREFIX@VERSION, local or s3://) or the output
directory of 'eosin extract' (figures.jsonl + images/). Output: SFT samples (messages with the
<think>…</think><answer>…</answer> assistant turn) in PREFIX/sft and RL samples (problem,
options, answer, image) in PREFIX/rl, committed versions written through shards (--formats);
or, with --output-dir, plain JSONL files. Responses are cached by request hash (--cache: a
directory or s3://bucket/prefix), so a rerun after a crash or with more tasks pays nothing
twice; --refresh asks the server again and replaces the cached responses. The API key comes from the environment variable named by --api-key-env.

With -o/--output it runs as an Apache Beam pipeline, on the runners of 'eosin build': prism in this
process by default (nothing to install); --runner=universal --endpoint=HOST:PORT
--environment_type=LOOPBACK|EXTERNAL|PROCESS|DOCKER for a portable job server (Flink, Spark,
a standalone prism); --runner=dataflow for Google Cloud Dataflow (--project, --region,
--temp_location, ... pass through to Beam). Figures are spread over the workers; each keeps
--workers figures in flight, and its requests share one client of --concurrency connections
per worker process. Remote workers need a cache they can all reach: --cache s3://bucket/prefix.
Near duplicates are removed across the whole dataset: a sample is dropped when a sample with a
smaller id has question+answer MinHash similarity of at least --dedup. Many workers write the
shards; one step commits both versions (manifest, then LATEST). --output-dir runs the local driver
in this process instead (no Beam; near duplicates are judged in input order).

Before anything is written, the generator is asked once whether it serves the API and --model
(GET /models, else a 1-token chat completion); a dead, mistyped or failing server stops the
command with the URL and what went wrong (exit status 1; a URL without http:// or https://
is a usage error, 2). --check-generator=false skips the check (a server only remote workers
reach, or a rerun answered from the cache). A run in which every request failed commits
nothing and exits 1.

With -o the version name is reserved in both datasets before anything is written under it
(create-only; a name taken by another run gets a suffix, or, given with --dataset-version,
is refused), shard names carry it, and LATEST moves by compare-and-swap from the version it
named when the run started: when another run committed meanwhile, this run's version stays
committed and readable as PREFIX/sft@VERSION, LATEST keeps naming the other one, and the
command exits 1 saying so. Progress (figures with rate and ETA, samples, rejects, completed
requests) goes to stderr every --progress, in the form of the other commands.

Templates are text/template files; --dump-templates DIR writes the built-ins for editing and
--templates DIR uses the edited ones. Every flag can also be set in --config (YAML, the flag
names as keys).`,
		Example: `  eosin cot --pairs s3://corpus/figures --generator http://gpu:8000/v1 --model Qwen/Qwen2.5-VL-72B-Instruct \
      -o s3://corpus/cot --tasks mcq:medium:2,reasoning:long,description:short --concurrency 64
  eosin cot --pairs out/extract --generator http://localhost:11434/v1 --model qwen2.5vl --output-dir out/cot
  eosin cot --pairs s3://corpus/figures --generator http://gpu:8000/v1 --model M -o s3://corpus/cot \
      --cache s3://corpus/cot-cache --runner=universal --endpoint=flink-jobserver:8099 \
      --environment_type=EXTERNAL --environment_config=localhost:50000 --worker_binary=./eosin-linux
  eosin cot --dump-templates my-templates`,
		Args: usageArgs(cobra.NoArgs),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			syncAliases(cmd.Flags())
			if opts.ConfigPath != "" {
				if err := applyFlagConfig(cmd.Flags(), opts.ConfigPath, cmd.ErrOrStderr()); err != nil {
					return &usageError{err}
				}
			}
			return checkCoTFlags(opts)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCoT(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ConfigPath, "config", "", "YAML file setting any of these flags (flag names as keys)")
	f.StringVar(&opts.Pairs, "pairs", "", "figure dataset PREFIX[@VERSION], or an 'eosin extract' output directory")
	f.StringVar(&opts.Generator, "generator", "", "chat-completions API root, e.g. http://localhost:8000/v1")
	f.BoolVar(&opts.CheckGenerator, "check-generator", true, "ask the generator once (GET /models, else a 1-token chat completion) before starting, and stop with a clear error if it does not answer (false: a server only Beam workers reach, or a rerun answered from the cache)")
	f.StringVar(&opts.Model, "model", "", "model name sent to the server")
	f.StringVarP(&opts.Output, "output", "o", "", "output prefix: SFT samples in PREFIX/sft, RL samples in PREFIX/rl (local or s3://)")
	f.StringVar(&opts.OutputDir, "output-dir", "", "write plain JSONL (sft.jsonl, rl.jsonl, rejects.jsonl, images/) instead of -o")
	f.StringVar(&opts.Formats, "formats", "webdataset,parquet", "shard formats for -o: webdataset, parquet, mds, jsonl")
	f.StringVar(&opts.DatasetVersion, "dataset-version", "", "version name for -o (default: UTC time)")
	f.IntVar(&opts.PerShard, "samples-per-shard", 1000, "target samples per shard for -o")
	f.StringVar(&opts.Tasks, "tasks", "mcq:medium:2,reasoning:medium,description:medium,conversation:medium", "TASK[:LENGTH[:N]] list; tasks mcq, description, reasoning, conversation; lengths short, medium, long")
	f.Float64Var(&opts.Temperature, "temperature", 0.8, "sampling temperature")
	f.Float64Var(&opts.TopP, "top-p", 0, "top_p (0: server default)")
	f.IntVar(&opts.MaxTokens, "max-tokens", 2048, "max_tokens per generation")
	f.IntVar(&opts.Options, "options", 4, "options per multiple-choice question")
	f.IntVar(&opts.Turns, "turns", 3, "turns per conversation")
	f.IntVar(&opts.Concurrency, "concurrency", 16, "requests in flight")
	f.IntVar(&opts.Workers, "workers", 0, "figures in flight at once, per Beam bundle with -o (default 2 × concurrency)")
	f.DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "timeout of one request attempt")
	f.IntVar(&opts.Attempts, "attempts", 6, "attempts per request (429, 5xx, timeouts and broken replies are retried with jittered backoff, honouring Retry-After)")
	f.Int64Var(&opts.MaxResponse, "max-response-bytes", cot.DefaultMaxResponseBytes, "largest response body read from the model server; a larger one is a response_too_large reject, never cached")
	f.StringVar(&opts.Cache, "cache", "", "response cache: a directory or s3://bucket/prefix (default: the user cache dir /eosin/cot)")
	f.BoolVar(&opts.Refresh, "refresh", false, "ignore cached responses: ask the server again and replace them")
	f.StringVar(&opts.APIKeyEnv, "api-key-env", "OPENAI_API_KEY", "environment variable holding the API key")
	f.BoolVar(&opts.Judge, "judge", true, "ask the model whether each answer is supported by the caption")
	f.IntVar(&opts.Agreement, "agreement", 3, "k fresh answers per mcq/reasoning question; the majority must agree (0: off)")
	f.Float64Var(&opts.MinSupport, "min-support", 0.5, "share of the answer's content words found in the caption and mentions (negative: off)")
	f.Float64Var(&opts.MinReward, "min-reward", 0, "reject assistant turns whose reward is below this")
	f.StringVar(&opts.RewardConfig, "reward-config", "", "reward YAML config scoring the assistant turns")
	f.StringVar(&opts.RewardPreset, "reward-preset", "", "reward preset scoring the assistant turns (default: default)")
	f.Float64Var(&opts.Dedup, "dedup", 0.8, "MinHash similarity of question+answer above which a sample is a near duplicate (negative: off)")
	f.StringVar(&opts.Templates, "templates", "", "directory of edited prompt templates (missing files: built-ins)")
	f.StringVar(&opts.DumpTemplates, "dump-templates", "", "write the built-in templates to this directory and exit")
	// The runner flags of `eosin build` (same names; Beam's own keep Beam's spelling), for -o.
	f.StringVar(&opts.Beam.Runner, "runner", "", "Beam runner for -o: prism (in-process, default), universal, flink, spark, dataflow")
	f.StringVar(&opts.Beam.Endpoint, "endpoint", "", "job server HOST:PORT for universal/flink (e.g. localhost:8099)")
	f.StringVar(&opts.Beam.EnvironmentType, "environment_type", "", "worker environment for portable runners: LOOPBACK, EXTERNAL, PROCESS, DOCKER")
	f.StringVar(&opts.Beam.EnvironmentConfig, "environment_config", "", "environment config: worker pool address (EXTERNAL), process JSON, or container image")
	f.StringVar(&opts.Beam.WorkerBinary, "worker_binary", "", "prebuilt linux worker binary (this program) for remote workers")
	f.StringVar(&opts.Beam.JobName, "job_name", "", "job name on the runner (default eosin-cot-<version>)")
	f.StringToStringVar(&opts.Beam.BeamOptions, "beam-options", nil, "further Beam options as key=value (e.g. project=P,region=R,temp_location=gs://…)")
	f.DurationVar(&opts.Progress, "progress", 5*time.Second, "interval between progress lines on stderr (0 disables)")
	addS3Flags(f, &opts.S3)
	aliasFlag(f, "output", "out")
	aliasFlag(f, "output-dir", "out-dir")
	aliasFlag(f, "dataset-version", "version")
	aliasFlag(f, "beam-options", "beam_options")
	addBeamOptions(f)
	return cmd
}

// runCoT generates the samples, with Beam (-o) or in this process (--output-dir), and prints
// the summary.
func runCoT(cmd *cobra.Command, opts *cotOptions) error {
	if opts.DumpTemplates != "" {
		if err := cot.DumpTemplates(opts.DumpTemplates); err != nil {
			return fmt.Errorf("--dump-templates: %w", err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "templates written to %s\n", opts.DumpTemplates)
		return nil
	}
	specs, err := cot.ParseTaskSpecs(opts.Tasks)
	if err != nil {
		return fmt.Errorf("--tasks: %w", err)
	}
	tpl, err := cot.LoadTemplates(opts.Templates)
	if err != nil {
		return err
	}
	scorer, err := rewardScorer(opts.RewardConfig, opts.RewardPreset)
	if err != nil {
		return err
	}
	rcfg, err := rewardConfigOf(opts.RewardConfig, opts.RewardPreset)
	if err != nil {
		return err
	}
	if err := opts.S3.exportEnv(); err != nil {
		return err
	}
	cacheDir := opts.Cache
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("--cache: %w", err)
		}
		cacheDir = filepath.Join(base, "eosin", "cot")
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = 2 * opts.Concurrency
	}
	ctx := cmd.Context()
	s3 := opts.S3.settings()
	if opts.Output != "" {
		fs, err := shards.ParseFormats(opts.Formats)
		if err != nil {
			return fmt.Errorf("--formats: %w", err)
		}
		beamOpts := opts.Beam
		beamOpts.Progress, beamOpts.ProgressOut = opts.Progress, cmd.ErrOrStderr()
		sum, err := cotbeam.Run(ctx, cotbeam.Config{Pairs: opts.Pairs, Out: opts.Output, Version: opts.DatasetVersion, Formats: fs,
			SamplesPerShard: opts.PerShard, Batch: workers, DedupThreshold: opts.Dedup, S3: s3, Beam: beamOpts, NoCheck: !opts.CheckGenerator,
			Gen: cotbeam.GenConfig{BaseURL: opts.Generator, APIKeyEnv: opts.APIKeyEnv, Concurrency: opts.Concurrency, Timeout: opts.Timeout,
				MaxAttempts: opts.Attempts, MaxResponseBytes: opts.MaxResponse, Cache: cacheDir, Refresh: opts.Refresh, Model: opts.Model,
				Tasks: specs, Temperature: opts.Temperature, TopP: opts.TopP, MaxTokens: opts.MaxTokens, Options: opts.Options,
				Turns: opts.Turns, Judge: opts.Judge, Agreement: opts.Agreement, MinSupport: opts.MinSupport, MinReward: opts.MinReward,
				Reward: rcfg, Templates: tpl.Sources()}}, cmd.ErrOrStderr())
		if err != nil {
			return cotError(err, cacheDir)
		}
		printCoTBeamSummary(cmd.OutOrStdout(), opts.Output, sum)
		return nil
	}
	ccfg := cot.ClientConfig{BaseURL: opts.Generator, APIKeyEnv: opts.APIKeyEnv, Concurrency: opts.Concurrency,
		Timeout: opts.Timeout, MaxAttempts: opts.Attempts, MaxResponseBytes: opts.MaxResponse, CacheDir: cacheDir,
		CacheS3: opts.S3.config(), Refresh: opts.Refresh}
	if opts.CheckGenerator {
		// before anything is written, the cache directory included
		if err := cot.CheckGenerator(ctx, ccfg, opts.Model); err != nil {
			return cotError(err, cacheDir)
		}
	}
	client, err := cot.NewClient(ccfg)
	if err != nil {
		return err
	}
	defer client.Close()
	p, err := cot.NewPipeline(client, cot.Config{Model: opts.Model, Tasks: specs, Temperature: opts.Temperature, TopP: opts.TopP,
		MaxTokens: opts.MaxTokens, Options: opts.Options, Turns: opts.Turns, Judge: opts.Judge, Agreement: opts.Agreement,
		MinSupport: opts.MinSupport, Scorer: scorer, MinReward: opts.MinReward, Templates: tpl})
	if err != nil {
		return err
	}
	src, total, closeSrc, err := cot.OpenFigures(ctx, opts.Pairs, shards.ReadOptions{S3: opts.S3.config()})
	if err != nil {
		return err
	}
	defer closeSrc()
	sink, err := cot.NewDirSink(opts.OutputDir)
	if err != nil {
		return err
	}
	rc := cot.RunConfig{Workers: workers, DedupThreshold: opts.Dedup, Total: total, Progress: opts.Progress}
	if opts.Progress > 0 {
		rc.ProgressOut = cmd.ErrOrStderr()
	}
	sum, err := cot.Run(ctx, p, src, sink, rc)
	if err != nil {
		sink.Abort()
		if sum != nil {
			printCoTSummary(cmd.OutOrStdout(), sum)
		}
		return cotError(err, cacheDir)
	}
	printCoTSummary(cmd.OutOrStdout(), sum)
	return nil
}

// cotError is the error of a cot run, with the advice to rerun when the responses so far are
// cached and a rerun resumes: not when the generator failed its check or every request,
// nor when the version was committed (or its name taken) by another run.
func cotError(err error, cacheDir string) error {
	var check *cot.CheckError
	var moved *cot.ConcurrentCommitError
	switch {
	case errors.As(err, &check), errors.As(err, &moved), errors.Is(err, shards.ErrLatestMoved),
		errors.Is(err, shards.ErrVersionExists), errors.Is(err, cot.ErrAllRequestsFailed):
		return fmt.Errorf("cot: %w", err)
	}
	return fmt.Errorf("cot: %w (responses so far are cached in %s; rerun the same command to resume)", err, cacheDir)
}

// rewardConfigOf is the reward configuration of --reward-config and --reward-preset (the one
// rewardScorer builds), to travel to Beam workers.
func rewardConfigOf(cfgPath, preset string) (reward.Config, error) {
	var cfg reward.Config
	if cfgPath != "" {
		c, err := reward.LoadConfig(cfgPath)
		if err != nil {
			return cfg, err
		}
		cfg = c
	}
	if preset != "" {
		cfg.Preset = preset
	}
	return cfg, nil
}

// printCoTBeamSummary writes the summary of a Beam run.
func printCoTBeamSummary(out io.Writer, prefix string, s *cotbeam.Summary) {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "figures\t%d\n", s.Figures)
	fmt.Fprintf(w, "samples requested\t%d\n", s.Requested)
	fmt.Fprintf(w, "SFT samples\t%d\n", s.SFT)
	fmt.Fprintf(w, "RL samples\t%d\n", s.RL)
	fmt.Fprintf(w, "rejects\t%d\n", s.Rejects)
	sum := cot.Summary{Reasons: s.Reasons}
	for _, r := range sum.TopReasons() {
		fmt.Fprintf(w, "  %s\t%d\n", r, s.Reasons[r])
	}
	c := s.Client
	fmt.Fprintf(w, "requests\t%d (%d cached, %d HTTP attempts, %d failed)\n", c.Requests, c.CacheHits, c.Attempts, c.Failures)
	fmt.Fprintf(w, "elapsed\t%v on %s\n", s.Elapsed.Round(time.Second), s.Runner)
	w.Flush()
	fmt.Fprintf(out, "\ndatasets: %s/sft@%s and %s/rl@%s (LATEST → %s)\n", prefix, s.Version, prefix, s.Version, s.Version)
}

// applyFlagConfig sets every flag named by a key of the YAML file that was not given on the
// command line. Keys are flag names; an old spelling is accepted with a warning on warn.
func applyFlagConfig(fs *pflag.FlagSet, path string, warn io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := canonicalName(fs, k)
		fl := fs.Lookup(name)
		if fl == nil || k == "config" || fl.Hidden && name == k {
			return fmt.Errorf("--config %s: unknown key %q", path, k)
		}
		if name != k {
			fmt.Fprintf(warn, "eosin: config key %q is deprecated, use %q\n", k, name)
		}
		if fl.Changed {
			continue
		}
		if err := fs.Set(name, yamlFlagValue(m[k])); err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, k, err)
		}
	}
	return nil
}

// yamlFlagValue is a YAML value as a flag would spell it: lists comma-separated, maps as
// key=value pairs.
func yamlFlagValue(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + fmt.Sprint(x[k])
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// printCoTSummary writes the summary of a local run.
func printCoTSummary(out io.Writer, s *cot.Summary) {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "figures\t%d\n", s.Figures)
	fmt.Fprintf(w, "samples requested\t%d\n", s.Requested)
	fmt.Fprintf(w, "SFT samples\t%d\n", s.SFT)
	fmt.Fprintf(w, "RL samples\t%d\n", s.RL)
	fmt.Fprintf(w, "rejects\t%d\n", s.Rejects)
	for _, r := range s.TopReasons() {
		fmt.Fprintf(w, "  %s\t%d\n", r, s.Reasons[r])
	}
	c := s.Client
	fmt.Fprintf(w, "requests\t%d (%d cached, %d retries, %d failed)\n", c.Requests, c.CacheHits, c.Retries, c.Failures)
	fmt.Fprintf(w, "elapsed\t%v\n", s.Elapsed.Round(time.Second))
	w.Flush()
}
