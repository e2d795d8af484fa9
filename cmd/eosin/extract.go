package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/internal/progress"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/ocr"
)

// extractOptions are the settings of `eosin extract`.
type extractOptions struct {
	Output   string
	DPI      int
	Jobs     int
	Tables   bool
	NoImages bool
	NoOCR    bool
	Langs    string // Tesseract languages, "eng,deu" or "eng+deu"
	Tessdata string
	Force    bool
	Inputs   []string
}

// checkExtractFlags reports settings that cannot run (usage errors).
func checkExtractFlags(o *extractOptions) error {
	switch {
	case o.Output == "":
		return flagErrorf("-o/--output DIR is required")
	case o.DPI < 36 || o.DPI > 1200:
		return flagErrorf("--dpi %d out of range 36–1200", o.DPI)
	case o.Jobs < 1:
		return flagErrorf("--jobs %d: want at least 1", o.Jobs)
	case !o.NoOCR && len(splitLanguages(o.Langs)) == 0:
		return flagErrorf("--ocr-languages is empty (or give --no-ocr)")
	}
	return nil
}

// newExtractCmd builds `eosin extract`: figures with their captions from PDFs into a
// directory. runF replaces the run function in tests (nil: runExtract).
func newExtractCmd(runF func(*extractOptions) error) *cobra.Command {
	opts := &extractOptions{}
	cmd := &cobra.Command{
		Use:   "extract PDF|PACKAGE|DIR... -o OUT",
		Short: "Extract figures with their captions, sub-figures and mentions from PDFs and article packages",
		Long: `extract finds every captioned figure in born-digital PDFs (files, or directories
searched recursively for *.pdf) and in publisher article packages, and writes:

  OUT/figures.jsonl           one Figure record per line (label, caption, bbox in PDF points
                              with origin top-left, sub-figures, citing sentences, image info,
                              source: pdf, scan, xml+pdf or xml+image; doc.uri is absolute)
  OUT/images/<id>.png         the figure region rendered at --dpi
  OUT/images/<id>.<ext>       a package's own figure file, native bytes (e.g. .jpg)
  OUT/images/<id>.orig.<ext>  the embedded image's own bytes, when the figure is one image
  OUT/rejects.jsonl           every document, page, caption or XML figure that gave nothing, and why
  OUT/agreement.json          for packages with XML and PDF: how the PDF-only extraction agrees
                              with the XML (recall, precision, per journal and per article)

OUT must be new or empty, so that it holds this run's output only; --force empties an
earlier extract output first (a folder with other files is refused even then).

An article package is a folder or .tar.gz in the PubMed Central Open Access layout (one .nxml
with the PDF and figure files beside it), or a .nxml/.xml file with a PDF of the same name
beside it; JATS/NLM and BioMed Central XML are read. Captions, labels, mentions, metadata and
the licence come from the XML; the image is the package's figure file, else the PDF region
whose caption matches the XML's (no match: a no_pdf_region reject). A PDF that is also a
package's PDF is processed once, as the package.

Tables are detected either way (so they never pass as figures) and written only with
--tables. Scanned pages (one page image, no text layer or an invisible one) go through
Tesseract: layout analysis finds the figure blocks, only the caption regions are read, and the
records carry ocr.used and the OCR confidence. With --no-ocr they are listed in rejects.jsonl
with the reason scanned_page instead. The same inputs give the same output bytes.`,
		Example: `  eosin extract testdata/cache/x/r-cran-vegan -o /tmp/figs
  eosin extract book.pdf papers/ -o out --dpi 300 --jobs 2 --tables
  eosin extract PMC5860693.tar.gz oa_packages/ article.nxml -o out`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			syncAliases(cmd.Flags())
			return checkExtractFlags(opts)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if runF != nil {
				return runF(opts)
			}
			return runExtract(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "output directory (created if missing; must be empty)")
	f.IntVar(&opts.DPI, "dpi", 200, "resolution of the rendered crops")
	f.IntVar(&opts.Jobs, "jobs", defaultJobs(), "documents processed at once")
	f.BoolVar(&opts.Tables, "tables", false, "also write tables (kind: table)")
	f.BoolVar(&opts.NoImages, "no-images", false, "write records only: no rendering, no image files")
	f.BoolVar(&opts.NoOCR, "no-ocr", false, "do not OCR scanned pages (they become scanned_page rejects)")
	f.StringVar(&opts.Langs, "ocr-languages", "eng", "Tesseract languages for scanned pages, e.g. eng or eng,deu")
	f.StringVar(&opts.Tessdata, "tessdata", "", "directory of Tesseract *.traineddata files (default: Tesseract's own)")
	f.BoolVar(&opts.Force, "force", false, "empty OUT first when it holds an earlier extract output")
	aliasFlag(f, "output", "out")
	aliasFlag(f, "ocr-languages", "lang")
	return cmd
}

// runExtract extracts the figures of opts.Inputs into opts.Output and prints the summary.
func runExtract(cmd *cobra.Command, opts *extractOptions) error {
	var abs []string
	for _, a := range opts.Inputs {
		p, err := filepath.Abs(a) // records carry absolute document URIs
		if err != nil {
			return fmt.Errorf("extract: %w", err)
		}
		abs = append(abs, p)
	}
	inputs, err := articles.Inputs(abs)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	if len(inputs) == 0 {
		return fmt.Errorf("extract: no PDF or article package found in %s", strings.Join(opts.Inputs, " "))
	}
	if err := prepareOutput(opts.Output, opts.Force); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	lopts := layout.Options{DPI: opts.DPI, Render: !opts.NoImages, Tables: opts.Tables}
	if !opts.NoOCR {
		pool, err := ocr.NewPool(ocr.Config{Languages: splitLanguages(opts.Langs), TessdataPrefix: opts.Tessdata, Size: opts.Jobs})
		if err != nil {
			return fmt.Errorf("extract: %w (or use --no-ocr to skip scanned pages)", err)
		}
		defer pool.Close()
		lopts.Scanned = scan.New(pool, scan.Options{DPI: opts.DPI, NoCrops: opts.NoImages, Tables: opts.Tables}).Figures
	}
	line := progress.NewLine(cmd.ErrOrStderr(), logEvery)
	var last layout.Progress
	sum, err := articles.Run(cmd.Context(), inputs, opts.Output, articles.RunOptions{
		Options: articles.Options{Layout: lopts},
		Jobs:    opts.Jobs,
		Progress: func(p layout.Progress) {
			last = p
			line.Print(extractProgress(p), false)
		},
	})
	if last.DocsTotal > 0 {
		line.Print(extractProgress(last), true)
	}
	printSummary(cmd.OutOrStdout(), sum.Summary, opts.Output)
	printAgreement(cmd.OutOrStdout(), sum)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	return nil
}

// extractOutputs are the names an extract run writes in its output folder.
var extractOutputs = []string{"figures.jsonl", "rejects.jsonl", articles.AgreementFile, articles.DocumentsFile, "images"}

// prepareOutput makes dir a new or empty folder: it creates it, accepts it empty, and with
// force empties it when it holds only what an earlier run wrote.
func prepareOutput(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	var foreign []string
	for _, e := range entries {
		if !slices.Contains(extractOutputs, e.Name()) {
			foreign = append(foreign, e.Name())
		}
	}
	switch {
	case len(foreign) > 0:
		return fmt.Errorf("output %s is not empty and holds files extract did not write (%s): choose a new folder", dir, strings.Join(foreign, ", "))
	case !force:
		return fmt.Errorf("output %s holds an earlier extract output: choose a new folder, or pass --force to replace it", dir)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	return nil
}

// logEvery is the interval between progress lines when stderr is not a terminal.
const logEvery = 10 * time.Second

// extractProgress is the progress line of an extract run.
func extractProgress(s layout.Progress) string {
	return fmt.Sprintf("%s  pages %d (%.1f/s)  figures %d  rejects %d",
		progress.Status("documents", uint64(s.Docs), uint64(s.DocsTotal), s.Elapsed),
		s.Pages, progress.Rate(uint64(s.Pages), s.Elapsed), s.Figures, s.Rejects)
}

func printSummary(w io.Writer, s layout.Summary, out string) {
	rate := 0.0
	if s.Elapsed > 0 {
		rate = float64(s.Pages) / s.Elapsed.Seconds()
	}
	fmt.Fprintf(w, "documents  %d (%d unreadable)\n", s.Docs, s.Failures)
	fmt.Fprintf(w, "pages      %d (%.1f pages/s)\n", s.Pages, rate)
	fmt.Fprintf(w, "figures    %d\n", s.Figures)
	if s.Tables > 0 {
		fmt.Fprintf(w, "tables     %d\n", s.Tables)
	}
	fmt.Fprintf(w, "rejects    %d\n", s.Rejects)
	reasons := make([]string, 0, len(s.Reasons))
	for r := range s.Reasons {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-20s %d\n", r, s.Reasons[r])
	}
	fmt.Fprintf(w, "elapsed    %s\noutput     %s\n", s.Elapsed.Round(time.Millisecond), out)
}

// printAgreement prints, for runs with article packages, the packages count and how the
// PDF-only extraction agreed with the XML (overall and per journal).
func printAgreement(w io.Writer, s articles.Summary) {
	if s.Packages == 0 {
		return
	}
	fmt.Fprintf(w, "packages   %d\n", s.Packages)
	a := s.Agreement
	if a.Total.Articles == 0 {
		return
	}
	fmt.Fprintf(w, "PDF-only vs XML  recall %.3f  precision %.3f  (%d articles, %d XML figures, %d PDF figures, %d agree; %s)\n",
		a.Total.Recall, a.Total.Precision, a.Total.Articles, a.Total.XMLFigures, a.Total.PDFFigures, a.Total.Matched, articles.AgreementFile)
	for _, j := range a.Journals {
		fmt.Fprintf(w, "  %-40.40s %3d articles  recall %.3f  precision %.3f\n", j.Journal, j.Articles, j.Recall, j.Precision)
	}
}
