package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/eosinlab/eosin/inspect"
)

// inspectOptions are the settings of `eosin inspect`.
type inspectOptions struct {
	Output  string
	Title   string
	DPI     float64
	NoPages bool
	Roots   []string
	Chunk   int
	Jobs    int
	S3      s3Options
	Inputs  []string
}

// checkInspectFlags reports settings that cannot run (usage errors).
func checkInspectFlags(o *inspectOptions) error {
	switch {
	case o.Output == "":
		return flagErrorf("no report directory: pass -o/--output DIR")
	case o.DPI < 18 || o.DPI > 600:
		return flagErrorf("--dpi %g out of range 18–600", o.DPI)
	case o.Chunk < 1:
		return flagErrorf("--chunk %d: want at least 1", o.Chunk)
	case o.Jobs < 1:
		return flagErrorf("--jobs %d: want at least 1", o.Jobs)
	}
	return nil
}

// newInspectCmd builds `eosin inspect`: the static HTML report of an extraction or a dataset.
// runF replaces the run function in tests (nil: runInspect).
func newInspectCmd(runF func(*inspectOptions) error) *cobra.Command {
	opts := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect PREFIX[@VERSION]|OUT_DIR|FILE.jsonl... -o REPORT_DIR",
		Short: "Write a static HTML report of extracted figures, rejects and CoT samples",
		Long: `inspect reads the output directory of ` + "`eosin extract`" + ` (figures.jsonl, images/,
rejects.jsonl, agreement.json), a committed dataset version (PREFIX or PREFIX@VERSION, local or s3://), or a
JSONL file of figure or sample records, and writes a static report that opens from disk
(no server, no network): a searchable, filterable gallery of figures; each figure drawn on
its source page with its figure, caption and panel boxes; per-document and total counts
(documents, pages, figures, rejects by reason, OCR share, dedup removals) with bar charts;
and chain-of-thought samples with question, options, reasoning, answer and reward scores.

Several inputs may be given (e.g. an extraction and the CoT dataset built from it); their
records are shown together. A CoT output holds two datasets, PREFIX/sft and PREFIX/rl: give
the one to show. Page thumbnails need the source PDFs: they are found through each record's
doc.uri (absolute, or relative to the input, its parent, the current directory or a
--source-root) and must still match the recorded sha256.

Figures are shown by document, page and position on the page. Every view has a link of its
own that names what it shows: index.html#figure/<id> opens the figure with that record id,
#figures?doc=<sha256> the figures of that document, in this report and in the next.`,
		Example: `  eosin extract testdata/cache/x -o out/
  eosin inspect out/ -o report/ && xdg-open report/index.html
  eosin inspect s3://corpus/figures@v3 s3://corpus/cot/sft -o report/ --no-pages`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			syncAliases(cmd.Flags())
			return checkInspectFlags(opts)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if runF != nil {
				return runF(opts)
			}
			return runInspect(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "report directory to write (required)")
	f.StringVar(&opts.Title, "title", "", "report title (default \"eosin report\")")
	f.Float64Var(&opts.DPI, "dpi", 96, "resolution of the page thumbnails")
	f.BoolVar(&opts.NoPages, "no-pages", false, "do not render source pages (show the crops only)")
	f.StringArrayVar(&opts.Roots, "source-root", nil, "directory to look for source PDFs in (repeatable)")
	f.IntVar(&opts.Chunk, "chunk", 1000, "records per data file of the report")
	f.IntVar(&opts.Jobs, "jobs", defaultJobs(), "parallel image copies and page renders")
	addS3Flags(f, &opts.S3)
	aliasFlag(f, "output", "out")
	aliasFlag(f, "dpi", "page-dpi")
	return cmd
}

// runInspect writes the report and prints its summary.
func runInspect(cmd *cobra.Command, opts *inspectOptions) error {
	if err := opts.S3.exportEnv(); err != nil {
		return err
	}
	ctx := cmd.Context()
	var sources []inspect.Source
	for _, a := range opts.Inputs {
		src, err := inspect.OpenSource(ctx, a)
		if err != nil {
			return err
		}
		if c, ok := src.(interface{ Close() error }); ok {
			defer c.Close()
		}
		sources = append(sources, src)
	}
	bopts := inspect.Options{Dir: opts.Output, Title: opts.Title, PageDPI: opts.DPI, SourceRoots: opts.Roots, ChunkSize: opts.Chunk, Jobs: opts.Jobs}
	if !opts.NoPages {
		bopts.Renderer = inspect.ExtractRenderer{}
	}
	sum, err := inspect.Build(ctx, bopts, sources...)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "documents  %d\npages      %d (%d rendered)\nfigures    %d (%d without crop)\nsamples    %d\nrejects    %d\nsize       %.1f MB\n",
		sum.Documents, sum.Pages, sum.PagesRendered, sum.Figures, sum.MissingImages, sum.Samples, sum.Rejects, float64(sum.Bytes)/1e6)
	abs, err := filepath.Abs(filepath.Join(opts.Output, "index.html"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "report     file://%s\n", abs)
	return nil
}
