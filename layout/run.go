package layout

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

	"github.com/eosinlab/eosin/shards"
)

// RunOptions configure Run.
type RunOptions struct {
	Options
	// Jobs is the number of documents processed at once (default 1).
	Jobs int
	// Progress, when set, is called after each document (from one goroutine at a time).
	Progress func(Progress)
}

// Progress is the state of a run after a document.
type Progress struct {
	Docs, DocsTotal int
	Pages           int
	Figures         int
	Rejects         int
	Elapsed         time.Duration
	Last            string // the document just finished
}

// Summary is the outcome of a run.
type Summary struct {
	Docs     int
	Pages    int
	Figures  int
	Tables   int
	Rejects  int
	Elapsed  time.Duration
	Reasons  map[string]int // reject reason → count
	Failures int            // documents that could not be read
}

// Inputs expands files and directories (searched recursively for *.pdf, case-insensitive) into
// a sorted list of PDF paths without duplicates. Named files are taken whatever their suffix.
func Inputs(args []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", a, err)
		}
		if !st.IsDir() {
			if p := filepath.Clean(a); !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".pdf") {
				found = append(found, filepath.Clean(p))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", a, err)
		}
		sort.Strings(found)
		for _, p := range found {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

type docResult struct {
	figs    []Figure
	rejects []shards.Reject
	pages   int
	sha     string
	err     error
}

// Run extracts the figures of every input document into dir: figures.jsonl (one Figure record
// per line), images/<id>.png (the rendered region, when Render is set) with <id>.orig.<ext>
// for single-image figures, and rejects.jsonl. Documents are processed Jobs at a time and
// written in input order, so the same inputs give the same bytes. A document that fails is a
// reject line; the run goes on. Identical documents (same sha256) are processed once.
func Run(ctx context.Context, inputs []string, dir string, opts RunOptions) (Summary, error) {
	start := time.Now()
	sum := Summary{Reasons: map[string]int{}}
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
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
				o := opts.Options
				o.URI = inputs[i]
				res, err := extractIsolated(ctx, inputs[i], o)
				results[i] <- docResult{figs: res.Figures, rejects: res.Rejects, pages: res.Pages, sha: res.SHA256, err: err}
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
	var runErr error
	for i := range inputs {
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
		sum.Pages += r.pages
		if r.err != nil && len(r.rejects) == 0 {
			r.rejects = append(r.rejects, shards.Reject{Stage: "layout", Kind: "document", URI: inputs[i], Reason: reasonFor(r.err), Detail: r.err.Error()})
		}
		if r.err != nil {
			sum.Failures++
		}
		if r.sha != "" {
			if first, dup := seen[r.sha]; dup {
				r.figs = nil
				r.rejects = []shards.Reject{{Stage: "ingest", Kind: "document", URI: inputs[i], DocSHA: r.sha, Reason: "duplicate_document", Detail: "same sha256 as " + first}}
			} else {
				seen[r.sha] = inputs[i]
			}
		}
		for _, f := range r.figs {
			if opts.Render && len(f.ImageBytes) > 0 {
				if err := writeFile(filepath.Join(imgDir, f.ID+".png"), f.ImageBytes); err != nil {
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
			if err := rejEnc.Encode(rj); err != nil {
				return sum, fmt.Errorf("rejects.jsonl: %w", err)
			}
			sum.Rejects++
			sum.Reasons[rj.Reason]++
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Docs: sum.Docs, DocsTotal: len(inputs), Pages: sum.Pages, Figures: sum.Figures + sum.Tables,
				Rejects: sum.Rejects, Elapsed: time.Since(start), Last: inputs[i]})
		}
	}
	wg.Wait()
	sum.Elapsed = time.Since(start)
	if err := figF.Close(); err != nil {
		return sum, fmt.Errorf("figures.jsonl: %w", err)
	}
	if err := rejF.Close(); err != nil {
		return sum, fmt.Errorf("rejects.jsonl: %w", err)
	}
	return sum, runErr
}

func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}
