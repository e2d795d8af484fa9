package articles

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

// Input is one document of a run: a plain PDF or an article package.
type Input struct {
	Path    string
	Package bool
}

// Inputs expands the arguments of a run into documents. A named file is a package when it
// is a .tar.gz/.tgz or a .nxml/.xml, otherwise a PDF (whatever its suffix). A directory that
// holds one .nxml file is one package; other directories are searched recursively: sub-folders
// holding one .nxml are packages (not searched further), .tar.gz/.tgz files are packages, a .xml
// or .nxml with a PDF of the same name beside it is a package (that PDF is its, not a plain
// PDF), and the other *.pdf are plain PDFs. Packages come first, then PDFs, each sorted, so
// that an article present both ways keeps its package (see Run).
func Inputs(args []string) ([]Input, error) {
	seen := map[string]bool{}
	var pkgs, pdfs []string
	add := func(list *[]string, p string) {
		p = filepath.Clean(p)
		if !seen[p] {
			seen[p] = true
			*list = append(*list, p)
		}
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", a, err)
		}
		if !st.IsDir() {
			if IsArchive(a) || IsXML(a) {
				add(&pkgs, a)
			} else {
				add(&pdfs, a)
			}
			continue
		}
		var fp, fk []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if hasNXML(p) {
					fk = append(fk, p)
					return filepath.SkipDir
				}
				return nil
			}
			name := d.Name()
			switch {
			case IsArchive(name):
				fk = append(fk, p)
			case IsXML(name):
				if pairedPDF(p) != "" {
					fk = append(fk, p)
				}
			case strings.EqualFold(filepath.Ext(name), ".pdf"):
				if !pairedXML(p) {
					fp = append(fp, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", a, err)
		}
		sort.Strings(fk)
		sort.Strings(fp)
		for _, p := range fk {
			add(&pkgs, p)
		}
		for _, p := range fp {
			add(&pdfs, p)
		}
	}
	out := make([]Input, 0, len(pkgs)+len(pdfs))
	for _, p := range pkgs {
		out = append(out, Input{Path: p, Package: true})
	}
	for _, p := range pdfs {
		out = append(out, Input{Path: p})
	}
	return out, nil
}

// hasNXML reports whether a directory is a package folder: it directly holds exactly one
// .nxml file. A folder holding several is a flat folder of loose articles (each .nxml with
// its PDF beside it), searched like any other.
func hasNXML(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".nxml") {
			n++
		}
	}
	return n == 1
}

// pairedPDF is the PDF named like the XML file beside it, or "".
func pairedPDF(xmlPath string) string {
	stem := strings.TrimSuffix(xmlPath, filepath.Ext(xmlPath))
	for _, ext := range []string{".pdf", ".PDF"} {
		if st, err := os.Stat(stem + ext); err == nil && !st.IsDir() {
			return stem + ext
		}
	}
	return ""
}

