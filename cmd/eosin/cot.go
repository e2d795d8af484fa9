package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// newCoTCmd is `eosin cot`: chain-of-thought samples from figure–caption pairs.
func newCoTCmd() *cobra.Command {
	var (
		configPath, pairs, generator, model, out, outDir, formats, version, tasks    string
		cacheDir, apiKeyEnv, templatesDir, dumpTemplates, rewardConfig, rewardPreset string
		temperature, topP, minSupport, minReward, dedup                              float64
		maxTokens, concurrency, attempts, workers, agreement, options, turns         int
		timeout, progress                                                            time.Duration
		judge                                                                        bool
		perShard                                                                     int
		maxResponse                                                                  int64
		beamOpts                                                                     beamrun.Options
		s3                                                                           cotbeam.S3Settings
	)
	cmd := &cobra.Command{
		Use:   "cot --pairs PREFIX[@VERSION] --generator URL --model NAME --out PREFIX",
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
or, with --out-dir, plain JSONL files. Responses are cached by request hash (--cache: a
directory or s3://bucket/prefix), so a rerun after a crash or with more tasks pays nothing
twice. The API key comes from the environment variable named by --api-key-env.

With --out it runs as an Apache Beam pipeline, on the runners of 'eosin build': prism in this
process by default (nothing to install); --runner=universal --endpoint=HOST:PORT
--environment_type=LOOPBACK|EXTERNAL|PROCESS|DOCKER for a portable job server (Flink, Spark,
a standalone prism); --runner=dataflow for Google Cloud Dataflow (--project, --region,
--temp_location, ... pass through to Beam). Figures are spread over the workers; each keeps
--workers figures in flight, and its requests share one client of --concurrency connections
per worker process. Remote workers need a cache they can all reach: --cache s3://bucket/prefix.
Near duplicates are removed across the whole dataset: a sample is dropped when a sample with a
smaller id has question+answer MinHash similarity of at least --dedup. Many workers write the
shards; one step commits both versions (manifest, then LATEST). --out-dir runs the local driver
in this process instead (no Beam; near duplicates are judged in input order).

Templates are text/template files; --dump-templates DIR writes the built-ins for editing and
--templates DIR uses the edited ones. Every flag can also be set in --config (YAML, the flag
names as keys).`,
		Example: `  eosin cot --pairs s3://corpus/figures --generator http://gpu:8000/v1 --model Qwen/Qwen2.5-VL-72B-Instruct \
      --out s3://corpus/cot --tasks mcq:medium:2,reasoning:long,description:short --concurrency 64
  eosin cot --pairs out/extract --generator http://localhost:11434/v1 --model qwen2.5vl --out-dir out/cot
  eosin cot --pairs s3://corpus/figures --generator http://gpu:8000/v1 --model M --out s3://corpus/cot \
      --cache s3://corpus/cot-cache --runner=universal --endpoint=flink-jobserver:8099 \
      --environment_type=EXTERNAL --environment_config=localhost:50000 --worker_binary=./eosin-linux
  eosin cot --dump-templates my-templates`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if configPath != "" {
				if err := applyFlagConfig(cmd.Flags(), configPath); err != nil {
					return err
				}
			}
			if dumpTemplates != "" {
				if err := cot.DumpTemplates(dumpTemplates); err != nil {
					return fmt.Errorf("--dump-templates: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "templates written to %s\n", dumpTemplates)
				return nil
			}
			switch {
			case pairs == "":
				return errors.New("--pairs is required")
			case generator == "":
				return errors.New("--generator is required (e.g. http://localhost:8000/v1)")
			case model == "":
				return errors.New("--model is required")
			case (out == "") == (outDir == ""):
				return errors.New("give exactly one of --out PREFIX and --out-dir DIR")
			}
			specs, err := cot.ParseTaskSpecs(tasks)
			if err != nil {
				return fmt.Errorf("--tasks: %w", err)
			}
			tpl, err := cot.LoadTemplates(templatesDir)
			if err != nil {
				return err
			}
			scorer, err := rewardScorer(rewardConfig, rewardPreset)
			if err != nil {
				return err
			}
			rcfg, err := rewardConfigOf(rewardConfig, rewardPreset)
			if err != nil {
				return err
			}
			if cacheDir == "" {
				base, err := os.UserCacheDir()
				if err != nil {
					return fmt.Errorf("--cache: %w", err)
				}
				cacheDir = filepath.Join(base, "eosin", "cot")
			}
			if workers <= 0 {
				workers = 2 * concurrency
			}
			ctx := cmd.Context()
			if out != "" {
				fs, err := shards.ParseFormats(formats)
				if err != nil {
					return fmt.Errorf("--formats: %w", err)
				}
				beamOpts.Progress, beamOpts.ProgressOut = progress, cmd.ErrOrStderr()
				sum, err := cotbeam.Run(ctx, cotbeam.Config{Pairs: pairs, Out: out, Version: version, Formats: fs,
					SamplesPerShard: perShard, Batch: workers, DedupThreshold: dedup, S3: s3, Beam: beamOpts,
					Gen: cotbeam.GenConfig{BaseURL: generator, APIKeyEnv: apiKeyEnv, Concurrency: concurrency, Timeout: timeout,
						MaxAttempts: attempts, MaxResponseBytes: maxResponse, Cache: cacheDir, Model: model, Tasks: specs, Temperature: temperature, TopP: topP,
						MaxTokens: maxTokens, Options: options, Turns: turns, Judge: judge, Agreement: agreement,
						MinSupport: minSupport, MinReward: minReward, Reward: rcfg, Templates: tpl.Sources()}}, cmd.ErrOrStderr())
				if err != nil {
					return fmt.Errorf("cot: %w (responses so far are cached in %s; rerun the same command to resume)", err, cacheDir)
				}
				printCoTBeamSummary(cmd.ErrOrStderr(), out, sum)
				return nil
			}
			client, err := cot.NewClient(cot.ClientConfig{BaseURL: generator, APIKeyEnv: apiKeyEnv, Concurrency: concurrency,
				Timeout: timeout, MaxAttempts: attempts, MaxResponseBytes: maxResponse, CacheDir: cacheDir, CacheS3: s3.Config()})
			if err != nil {
				return err
			}
			defer client.Close()
			p, err := cot.NewPipeline(client, cot.Config{Model: model, Tasks: specs, Temperature: temperature, TopP: topP,
				MaxTokens: maxTokens, Options: options, Turns: turns, Judge: judge, Agreement: agreement,
				MinSupport: minSupport, Scorer: scorer, MinReward: minReward, Templates: tpl})
			if err != nil {
				return err
			}
			src, total, closeSrc, err := cot.OpenFigures(ctx, pairs, shards.ReadOptions{S3: s3.Config()})
			if err != nil {
				return err
			}
			defer closeSrc()
			sink, err := cot.NewDirSink(outDir)
			if err != nil {
				return err
			}
			sum, err := cot.Run(ctx, p, src, sink, cot.RunConfig{Workers: workers, DedupThreshold: dedup, Total: total})
			if err != nil {
				sink.Abort()
				if sum != nil {
					printCoTSummary(cmd, sum)
				}
				return fmt.Errorf("cot: %w (responses so far are cached in %s; rerun the same command to resume)", err, cacheDir)
			}
			printCoTSummary(cmd, sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "YAML file setting any of these flags (flag names as keys)")
	f.StringVar(&pairs, "pairs", "", "figure dataset PREFIX[@VERSION], or an 'eosin extract' output directory")
	f.StringVar(&generator, "generator", "", "chat-completions API root, e.g. http://localhost:8000/v1")
	f.StringVar(&model, "model", "", "model name sent to the server")
	f.StringVar(&out, "out", "", "output prefix: SFT samples in PREFIX/sft, RL samples in PREFIX/rl (local or s3://)")
	f.StringVar(&outDir, "out-dir", "", "write plain JSONL (sft.jsonl, rl.jsonl, rejects.jsonl, images/) instead of --out")
	f.StringVar(&formats, "formats", "webdataset,parquet", "shard formats for --out: webdataset, parquet, mds, jsonl")
	f.StringVar(&version, "version", "", "version name for --out (default: UTC time)")
	f.IntVar(&perShard, "samples-per-shard", 1000, "target samples per shard for --out")
	f.StringVar(&tasks, "tasks", "mcq:medium:2,reasoning:medium,description:medium,conversation:medium", "TASK[:LENGTH[:N]] list; tasks mcq, description, reasoning, conversation; lengths short, medium, long")
	f.Float64Var(&temperature, "temperature", 0.8, "sampling temperature")
	f.Float64Var(&topP, "top-p", 0, "top_p (0: server default)")
	f.IntVar(&maxTokens, "max-tokens", 2048, "max_tokens per generation")
	f.IntVar(&options, "options", 4, "options per multiple-choice question")
	f.IntVar(&turns, "turns", 3, "turns per conversation")
	f.IntVar(&concurrency, "concurrency", 16, "requests in flight")
	f.IntVar(&workers, "workers", 0, "figures in flight at once, per Beam bundle with --out (default 2 × concurrency)")
	f.DurationVar(&timeout, "timeout", 2*time.Minute, "timeout of one request attempt")
	f.IntVar(&attempts, "attempts", 6, "attempts per request (429, 5xx, timeouts and broken replies are retried with jittered backoff, honouring Retry-After)")
	f.Int64Var(&maxResponse, "max-response-bytes", cot.DefaultMaxResponseBytes, "largest response body read from the model server; a larger one is a response_too_large reject, never cached")
	f.StringVar(&cacheDir, "cache", "", "response cache: a directory or s3://bucket/prefix (default: the user cache dir /eosin/cot)")
	f.StringVar(&apiKeyEnv, "api-key-env", "OPENAI_API_KEY", "environment variable holding the API key")
	f.BoolVar(&judge, "judge", true, "ask the model whether each answer is supported by the caption")
	f.IntVar(&agreement, "agreement", 3, "k fresh answers per mcq/reasoning question; the majority must agree (0: off)")
	f.Float64Var(&minSupport, "min-support", 0.5, "share of the answer's content words found in the caption and mentions (negative: off)")
	f.Float64Var(&minReward, "min-reward", 0, "reject assistant turns whose reward is below this")
	f.StringVar(&rewardConfig, "reward-config", "", "reward YAML config scoring the assistant turns")
	f.StringVar(&rewardPreset, "reward-preset", "", "reward preset scoring the assistant turns (default: default)")
	f.Float64Var(&dedup, "dedup", 0.8, "MinHash similarity of question+answer above which a sample is a near duplicate (negative: off)")
	f.StringVar(&templatesDir, "templates", "", "directory of edited prompt templates (missing files: built-ins)")
	f.StringVar(&dumpTemplates, "dump-templates", "", "write the built-in templates to this directory and exit")
	// The runner flags of `eosin build` (same names), for --out.
	f.StringVar(&beamOpts.Runner, "runner", "", "Beam runner for --out: prism (in-process, default), universal, flink, spark, dataflow")
	f.StringVar(&beamOpts.Endpoint, "endpoint", "", "job server HOST:PORT for universal/flink (e.g. localhost:8099)")
	f.StringVar(&beamOpts.EnvironmentType, "environment_type", "", "worker environment for portable runners: LOOPBACK, EXTERNAL, PROCESS, DOCKER")
	f.StringVar(&beamOpts.EnvironmentConfig, "environment_config", "", "environment config: worker pool address (EXTERNAL), process JSON, or container image")
	f.StringVar(&beamOpts.WorkerBinary, "worker_binary", "", "prebuilt linux worker binary (this program) for remote workers")
	f.StringVar(&beamOpts.JobName, "job_name", "", "job name on the runner (default eosin-cot-<version>)")
	f.StringToStringVar(&beamOpts.BeamOptions, "beam_options", nil, "further Beam options as key=value (e.g. project=P,region=R,temp_location=gs://…)")
	f.DurationVar(&progress, "progress", 5*time.Second, "interval between progress lines with --out (0 disables)")
	f.StringVar(&s3.Endpoint, "s3_endpoint", "", "S3 endpoint host:port or URL (default $AWS_ENDPOINT_URL_S3)")
	f.StringVar(&s3.Region, "s3_region", "", "S3 region (default $AWS_REGION)")
	f.BoolVar(&s3.Insecure, "s3_insecure", false, "plain HTTP to a bare host:port S3 endpoint")
	f.StringVar(&s3.CABundle, "s3_ca_bundle", "", "PEM file of extra CAs for the S3 endpoint (default $AWS_CA_BUNDLE)")
	addBeamOptions(f)
	return cmd
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
// command line.
func applyFlagConfig(fs *pflag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	for k, v := range m {
		fl := fs.Lookup(k)
		if fl == nil || k == "config" {
			return fmt.Errorf("--config %s: unknown key %q", path, k)
		}
		if fl.Changed {
			continue
		}
		if err := fs.Set(k, fmt.Sprint(v)); err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, k, err)
		}
	}
	return nil
}

func printCoTSummary(cmd *cobra.Command, s *cot.Summary) {
	w := tabwriter.NewWriter(cmd.ErrOrStderr(), 2, 4, 2, ' ', 0)
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
