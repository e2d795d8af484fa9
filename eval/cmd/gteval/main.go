// Command gteval scores eosin's figure extraction on a folder of PDFs whose ground truth is a
// gt.jsonl file beside them, one caption a line:
//
//	{"doc": "NAME.pdf", "label": "Figure 2", "caption": "...", "kind": "table"?, "scan": true?}
//
// (captions taken from each article's publisher XML). A predicted caption matches a true one
// when the token F1 of their lower-cased alphanumeric tokens is at least 0.8, each used once,
// best pairs first; an empty caption matches an empty one. Documents marked "scan" (image-only
// copies) are scored as their own group and go through OCR. Every PDF in the folder is run, so
// figures found in documents without ground-truth figures count as false positives.
//
// It prints recall and precision per document and per group, the count of each reject reason,
// and with -v every miss (document, page) and every spurious figure.
//
//	go run ./eval/cmd/gteval -dir path/to/corpus -out /tmp/eosin-gteval -v
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/eosinlab/eosin/eval/captions"
	"github.com/eosinlab/eosin/eval/extractout"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/ocr"
	"github.com/eosinlab/eosin/shards"
)

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "folder holding the PDFs and gt.jsonl")
	flag.StringVar(&o.out, "out", filepath.Join(os.TempDir(), "eosin-gteval"), "output directory of the extraction")
	flag.BoolVar(&o.reuse, "reuse", false, "score the figures.jsonl already in -out instead of extracting")
	flag.IntVar(&o.jobs, "jobs", 2, "documents processed at once")
	flag.IntVar(&o.dpi, "dpi", 100, "crop resolution")
	flag.BoolVar(&o.render, "render", true, "render crops (off: layout only, faster)")
	flag.BoolVar(&o.ocr, "ocr", true, "run OCR on scanned pages (needs Tesseract)")
	flag.StringVar(&o.only, "only", "", "comma-separated document names to run (default all)")
	flag.BoolVar(&o.verbose, "v", false, "list misses, spurious figures and figure rejects")
	flag.Parse()
	if o.dir == "" {
		fmt.Fprintln(os.Stderr, "gteval: -dir is required")
		os.Exit(2)
	}
	if _, err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gteval:", err)
		os.Exit(1)
	}
}

type options struct {
	dir, out, only     string
	reuse, render, ocr bool
	verbose            bool
	jobs, dpi          int
}

// gtLine is one line of gt.jsonl.
type gtLine struct {
	Doc     string `json:"doc"`
	Label   string `json:"label"`
	Caption string `json:"caption"`
	Kind    string `json:"kind"`
	Scan    bool   `json:"scan"`
}

type document struct {
	name   string
	pdf    string
	scan   bool
	truths []captions.Truth
	labels []string
}

// emptyCaption stands for an empty caption on both sides, so that a figure printed with its
// label only matches a prediction with no caption text.
const emptyCaption = "emptycaption"

// run extracts (unless o.reuse) and scores every document, printing the report to w. It
// returns the total score of each group ("born-digital", "image-only").
func run(ctx context.Context, o options, w io.Writer) (map[string]captions.DocScore, error) {
	docs, err := loadDocs(o.dir, o.only)
	if err != nil {
		return nil, err
	}
	if !o.reuse {
		inputs := make([]string, len(docs))
		for i, d := range docs {
			inputs[i] = d.pdf
		}
		opts := layout.Options{DPI: o.dpi, Render: o.render, Tables: true}
		if o.ocr {
			pool, err := ocr.NewPool(ocr.Config{Size: max(o.jobs, 1)})
			if err != nil {
				return nil, fmt.Errorf("%w (or run with -ocr=false)", err)
			}
			defer pool.Close()
			opts.Scanned = scan.New(pool, scan.Options{DPI: o.dpi, NoCrops: !o.render, Tables: true}).Figures
		}
		sum, err := layout.Run(ctx, inputs, o.out, layout.RunOptions{Options: opts, Jobs: o.jobs})
		if err != nil {
			return nil, err
		}
		slog.Info("extracted", "docs", sum.Docs, "pages", sum.Pages, "figures", sum.Figures, "tables", sum.Tables,
			"rejects", sum.Rejects, "elapsed", sum.Elapsed.Round(1e6))
	}
	preds, err := extractout.ReadFigures(filepath.Join(o.out, "figures.jsonl"), nil)
	if err != nil {
		return nil, err
	}
	rejects, err := extractout.ReadRejects(filepath.Join(o.out, "rejects.jsonl"))
	if err != nil {
		return nil, err
	}
	totals := map[string]captions.DocScore{}
	for _, group := range []bool{false, true} {
		var gd []document
		for _, d := range docs {
			if d.scan == group {
				gd = append(gd, d)
			}
		}
		if len(gd) == 0 {
			continue
		}
		name := "born-digital"
		if group {
			name = "image-only"
		}
		fmt.Fprintf(w, "== %s (%d documents)\n", name, len(gd))
		total, err := report(w, o, gd, preds, rejects)
		if err != nil {
			return nil, err
		}
		totals[name] = total
		fmt.Fprintln(w)
	}
	return totals, nil
}

