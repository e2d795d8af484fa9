// Command eosin turns medical textbooks and papers (PDFs) into training corpora for reasoning
// vision-language models, and trains them. Run `eosin --help` for the subcommands.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "eosin:", err)
		os.Exit(1)
	}
}

// newRootCmd assembles the command tree. Each subcommand lives in a file of its own.
func newRootCmd() *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:   "eosin",
		Short: "Turn medical PDFs into figure–caption and chain-of-thought corpora, and train on them",
		Long: `eosin reads medical textbooks and papers (born-digital or scanned PDFs), extracts
figures with their captions, writes them as training datasets (WebDataset, Parquet, MDS,
JSONL), generates and scores chain-of-thought samples, and trains reasoning models with
GRPO/DAPO.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug messages")
	root.AddCommand(
		newShardsCmd(),
		newPDFCmd(),
		newBuildCmd(),
		newTrainCmd(),
		newRewardCmd(),
		newCoTCmd(),
		newInspectCmd(),
		newExtractCmd(),
	)
	return root
}