// pairedXML reports whether a PDF has article XML of the same name beside it.
func pairedXML(pdfPath string) bool {
	stem := strings.TrimSuffix(pdfPath, filepath.Ext(pdfPath))
	for _, ext := range []string{".nxml", ".xml", ".NXML", ".XML"} {
		if st, err := os.Stat(stem + ext); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}

// RunOptions configure Run.
type RunOptions struct {
	Options
	// Jobs is the number of documents processed at once (default 1).
	Jobs int
	// Progress, when set, is called after each document (from one goroutine at a time).
	Progress func(layout.Progress)
}

// Summary is the outcome of a run.
type Summary struct {
	layout.Summary
	// Packages counts the article packages among the documents.
	Packages int
	// Agreement compares the PDF-only extraction with the XML wherever both were read.
	Agreement Report
}

type docResult struct {
	doc       shards.Doc // the article's metadata (packages); URI and SHA256 for PDFs
	figs      []layout.Figure
	rejects   []shards.Reject
	pages     int
	sha       string
	agreement *DocAgreement
	err       error
}

// AgreementFile is the name of the agreement report in a run's output directory.
const AgreementFile = "agreement.json"

// DocumentsFile is the name of the document list in a run's output directory.
const DocumentsFile = "documents.jsonl"

// DocumentLine is one line of documents.jsonl: every input document of a run, those that
// gave no figure and no reject included, in input order.
type DocumentLine struct {
	shards.Doc
	// Package: the document is an article package.
	Package bool `json:"package,omitempty"`
	Pages   int  `json:"pages"`
	Figures int  `json:"figures"`
	Rejects int  `json:"rejects"`
	// Status is ok, rejected (a document reject: unreadable, malformed, …) or duplicate.
	Status string `json:"status"`
}

// Run extracts the figures of plain PDFs and article packages into dir, like layout.Run:
// figures.jsonl (one shards.Figure per line, with source pdf, scan, xml+pdf or xml+image),
// images/<id>.<ext> (the rendered crop as .png, or the package's figure file in its own
// format) with <id>.orig.<ext> for single-image PDF figures, rejects.jsonl, documents.jsonl
// (a DocumentLine per input document) and agreement.json (the agreement Report). Documents are processed Jobs at a time and written
// in input order, so the same inputs give the same bytes. Documents are deduplicated by the
// sha256 of their PDF: a plain PDF that is also a package's PDF (or a second copy of a
// package) gives a "duplicate_document" reject, and the first one in input order — a
// package, as Inputs lists packages first — keeps the figures.
func Run(ctx context.Context, inputs []Input, dir string, opts RunOptions) (Summary, error) {
	start := time.Now()
	sum := Summary{Summary: layout.Summary{Reasons: map[string]int{}}}
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	render := opts.Layout.Render
	imgDir := filepath.Join(dir, "images")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return sum, fmt.Errorf("output: %w", err)
	}
	figF, err := os.Create(filepath.Join(dir, "figures.jsonl"))
	if err != nil {
		return sum, fmt.Errorf("output: %w", err)
	}
	defer figF.Close()
	rejF, err := os.Create(filepath.Join(dir, "rejects.jsonl"))
	if err != nil {
		return sum, fmt.Errorf("output: %w", err)
	}
	defer rejF.Close()
	figEnc := json.NewEncoder(figF)
	figEnc.SetEscapeHTML(false)
	rejEnc := json.NewEncoder(rejF)
	rejEnc.SetEscapeHTML(false)
	docF, err := os.Create(filepath.Join(dir, DocumentsFile))
	if err != nil {
		return sum, fmt.Errorf("output: %w", err)
	}
	defer docF.Close()
	docEnc := json.NewEncoder(docF)
	docEnc.SetEscapeHTML(false)

	results := make([]chan docResult, len(inputs))
	for i := range results {
		results[i] = make(chan docResult, 1)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < opts.Jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] <- processInput(ctx, inputs[i], opts.Options)
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range inputs {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	seen := map[string]string{}
	var agreements []DocAgreement
	var runErr error
	for i, in := range inputs {
		var r docResult
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			runErr = ctx.Err()
		}
		if runErr != nil {
			break
		}
		sum.Docs++
		if in.Package {
			sum.Packages++
		}
		sum.Pages += r.pages
		if r.err != nil && len(r.rejects) == 0 {
			r.rejects = append(r.rejects, shards.Reject{Stage: "ingest", Kind: "document", URI: in.Path, Reason: Reason(r.err), Detail: r.err.Error()})
		}
		if r.err != nil {
			sum.Failures++
		}
		line := DocumentLine{Doc: r.doc, Package: in.Package, Pages: r.pages, Status: "ok"}
		if line.URI == "" {
			line.URI = in.Path
		}
		if line.SHA256 == "" {
			line.SHA256 = r.sha
		}
		if r.sha != "" {
			if first, dup := seen[r.sha]; dup {
				line.Status = "duplicate"
				r.figs, r.agreement = nil, nil
				r.rejects = []shards.Reject{{Stage: "ingest", Kind: "document", URI: in.Path, DocSHA: r.sha, Reason: "duplicate_document", Detail: "same PDF (sha256) as " + first}}
			} else {
				seen[r.sha] = in.Path
			}
		}
		if r.agreement != nil {
			agreements = append(agreements, *r.agreement)
		}
		for _, f := range r.figs {
			if render && len(f.ImageBytes) > 0 {
				if err := writeFile(filepath.Join(imgDir, f.ID+"."+imageExt(f.Image.Format)), f.ImageBytes); err != nil {
					return sum, err
				}
				if f.Original != nil {
					if err := writeFile(filepath.Join(imgDir, f.ID+".orig."+f.Original.Ext), f.Original.Data); err != nil {
						return sum, err
					}
				}
			}
			if err := figEnc.Encode(f.Figure); err != nil {
				return sum, fmt.Errorf("figures.jsonl: %w", err)
			}
			if f.Kind == "table" {
				sum.Tables++
			} else {
				sum.Figures++
			}
		}
		for _, rj := range r.rejects {
			if rj.Kind == "document" && line.Status == "ok" {
				line.Status = "rejected"
			}
			if err := rejEnc.Encode(rj); err != nil {
				return sum, fmt.Errorf("rejects.jsonl: %w", err)
			}
			sum.Rejects++
			sum.Reasons[rj.Reason]++
		}
		line.Figures, line.Rejects = len(r.figs), len(r.rejects)
		if err := docEnc.Encode(line); err != nil {
			return sum, fmt.Errorf("%s: %w", DocumentsFile, err)
		}
		if opts.Progress != nil {
			opts.Progress(layout.Progress{Docs: sum.Docs, DocsTotal: len(inputs), Pages: sum.Pages, Figures: sum.Figures + sum.Tables,
				Rejects: sum.Rejects, Elapsed: time.Since(start), Last: in.Path})
		}
	}
	wg.Wait()
	sum.Elapsed = time.Since(start)
	sum.Agreement = NewReport(agreements)
	if err := figF.Close(); err != nil {
		return sum, fmt.Errorf("figures.jsonl: %w", err)
	}
	if err := rejF.Close(); err != nil {
		return sum, fmt.Errorf("rejects.jsonl: %w", err)
	}
	if err := docF.Close(); err != nil {
		return sum, fmt.Errorf("%s: %w", DocumentsFile, err)
	}
	if err := WriteReport(filepath.Join(dir, AgreementFile), sum.Agreement); err != nil {
		return sum, err
	}
	return sum, runErr
}

