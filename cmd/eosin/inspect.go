package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/eosinlab/eosin/inspect"
)

// newInspectCmd builds `eosin inspect`: the static HTML report of an extraction or a dataset.
func newInspectCmd() *cobra.Command {
	var (
		out     string
		title   string
		dpi     float64
		noPages bool
		roots   []string
		chunk   int
		jobs    int
	)
	cmd := &cobra.Command{
		Use:   "inspect PREFIX[@VERSION]|OUT_DIR|FILE.jsonl... -o REPORT_DIR",
		Short: "Write a static HTML report of extracted figures, rejects and CoT samples",
		Long: `inspect reads the output directory of ` + "`eosin extract`" + ` (figures.jsonl, images/,
rejects.jsonl), a committed dataset version (PREFIX or PREFIX@VERSION, local or s3://), or a
JSONL file of figure or sample records, and writes a static report that opens from disk
(no server, no network): a searchable, filterable gallery of figures; each figure drawn on
its source page with its figure, caption and panel boxes; per-document and total counts
(documents, pages, figures, rejects by reason, OCR share, dedup removals) with bar charts;
and chain-of-thought samples with question, options, reasoning, answer and reward scores.

Several inputs may be given (e.g. an extraction and the CoT dataset built from it); their
records are shown together. Page thumbnails need the source PDFs: they are found through
each record's doc.uri (absolute, or relative to the input, its parent, the current
directory or a --source-root) and must still match the recorded sha256.`,
		Example: `  eosin extract testdata/cache/x -o out/
  eosin inspect out/ -o report/ && xdg-open report/index.html
  eosin inspect s3://corpus/figures@v3 s3://corpus/cot -o report/ --no-pages`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("no report directory: pass -o DIR")
			}
			ctx := cmd.Context()
			var sources []inspect.Source
			for _, a := range args {
				src, err := inspect.OpenSource(ctx, a)
				if err != nil {
					return err
				}
				if c, ok := src.(interface{ Close() error }); ok {
					defer c.Close()
				}
				sources = append(sources, src)
			}
			opts := inspect.Options{Dir: out, Title: title, PageDPI: dpi, SourceRoots: roots, ChunkSize: chunk, Jobs: jobs}
			if !noPages {
				opts.Renderer = inspect.ExtractRenderer{}
			}
			sum, err := inspect.Build(ctx, opts, sources...)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "documents  %d\npages      %d (%d rendered)\nfigures    %d (%d without crop)\nsamples    %d\nrejects    %d\nsize       %.1f MB\n",
				sum.Documents, sum.Pages, sum.PagesRendered, sum.Figures, sum.MissingImages, sum.Samples, sum.Rejects, float64(sum.Bytes)/1e6)
			abs, _ := filepath.Abs(filepath.Join(out, "index.html"))
			fmt.Fprintf(w, "report     file://%s\n", abs)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "report directory to write (required)")
	f.StringVar(&title, "title", "", "report title (default \"eosin report\")")
	f.Float64Var(&dpi, "page-dpi", 96, "resolution of the page thumbnails")
	f.BoolVar(&noPages, "no-pages", false, "do not render source pages (show the crops only)")
	f.StringArrayVar(&roots, "source-root", nil, "directory to look for source PDFs in (repeatable)")
	f.IntVar(&chunk, "chunk", 1000, "records per data file of the report")
	f.IntVar(&jobs, "jobs", 0, "parallel image copies and page renders (default: number of CPUs)")
	return cmd
}
