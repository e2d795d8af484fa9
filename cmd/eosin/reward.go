package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eosinlab/eosin/reward"
)

// newRewardCmd is `eosin reward`: rule-based rewards for <think>/<answer> completions.
func newRewardCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reward",
		Short: "Score completions with rule-based rewards (R1-V, EasyR1, DAPO presets), as a CLI or an HTTP service",
		Long: `reward scores model completions with rule-based rewards: the R1 format reward (strict and
lenient), multiple-choice and open-answer accuracy, the DAPO overlong penalty and a repetition
penalty, combined as a weighted sum. Presets reproduce published setups:

  r1v          R1-V / Med-R1: strict format fullmatch + exact answer match, summed (0, 1 or 2)
  r1v_nothink  Med-R1 without thinking: <answer> only + exact match
  easyr1       EasyR1 r1v.py: 0.5·accuracy (mathruler grading) + 0.5·format
  easyr1_math  EasyR1 math.py: 0.9·accuracy (\boxed{}) + 0.1·format
  dapo         DAPO: ±1 accuracy on the last "Answer:" line + overlong penalty (20480/4096)
  default      eosin: option-letter or open-answer accuracy + 0.5·lenient format + 0.5·repetition

A YAML config (--config) starts from a preset and adds or replaces terms; see
'eosin reward functions' for the functions and their parameters.`,
	}
	cmd.AddCommand(newRewardScoreCmd(nil), newRewardServeCmd(), newRewardFunctionsCmd())
	return cmd
}