// processInput runs one document: a package through Process, a PDF through the layout.
func processInput(ctx context.Context, in Input, opts Options) docResult {
	if in.Package {
		res, err := Process(ctx, in.Path, opts)
		return docResult{doc: res.Doc, figs: res.Figures, rejects: res.Rejects, pages: res.Pages, sha: res.Doc.SHA256, agreement: res.Agreement, err: err}
	}
	lo := opts.Layout
	lo.URI = in.Path
	res, err := layout.ExtractFile(ctx, in.Path, lo)
	for i := range res.Figures {
		res.Figures[i].Source = SourceOf(res.Figures[i].Figure)
	}
	return docResult{doc: shards.Doc{URI: in.Path, SHA256: res.SHA256}, figs: res.Figures, rejects: res.Rejects, pages: res.Pages, sha: res.SHA256, err: err}
}

// SourceOf is the source of a record from the PDF path: scan when OCR read its caption,
// else pdf; a record that already names its source keeps it.
func SourceOf(f shards.Figure) string {
	switch {
	case f.Source != "":
		return f.Source
	case f.OCR.Used:
		return SourceScan
	}
	return SourcePDF
}

// imageExt is the file extension of an image format.
func imageExt(format string) string {
	switch format {
	case "jpeg":
		return "jpg"
	case "tiff":
		return "tif"
	case "":
		return "png"
	}
	return format
}

func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}
