// Command scaneval measures the scanned-page path on simulated scans of the born-digital test
// corpus: for each vignette PDF with a LaTeX/Sweave/R Markdown source, the pages that carry
// figure captions (up to -pages per document) are rendered at -dpi, degraded with a seeded
// recipe (skew, blur, noise, JPEG) and wrapped as an image-only PDF with img2pdf; the same
// extraction as `eosin extract` (layout.ExtractFile with the scan hook) then runs on it, and
// the captions found are scored against the source's ground truth (token F1 ≥ 0.8). It also
// reports seconds per page. Results are for simulated scans, not real ones.
//
//	go run -tags extlib ./layout/scan/cmd/scaneval -corpus testdata/cache -pages 3
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eosinlab/eosin/eval/captions"
	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/layout/caption"
	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/layout/scan/simscan"
	"github.com/eosinlab/eosin/ocr"
	"github.com/eosinlab/eosin/shards"
)

func main() {
	corpus := flag.String("corpus", "testdata/cache", "test corpus directory holding corpus.tsv")
	pages := flag.Int("pages", 3, "captioned pages per document (0: all of them)")
	docs := flag.Int("docs", 0, "documents at most (0: all)")
	dpi := flag.Int("dpi", 200, "scan resolution")
	seed := flag.Uint64("seed", 1, "degradation seed")
	verbose := flag.Bool("v", false, "list missed captions")
	flag.Parse()
	if err := run(*corpus, *pages, *docs, *dpi, *seed, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "scaneval:", err)
		os.Exit(1)
	}
}

func run(corpus string, maxPages, maxDocs, dpi int, seed uint64, verbose bool) error {
	ctx := context.Background()
	pdfs, err := corpusPDFs(corpus)
	if err != nil {
		return err
	}
	pool, err := ocr.NewPool(ocr.Config{})
	if err != nil {
		return err
	}
	defer pool.Close()
	sc := scan.New(pool, scan.Options{DPI: dpi})
	tmp, err := os.MkdirTemp("", "scaneval")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "document (simulated scan)\tpages\tGT fig\tfound\tmatched\trecall\tprecision\ts/page\t")
	var total captions.DocScore
	var totalPages int
	var totalTime time.Duration
	n := 0
	for _, pdf := range pdfs {
		src := captions.SourceFor(pdf)
		if src == "" {
			continue
		}
		if maxDocs > 0 && n >= maxDocs {
			break
		}
		truths, err := captions.ReadSource(src)
		if err != nil {
			return err
		}
		labelPage, err := labelPages(ctx, pdf)
		if err != nil {
			fmt.Fprintf(os.Stderr, "scaneval: %s: %v\n", pdf, err)
			continue
		}
		// Pages holding the true figure captions, found by their label in the text layer.
		var gt []captions.Truth
		chosen := map[int]bool{}
		var list []int
		for _, tr := range truths {
			if tr.Kind != "figure" {
				continue
			}
			p, ok := labelPage["Figure "+strconv.Itoa(tr.Index)]
			if !ok {
				continue
			}
			if !chosen[p] && (maxPages == 0 || len(list) < maxPages) {
				chosen[p] = true
				list = append(list, p)
			}
			if chosen[p] {
				gt = append(gt, tr)
			}
		}
		if len(list) == 0 {
			continue
		}
		n++
		out := filepath.Join(tmp, fmt.Sprintf("scan%03d.pdf", n))
		if _, err := simscan.Make(ctx, pdf, list, dpi, seed, out); err != nil {
			return err
		}
		start := time.Now()
		res, err := layout.ExtractFile(ctx, out, layout.Options{Scanned: sc.Figures})
		if err != nil {
			fmt.Fprintf(os.Stderr, "scaneval: %s: %v\n", pdf, err)
			continue
		}
		el := time.Since(start)
		var preds []captions.Pred
		for _, f := range res.Figures {
			preds = append(preds, captions.Pred{ID: f.ID, Kind: kind(f.Figure), Page: f.Page, Caption: f.Caption})
		}
		s := captions.Score("figure", gt, preds, nil)
		total = total.Add(s)
		totalPages += len(list)
		totalTime += el
		rel, _ := filepath.Rel(corpus, pdf)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.1f\t\n", shorten(rel), len(list), s.Truths, s.Preds, s.Matched,
			s.Recall(), s.Precision(), el.Seconds()/float64(len(list)))
		if verbose {
			for _, m := range s.Missed {
				fmt.Fprintf(tw, "  missed: %.70s\t\t\t\t\t\t\t\t\n", m.Text)
			}
			for _, m := range s.Spurious {
				fmt.Fprintf(tw, "  spurious: %.70s\t\t\t\t\t\t\t\t\n", m.Caption)
			}
		}
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.1f\t\n", totalPages, total.Truths, total.Preds, total.Matched,
		total.Recall(), total.Precision(), totalTime.Seconds()/float64(max(totalPages, 1)))
	return tw.Flush()
}

func kind(f shards.Figure) string {
	if f.Kind == "" {
		return "figure"
	}
	return f.Kind
}

func shorten(p string) string {
	parts := strings.Split(p, string(filepath.Separator))
	if len(parts) > 3 {
		return parts[1] + "/…/" + parts[len(parts)-1]
	}
	return p
}

// labelPages maps each caption label printed at the start of a line ("Figure 3") to its page.
func labelPages(ctx context.Context, path string) (map[string]int, error) {
	doc, err := extract.Open(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for n := 1; n <= doc.NumPages(); n++ {
		p, err := doc.Page(ctx, n)
		if err != nil {
			continue
		}
		for _, l := range p.Lines {
			if m, ok := caption.MatchLine(l.Text); ok && m.Sep != "" {
				if _, seen := out[m.Label]; !seen {
					out[m.Label] = n
				}
			}
		}
	}
	return out, nil
}

// corpusPDFs lists the PDFs of corpus.tsv (package, version, path, sha256).
func corpusPDFs(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, "corpus.tsv"))
	if err != nil {
		return nil, fmt.Errorf("corpus: %w (run make testdata)", err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Split(s.Text(), "\t")
		if len(fields) >= 3 && strings.HasSuffix(fields[2], ".pdf") {
			out = append(out, filepath.Join(dir, fields[2]))
		}
	}
	return out, s.Err()
}
