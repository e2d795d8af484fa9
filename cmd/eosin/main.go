// Command eosin turns medical textbooks and papers (PDFs) into training corpora for reasoning
// vision-language models, and trains them. Run `eosin --help` for the subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/spf13/cobra"

	"github.com/eosinlab/eosin/internal/version"
)

// Exit statuses.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status: 0, 1 for a failure, 2 for a
// command line that cannot run as given, 130 when interrupted.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	if stdout != os.Stdout {
		// cobra prints flag warnings (deprecated spellings) to the output writer when one is
		// set, else to stderr: set it only where it must be captured
		root.SetOut(stdout)
	}
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "eosin: interrupted, nothing committed; rerun to resume")
		return exitInterrupted
	case isUsageError(err):
		fmt.Fprintln(stderr, "eosin:", err)
		fmt.Fprintln(stderr, "Run 'eosin --help' or 'eosin COMMAND --help' for usage.")
		return exitUsage
	default:
		fmt.Fprintln(stderr, "eosin:", err)
		return exitError
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
GRPO/DAPO.

Every command prints progress on stderr and a summary on stdout. Flags are kebab-case and
mean the same in every command (-o/--output, --jobs, --dpi, --ocr-languages, --no-ocr,
--tables, --formats, --s3-endpoint, --s3-profile, …). Exit status: 0 done, 1 failed,
2 a command line that cannot run as given, 130 interrupted.`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			syncAliases(cmd.Flags())
			setupLogging(cmd.ErrOrStderr(), verbose)
		},
	}
	root.SetVersionTemplate("eosin {{.Version}} " + runtime.Version() + "\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log debug messages, Beam's and the runner's included")
	root.AddCommand(
		newShardsCmd(),
		newPDFCmd(),
		newBuildCmd(nil),
		newTrainCmd(nil),
		newRewardCmd(),
		newCoTCmd(nil),
		newInspectCmd(nil),
		newExtractCmd(nil),
	)
	return root
}

// setupLogging logs eosin's messages at info level (debug with -v) to w. Beam's and the
// runner's logs are shown only with -v: their errors reach the command as errors anyway.
func setupLogging(w io.Writer, verbose bool) {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
	if !verbose {
		h = dropBeam{h}
		beamlog.SetLogger(&beamlog.Standard{Level: beamlog.SevFatal + 1})
		log.SetOutput(io.Discard) // the standard logger is used by Beam and gRPC only
	} else {
		log.SetOutput(w)
		beamlog.SetLogger(&beamlog.Standard{})
	}
	slog.SetDefault(slog.New(h))
}

// dropBeam drops the records logged from Beam's packages (prism, the runners, the harness).
type dropBeam struct{ slog.Handler }

func (d dropBeam) Handle(ctx context.Context, r slog.Record) error {
	if r.PC != 0 {
		if fn := runtime.FuncForPC(r.PC); fn != nil && strings.HasPrefix(fn.Name(), "github.com/apache/beam/") {
			return nil
		}
	}
	return d.Handler.Handle(ctx, r)
}

func (d dropBeam) WithAttrs(as []slog.Attr) slog.Handler { return dropBeam{d.Handler.WithAttrs(as)} }
func (d dropBeam) WithGroup(n string) slog.Handler       { return dropBeam{d.Handler.WithGroup(n)} }
