// Command figeval measures eosin's figure extraction against ground truth taken from the
// LaTeX/Sweave/R Markdown sources shipped next to the test corpus PDFs: caption recall and
// precision (a caption matches when its normalised token F1 with the true one is at least 0.8)
// and how many matched figures have a non-empty crop on the right page. It runs the same
// extraction as `eosin extract` (layout.Run) unless -figures points at an existing output.
//
//	go run ./eval/cmd/figeval -corpus testdata/cache -out /tmp/eosin-eval
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"image"
	_ "image/png"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/eosinlab/eosin/eval/captions"
	"github.com/eosinlab/eosin/eval/extractout"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

func main() {
	corpus := flag.String("corpus", "testdata/cache", "test corpus directory holding corpus.tsv")
	out := flag.String("out", filepath.Join(os.TempDir(), "eosin-eval"), "output directory of the extraction")
	existing := flag.Bool("reuse", false, "score the figures.jsonl already in -out instead of extracting")
	jobs := flag.Int("jobs", 2, "documents processed at once")
	dpi := flag.Int("dpi", 100, "crop resolution")
	verbose := flag.Bool("v", false, "list missed and spurious captions")
	flag.Parse()
	if err := run(*corpus, *out, *existing, *jobs, *dpi, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "figeval:", err)
		os.Exit(1)
	}
}

type doc struct {
	pdf, src string
	truths   []captions.Truth
}

func run(corpus, out string, reuse bool, jobs, dpi int, verbose bool) error {
	docs, err := loadCorpus(corpus)
	if err != nil {
		return err
	}
	if !reuse {
		inputs := make([]string, len(docs))
		for i, d := range docs {
			inputs[i] = d.pdf
		}
		sum, err := layout.Run(context.Background(), inputs, out, layout.RunOptions{
			Options: layout.Options{DPI: dpi, Render: true, Tables: true}, Jobs: jobs})
		if err != nil {
			return err
		}
		slog.Info("extracted", "docs", sum.Docs, "pages", sum.Pages, "figures", sum.Figures, "tables", sum.Tables,
			"rejects", sum.Rejects, "elapsed", sum.Elapsed.Round(1e6))
	}
	imgDir := filepath.Join(out, "images")
	preds, err := extractout.ReadFigures(filepath.Join(out, "figures.jsonl"), func(f shards.Figure) bool {
		return cropInked(filepath.Join(imgDir, f.ID+".png"))
	})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "document\tGT fig\tfound\tmatched\trecall\tprecision\tcrop ok\tGT tab\ttab R\ttab P\t")
	var total, totalTab captions.DocScore
	var details []string
	for _, d := range docs {
		pages, err := extractout.PageTexts(d.pdf)
		if err != nil {
			return err
		}
		pagesOf := func(t captions.Truth) []int { return captions.PagesOf(t, pages) }
		pageOf := func(t captions.Truth) []int { return pagesOf(t) }
		s := captions.Score("figure", d.truths, preds[d.pdf], pagesOf)
		ts := captions.Score("table", d.truths, preds[d.pdf], pagesOf)
		total = total.Add(s)
		totalTab = totalTab.Add(ts)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.3f\t%d\t%d\t%.2f\t%.2f\t\n", shortName(d.pdf), s.Truths, s.Preds, s.Matched,
			s.Recall(), s.Precision(), s.CropsOnPage, ts.Truths, ts.Recall(), ts.Precision())
		if verbose {
			for _, m := range s.Missed {
				details = append(details, fmt.Sprintf("%s: MISSED figure %d (page %v): %.100s", shortName(d.pdf), m.Index, pageOf(m), m.Text))
			}
			for _, p := range s.Spurious {
				details = append(details, fmt.Sprintf("%s: SPURIOUS page %d %s: %.100s", shortName(d.pdf), p.Page, p.ID, p.Caption))
			}
			for _, b := range s.BadCrops {
				details = append(details, fmt.Sprintf("%s: CROP %s", shortName(d.pdf), b))
			}
			for _, m := range ts.Missed {
				details = append(details, fmt.Sprintf("%s: MISSED table %d: %.100s", shortName(d.pdf), m.Index, m.Text))
			}
			for _, p := range ts.Spurious {
				details = append(details, fmt.Sprintf("%s: SPURIOUS table page %d %s: %.100s", shortName(d.pdf), p.Page, p.ID, p.Caption))
			}
		}
	}
	fmt.Fprintf(tw, "TOTAL (%d documents)\t%d\t%d\t%d\t%.3f\t%.3f\t%d\t%d\t%.2f\t%.2f\t\n", len(docs), total.Truths, total.Preds,
		total.Matched, total.Recall(), total.Precision(), total.CropsOnPage, totalTab.Truths, totalTab.Recall(), totalTab.Precision())
	tw.Flush()
	if len(details) > 0 {
		fmt.Println()
		for _, d := range details {
			fmt.Println(d)
		}
	}
	if rejects, err := extractout.ReadRejects(filepath.Join(out, "rejects.jsonl")); err == nil {
		var all []shards.Reject
		for _, rs := range rejects {
			all = append(all, rs...)
		}
		fmt.Printf("\nrejects: %s\n", extractout.Reasons(all))
	}
	f1 := 0.0
	if total.Recall()+total.Precision() > 0 {
		f1 = 2 * total.Recall() * total.Precision() / (total.Recall() + total.Precision())
	}
	fmt.Printf("\nfigures: recall %.3f  precision %.3f  F1 %.3f  matched with a non-empty crop on the right page %d/%d\n",
		total.Recall(), total.Precision(), f1, total.CropsOnPage, total.Matched)
	fmt.Printf("tables:  recall %.3f  precision %.3f (%d true, %d found)\n", totalTab.Recall(), totalTab.Precision(), totalTab.Truths, totalTab.Preds)
	return nil
}

// loadCorpus lists the corpus PDFs that have a source file next to them.
func loadCorpus(corpus string) ([]doc, error) {
	f, err := os.Open(filepath.Join(corpus, "corpus.tsv"))
	if err != nil {
		return nil, fmt.Errorf("corpus (run make testdata): %w", err)
	}
	defer f.Close()
	var docs []doc
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 4 || !strings.HasSuffix(cols[2], ".pdf") || seen[cols[3]] {
			continue
		}
		pdf := filepath.Join(corpus, cols[2])
		src := captions.SourceFor(pdf)
		if src == "" {
			continue
		}
		seen[cols[3]] = true
		ts, err := captions.ReadSource(src)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc{pdf: pdf, src: src, truths: ts})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("corpus.tsv: %w", err)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].pdf < docs[j].pdf })
	return docs, nil
}

// cropInked reports whether the PNG exists and has a pixel that is not near white.
func cropInked(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return false
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			if a > 0x8000 && (r < 0xd000 || g < 0xd000 || bl < 0xd000) {
				return true
			}
		}
	}
	return false
}

func shortName(p string) string {
	return filepath.Base(filepath.Dir(filepath.Dir(p))) + "/" + filepath.Base(p)
}