// report scores one group of documents and prints the table, the reject reasons and the details.
func report(w io.Writer, o options, docs []document, preds map[string][]captions.Pred, rejects map[string][]shards.Reject) (captions.DocScore, error) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "document\tGT fig\tfound\tmatched\trecall\tprecision\tcrop ok\t")
	var total captions.DocScore
	var docRejects []shards.Reject
	var details []string
	for _, d := range docs {
		pages := pageTexts(d)
		pagesOf := func(t captions.Truth) []int {
			if len(pages) == 0 {
				return nil
			}
			return captions.PagesOf(t, pages)
		}
		ps := preds[d.pdf]
		for i := range ps {
			if strings.TrimSpace(ps[i].Caption) == "" {
				ps[i].Caption = emptyCaption
			}
		}
		var pf func(captions.Truth) []int
		if len(pages) > 0 {
			pf = pagesOf
		}
		s := captions.Score("figure", d.truths, ps, pf)
		total = total.Add(s)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.3f\t%.3f\t%d\t\n", d.name, s.Truths, s.Preds, s.Matched, s.Recall(), s.Precision(), s.CropsOnPage)
		docRejects = append(docRejects, rejects[d.pdf]...)
		if !o.verbose {
			continue
		}
		for _, m := range s.Missed {
			details = append(details, fmt.Sprintf("%s: MISSED %s (page %v): %.110s", d.name, d.labels[m.Index-1], pagesOf(m), m.Text))
		}
		for _, p := range s.Spurious {
			details = append(details, fmt.Sprintf("%s: SPURIOUS page %d %s: %.110s", d.name, p.Page, p.ID, p.Caption))
		}
		for _, b := range s.BadCrops {
			details = append(details, fmt.Sprintf("%s: CROP %s", d.name, b))
		}
		for _, r := range rejects[d.pdf] {
			if r.Kind == "figure" || r.Kind == "page" {
				details = append(details, fmt.Sprintf("%s: REJECT page %d %s: %.110s", d.name, r.Page, r.Reason, r.Detail))
			}
		}
	}
	fmt.Fprintf(tw, "TOTAL\t%d\t%d\t%d\t%.3f\t%.3f\t%d\t\n", total.Truths, total.Preds, total.Matched, total.Recall(), total.Precision(), total.CropsOnPage)
	if err := tw.Flush(); err != nil {
		return total, err
	}
	fmt.Fprintf(w, "rejects: %s\n", extractout.Reasons(docRejects))
	for _, d := range details {
		fmt.Fprintln(w, d)
	}
	fmt.Fprintf(w, "figures: recall %.3f  precision %.3f  (%d true, %d found, %d matched, %d with a non-empty crop on the right page)\n",
		total.Recall(), total.Precision(), total.Truths, total.Preds, total.Matched, total.CropsOnPage)
	return total, nil
}

// loadDocs reads gt.jsonl and lists every PDF of the folder with its true figure captions.
func loadDocs(dir, only string) ([]document, error) {
	f, err := os.Open(filepath.Join(dir, "gt.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	defer f.Close()
	byName := map[string]*document{}
	get := func(name string) *document {
		d, ok := byName[name]
		if !ok {
			d = &document{name: name, pdf: filepath.Join(dir, name)}
			byName[name] = d
		}
		return d
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var l gtLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("gt.jsonl line %d: %w", n, err)
		}
		d := get(l.Doc)
		d.scan = d.scan || l.Scan
		if l.Kind == "table" {
			continue
		}
		text := l.Caption
		if strings.TrimSpace(text) == "" {
			text = emptyCaption
		}
		d.truths = append(d.truths, captions.Truth{Kind: "figure", Index: len(d.truths) + 1, Text: text, Source: "xml"})
		d.labels = append(d.labels, l.Label)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gt.jsonl: %w", err)
	}
	pdfs, err := filepath.Glob(filepath.Join(dir, "*.pdf"))
	if err != nil {
		return nil, err
	}
	for _, p := range pdfs {
		d := get(filepath.Base(p))
		if strings.HasSuffix(d.name, "-scan.pdf") {
			d.scan = true
		}
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var docs []document
	for _, d := range byName {
		if len(want) > 0 && !want[d.name] && !want[strings.TrimSuffix(d.name, ".pdf")] {
			continue
		}
		if _, err := os.Stat(d.pdf); err != nil {
			return nil, fmt.Errorf("ground truth names %s: %w", d.name, err)
		}
		docs = append(docs, *d)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].name < docs[j].name })
	return docs, nil
}

// pageTexts returns the tokens of each page as poppler's pdftotext reads them (an extractor
// independent of eosin, used only to say where a missed caption is printed). Image-only copies
// are read from the born-digital document they were made from, when it is beside them.
func pageTexts(d document) [][]string {
	pdf := d.pdf
	if d.scan {
		if orig := strings.TrimSuffix(pdf, "-scan.pdf") + ".pdf"; orig != pdf {
			if _, err := os.Stat(orig); err == nil {
				pdf = orig
			}
		}
	}
	pages, err := extractout.PageTexts(pdf)
	if err != nil {
		return nil
	}
	return pages
}