// rewardScorer builds the scorer from --config and --preset.
func rewardScorer(cfgPath, preset string) (*reward.Composite, error) {
	var cfg reward.Config
	if cfgPath != "" {
		c, err := reward.LoadConfig(cfgPath)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	if preset != "" {
		if cfg.Preset != "" && cfg.Preset != preset {
			return nil, fmt.Errorf("--preset %s conflicts with preset %s in %s", preset, cfg.Preset, cfgPath)
		}
		cfg.Preset = preset
	}
	return reward.FromConfig(cfg)
}

// rewardScoreOptions are the settings of `eosin reward score`.
type rewardScoreOptions struct {
	Input, Output, Rejects, ConfigPath, Preset string
}

func newRewardScoreCmd(runF func(*rewardScoreOptions) error) *cobra.Command {
	opts := &rewardScoreOptions{}
	cmd := &cobra.Command{
		Use:   "score --input completions.jsonl -o scored.jsonl [--config reward.yaml | --preset NAME]",
		Short: "Score a JSONL file of completions",
		Long: `score reads one JSON object per line with the completion (key completion, response or output),
the reference answer (reference, ground_truth, solution or answer) and optionally task, options,
prompt and response_length (tokens), and writes each object back with a "reward" key holding
{"overall": total, "components": {term: value}}. A line that cannot be scored (not JSON, no
completion) goes to the reject file ({"line", "error", "input"}; default OUTPUT.rejects.jsonl)
and the run goes on. "-" reads stdin or writes stdout. The summary, with the mean of every
component, goes to stdout, or to stderr when the scored lines do.`,
		Example: `  eosin reward score --input completions.jsonl -o scored.jsonl --preset r1v
  eosin reward score --input completions.jsonl -o - --config reward.yaml | jq .reward.overall`,
		Args: usageArgs(cobra.NoArgs),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			syncAliases(cmd.Flags())
			if opts.Output == "-" && opts.Rejects == "" {
				opts.Rejects = "-"
			}
			if opts.Rejects == "" {
				opts.Rejects = strings.TrimSuffix(opts.Output, ".jsonl") + ".rejects.jsonl"
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runRewardScore(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Input, "input", "i", "-", "completions JSONL (- for stdin)")
	f.StringVarP(&opts.Output, "output", "o", "-", "scored JSONL (- for stdout)")
	f.StringVar(&opts.Rejects, "rejects", "", "JSONL of the lines that could not be scored (default OUTPUT.rejects.jsonl; with -o -: stderr; - for stderr)")
	f.StringVar(&opts.ConfigPath, "config", "", "reward YAML config")
	f.StringVar(&opts.Preset, "preset", "", "preset: "+strings.Join(reward.Presets(), ", ")+" (default: default)")
	aliasFlag(f, "input", "in")
	aliasFlag(f, "output", "out")
	return cmd
}

// runRewardScore scores opts.Input into opts.Output (through a temporary file, renamed when
// done), the lines it cannot score into opts.Rejects, and prints the summary.
func runRewardScore(cmd *cobra.Command, opts *rewardScoreOptions) error {
	sc, err := rewardScorer(opts.ConfigPath, opts.Preset)
	if err != nil {
		return &usageError{err}
	}
	var r io.Reader = cmd.InOrStdin()
	if opts.Input != "-" {
		f, err := os.Open(opts.Input)
		if err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		defer f.Close()
		r = f
	}
	summary := cmd.OutOrStdout()
	var w io.Writer = cmd.OutOrStdout()
	var outFile *os.File
	if opts.Output == "-" {
		summary = cmd.ErrOrStderr()
	} else {
		if outFile, err = os.Create(opts.Output + ".part"); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		defer os.Remove(opts.Output + ".part")
		defer outFile.Close()
		w = outFile
	}
	var rej bytes.Buffer
	start := time.Now()
	st, err := reward.ScoreJSONLRejects(cmd.Context(), r, w, &rej, sc)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Input, err)
	}
	if outFile != nil {
		if err := outFile.Close(); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		if err := os.Rename(opts.Output+".part", opts.Output); err != nil {
			return fmt.Errorf("--output: %w", err)
		}
	}
	if st.Rejected > 0 {
		if opts.Rejects == "-" {
			cmd.ErrOrStderr().Write(rej.Bytes())
		} else if err := os.WriteFile(opts.Rejects, rej.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--rejects: %w", err)
		}
	}
	fmt.Fprintf(summary, "scored %d completions with %s in %v\n", st.N, sc.Name, time.Since(start).Round(time.Millisecond))
	if st.Rejected > 0 {
		fmt.Fprintf(summary, "rejected %d lines that could not be scored (%s)\n", st.Rejected, opts.Rejects)
	}
	fmt.Fprintf(summary, "  %-14s %8.4f\n", "overall", st.Mean)
	keys := make([]string, 0, len(st.Comp))
	for k := range st.Comp {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(summary, "  %-14s %8.4f\n", k, st.Comp[k])
	}
	return nil
}

func newRewardServeCmd() *cobra.Command {
	var addr, cfgPath, preset string
	var opts reward.ServerOptions
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8081] [--config reward.yaml | --preset NAME]",
		Short: "Serve rewards over HTTP for external trainers (JSON API and an OpenRLHF-compatible route)",
		Long: `serve scores batches over HTTP:

  POST /v1/score    {"preset"?: NAME, "items": [{"completion", "reference", "task"?, "options"?,
                    "response_length"?}]} → {"scorer", "terms", "results": [{"overall", "components"}]}
  POST /get_reward  OpenRLHF remote reward model (--remote_rm_url http://HOST:PORT/get_reward):
                    {"query": [...], "prompts": [...], "labels": [...]} →
                    {"rewards": [...], "scores": [...], "extra_logs": {term: [...]}}
  GET  /v1/terms    the scorer's terms, the presets and the functions
  GET  /healthz     "ok"

It listens on the loopback interface (127.0.0.1:8081) unless --addr says otherwise (--addr :8081
serves every interface). Each scoring request is bounded: at most --max-inflight are scored at
once (others wait up to --queue-wait, then get 503 with Retry-After), a body larger than
--max-body-bytes gets 413, and a request taking longer than --request-timeout gets 503 (scoring
stops between items then, and when the client goes away). Math answers over 8 KiB or nested
more than 64 brackets deep score as wrong ("limits" in the result names them). It stops
gracefully on SIGINT/SIGTERM.`,
		Example: `  eosin reward serve --preset r1v
  eosin reward serve --addr :8081 --preset r1v --max-inflight 8 --max-body-bytes 67108864
  curl -s localhost:8081/v1/score -d '{"items":[{"completion":"<think>…</think><answer>C</answer>","reference":"C"}]}'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := rewardScorer(cfgPath, preset)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr: %w", err)
			}
			return serveRewards(cmd.Context(), ln, sc, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", reward.DefaultAddr, "listen address (:8081 for every interface)")
	f.IntVar(&opts.MaxInflight, "max-inflight", 0, "requests scored at once (default: the number of CPUs)")
	f.DurationVar(&opts.QueueWait, "queue-wait", reward.DefaultQueueWait, "how long a request waits for a free slot before 503 (negative: no wait)")
	f.Int64Var(&opts.MaxRequestBytes, "max-body-bytes", reward.MaxRequestBytes, "largest request body (larger: 413)")
	f.DurationVar(&opts.RequestTimeout, "request-timeout", reward.DefaultRequestTimeout, "time one request may take, reading and scoring (longer: 503)")
	f.StringVar(&cfgPath, "config", "", "reward YAML config")
	f.StringVar(&preset, "preset", "", "preset: "+strings.Join(reward.Presets(), ", ")+" (default: default)")
	return cmd
}

// serveRewards serves sc on ln within opts until ctx ends.
func serveRewards(ctx context.Context, ln net.Listener, sc *reward.Composite, opts reward.ServerOptions) error {
	opts.Log = slog.Default()
	srv := reward.NewServer(sc, opts).HTTPServer()
	slog.Info("reward service listening", "addr", ln.Addr().String(), "scorer", sc.Name, "terms", reward.Describe(sc))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdown); err != nil {
			return err
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

func newRewardFunctionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "functions",
		Short: "List the reward functions a config may use, and the presets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			names := make([]string, 0, len(reward.Functions))
			for k := range reward.Functions {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(w, "%-16s %s\n", n, reward.Functions[n])
			}
			fmt.Fprintln(w, "\npresets:")
			for _, p := range reward.Presets() {
				c, err := reward.Preset(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "  %-12s %s\n", p, strings.Join(reward.Describe(c), " + "))
			}
			return nil
		},
	}
}
