package main

import (
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
	cmd.AddCommand(newRewardScoreCmd(), newRewardServeCmd(), newRewardFunctionsCmd())
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

func newRewardScoreCmd() *cobra.Command {
	var in, out, cfgPath, preset string
	cmd := &cobra.Command{
		Use:   "score --in completions.jsonl --out scored.jsonl [--config reward.yaml | --preset NAME]",
		Short: "Score a JSONL file of completions",
		Long: `score reads one JSON object per line with the completion (key completion, response or output),
the reference answer (reference, ground_truth, solution or answer) and optionally task, options,
prompt and response_length (tokens), and writes each object back with a "reward" key holding
{"overall": total, "components": {term: value}}. A summary with the mean of every component goes
to stderr. "-" reads stdin or writes stdout.`,
		Example: `  eosin reward score --in completions.jsonl --out scored.jsonl --preset r1v
  eosin reward score --in completions.jsonl --out - --config reward.yaml | jq .reward.overall`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := rewardScorer(cfgPath, preset)
			if err != nil {
				return err
			}
			var r io.Reader = cmd.InOrStdin()
			if in != "-" {
				f, err := os.Open(in)
				if err != nil {
					return fmt.Errorf("--in: %w", err)
				}
				defer f.Close()
				r = f
			}
			var w io.Writer = cmd.OutOrStdout()
			var outFile *os.File
			if out != "-" {
				if outFile, err = os.Create(out + ".part"); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer os.Remove(out + ".part")
				w = outFile
			}
			start := time.Now()
			st, err := reward.ScoreJSONL(cmd.Context(), r, w, sc)
			if err != nil {
				if outFile != nil {
					outFile.Close()
				}
				return fmt.Errorf("%s: %w", in, err)
			}
			if outFile != nil {
				if err := outFile.Close(); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				if err := os.Rename(out+".part", out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
			}
			e := cmd.ErrOrStderr()
			fmt.Fprintf(e, "scored %d completions with %s in %v\n", st.N, sc.Name, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(e, "  %-14s %8.4f\n", "overall", st.Mean)
			keys := make([]string, 0, len(st.Comp))
			for k := range st.Comp {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(e, "  %-14s %8.4f\n", k, st.Comp[k])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "in", "-", "completions JSONL (- for stdin)")
	f.StringVar(&out, "out", "-", "scored JSONL (- for stdout)")
	f.StringVar(&cfgPath, "config", "", "reward YAML config")
	f.StringVar(&preset, "preset", "", "preset: "+strings.Join(reward.Presets(), ", ")+" (default: default)")
	return cmd
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
		Args: cobra.NoArgs,
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
