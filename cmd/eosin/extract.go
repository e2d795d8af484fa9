package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/ocr"
)

// newExtractCmd builds `eosin extract`: figures with their captions from PDFs into a directory.
func newExtractCmd() *cobra.Command {
	var (
		out     string
		dpi     int
		jobs    int
		tables  bool
		noImage bool
		noOCR   bool
		langs   []string
		tessdir string
	)
	cmd := &cobra.Command{
		Use:   "extract PDF|PACKAGE|DIR... -o OUT",
		Short: "Extract figures with their captions, sub-figures and mentions from PDFs and article packages",
		Long: `extract finds every captioned figure in born-digital PDFs (files, or directories
searched recursively for *.pdf) and in publisher article packages, and writes:

  OUT/figures.jsonl           one Figure record per line (label, caption, bbox in PDF points
                              with origin top-left, sub-figures, citing sentences, image info,
                              source: pdf, scan, xml+pdf or xml+image)
  OUT/images/<id>.png         the figure region rendered at --dpi
  OUT/images/<id>.<ext>       a package's own figure file, native bytes (e.g. .jpg)
  OUT/images/<id>.orig.<ext>  the embedded image's own bytes, when the figure is one image
  OUT/rejects.jsonl           every document, page, caption or XML figure that gave nothing, and why
  OUT/agreement.json          for packages with XML and PDF: how the PDF-only extraction agrees
                              with the XML (recall, precision, per journal and per article)

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
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("extract: -o OUT is required")
			}
			if dpi < 36 || dpi > 1200 {
				return fmt.Errorf("extract: --dpi %d out of range 36–1200", dpi)
			}
			inputs, err := articles.Inputs(args)
			if err != nil {
				return fmt.Errorf("extract: %w", err)
			}
			if len(inputs) == 0 {
				return fmt.Errorf("extract: no PDF or article package found in %s", strings.Join(args, " "))
			}
			opts := layout.Options{DPI: dpi, Render: !noImage, Tables: tables}
			if !noOCR {
				pool, err := ocr.NewPool(ocr.Config{Languages: langs, TessdataPrefix: tessdir, Size: max(jobs, 1)})
				if err != nil {
					return fmt.Errorf("extract: %w (or use --no-ocr to skip scanned pages)", err)
				}
				defer pool.Close()
				opts.Scanned = scan.New(pool, scan.Options{DPI: dpi, NoCrops: noImage, Tables: tables}).Figures
			}
			stderr := cmd.ErrOrStderr()
			prog := newProgress(stderr, isTerminal(stderr))
			sum, err := articles.Run(cmd.Context(), inputs, out, articles.RunOptions{
				Options:  articles.Options{Layout: opts},
				Jobs:     jobs,
				Progress: prog.update,
			})
			prog.done()
			printSummary(cmd.OutOrStdout(), sum.Summary, out)
			printAgreement(cmd.OutOrStdout(), sum)
			if err != nil {
				return fmt.Errorf("extract: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory (created if missing)")
	cmd.Flags().IntVar(&dpi, "dpi", 200, "resolution of the rendered crops")
	cmd.Flags().IntVar(&jobs, "jobs", 1, "documents processed at once")
	cmd.Flags().BoolVar(&tables, "tables", false, "also write tables (kind: table)")
	cmd.Flags().BoolVar(&noImage, "no-images", false, "write records only: no rendering, no image files")
	cmd.Flags().BoolVar(&noOCR, "no-ocr", false, "do not OCR scanned pages (they become scanned_page rejects)")
	cmd.Flags().StringSliceVar(&langs, "lang", []string{"eng"}, "Tesseract languages for scanned pages")
	cmd.Flags().StringVar(&tessdir, "tessdata", "", "directory of Tesseract *.traineddata files (default: Tesseract's own)")
	return cmd
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress shows documents, pages, figures, rate and ETA: a redrawn line on a terminal,
// otherwise a log line every logEvery.
type progress struct {
	w       io.Writer
	tty     bool
	last    time.Time
	drawn   bool
	current layout.Progress
}

const logEvery = 10 * time.Second

func newProgress(w io.Writer, tty bool) *progress { return &progress{w: w, tty: tty, last: time.Now()} }

func (p *progress) update(s layout.Progress) {
	p.current = s
	rate := float64(s.Pages) / s.Elapsed.Seconds()
	eta := time.Duration(0)
	if s.Docs > 0 {
		eta = time.Duration(float64(s.Elapsed) / float64(s.Docs) * float64(s.DocsTotal-s.Docs))
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[Kdocuments %d/%d  pages %d  figures %d  rejects %d  %.1f pages/s  ETA %s",
			s.Docs, s.DocsTotal, s.Pages, s.Figures, s.Rejects, rate, eta.Round(time.Second))
		p.drawn = true
		return
	}
	if time.Since(p.last) >= logEvery || s.Docs == s.DocsTotal {
		p.last = time.Now()
		slog.Info("extract", "documents", fmt.Sprintf("%d/%d", s.Docs, s.DocsTotal), "pages", s.Pages,
			"figures", s.Figures, "rejects", s.Rejects, "pages_per_s", fmt.Sprintf("%.1f", rate), "eta", eta.Round(time.Second))
	}
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
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
