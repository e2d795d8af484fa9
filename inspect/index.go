package inspect

import (
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/eosinlab/eosin/articles"
)

type manifestJSON struct {
	Source string `json:"source"`
	Manifest
}

// agreementJSON is the agreement report of an extraction as the overview shows it.
type agreementJSON struct {
	Source   string                  `json:"source"`
	Metric   string                  `json:"metric,omitempty"`
	Total    articles.Score          `json:"total"`
	Journals []articles.JournalScore `json:"journals"`
}

type flagJSON struct {
	Name    string `json:"name"`
	Count   int    `json:"count"`
	Members []int  `json:"members"`
}

type countJSON struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type histJSON struct {
	Name  string    `json:"name"`
	N     int       `json:"n"`
	Mean  float64   `json:"mean"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Edges []float64 `json:"edges"`
	Bins  []int     `json:"bins"`
}

// indexJSON is data/index.js: everything the report shows before any chunk is loaded.
type indexJSON struct {
	Title     string         `json:"title"`
	Generated string         `json:"generated"`
	Sources   []string       `json:"sources"`
	Chunk     int            `json:"chunk"`
	TextChunk int            `json:"textChunk"`
	Totals    map[string]any `json:"totals"`
	Docs      []*docStat     `json:"docs"`
	Flags     []flagJSON     `json:"flags"`
	FDoc      []int          `json:"fdoc"`
	Kinds     []countJSON    `json:"kinds"`
	ImgSrc    []countJSON    `json:"imgSources"`
	Reasons   []countJSON    `json:"reasons"`
	Stages    []countJSON    `json:"stages"`
	RejKinds  []countJSON    `json:"rejectKinds"`
	Tasks     []countJSON    `json:"tasks"`
	Verdicts  []countJSON    `json:"verdictReasons"`
	Scores    []histJSON     `json:"scores"`
	Manifests []manifestJSON `json:"manifests"`
	// Agreements are the agreement reports of extractions of article packages.
	Agreements []agreementJSON `json:"agreements"`
}

func counts(m map[string]int) []countJSON {
	out := make([]countJSON, 0, len(m))
	for k, v := range m {
		out = append(out, countJSON{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func histogram(name string, vals []float64) histJSON {
	h := histJSON{Name: name, N: len(vals)}
	if len(vals) == 0 {
		return h
	}
	h.Min, h.Max = vals[0], vals[0]
	sum := 0.0
	for _, v := range vals {
		h.Min, h.Max = min(h.Min, v), max(h.Max, v)
		sum += v
	}
	h.Mean = round4(sum / float64(len(vals)))
	lo, hi := h.Min, h.Max
	if lo >= 0 && hi <= 1 {
		lo, hi = 0, 1 // rewards in [0, 1]: fixed bins read better
	}
	nb := 10
	if hi == lo {
		nb, hi = 1, lo+1
	}
	h.Bins = make([]int, nb)
	for k := 0; k <= nb; k++ {
		h.Edges = append(h.Edges, round4(lo+(hi-lo)*float64(k)/float64(nb)))
	}
	for _, v := range vals {
		k := int(float64(nb) * (v - lo) / (hi - lo))
		h.Bins[min(max(k, 0), nb-1)]++
	}
	h.Min, h.Max = round4(h.Min), round4(h.Max)
	return h
}

func (b *builder) writeIndex() error {
	flags := make([]flagJSON, len(b.flagNames)) // never nil: the scripts expect arrays
	for k, n := range b.flagNames {
		flags[k] = flagJSON{Name: n, Count: len(b.flagMembers[k]), Members: b.flagMembers[k]}
		if flags[k].Members == nil {
			flags[k].Members = []int{}
		}
	}
	sort.SliceStable(flags, func(i, j int) bool { return flags[i].Count > flags[j].Count })
	scores := []histJSON{}
	names := make([]string, 0, len(b.scoreVals))
	for k := range b.scoreVals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		scores = append(scores, histogram(k, b.scoreVals[k]))
	}
	flagged := 0
	for _, d := range b.docs {
		flagged += d.Flagged
	}
	totals := map[string]any{
		"documents":     len(b.docs),
		"pages":         len(b.pageRefs),
		"figures":       b.nfig,
		"subfigures":    b.subfigs,
		"withSubfig":    b.withSub,
		"ocr":           b.ocrUsed,
		"flagged":       flagged,
		"rejects":       b.nrej,
		"dedup":         b.dedup,
		"samples":       b.nsamp,
		"kept":          b.kept,
		"missingImages": b.sum.MissingImages,
		"pagesRendered": b.sum.PagesRendered,
	}
	// Builds may count duplicates in their manifest statistics instead of reject records.
	dedupStats := 0.0
	for _, m := range b.manifests {
		for k, v := range m.Stats {
			if !strings.Contains(strings.ToLower(k), "dedup") {
				continue
			}
			switch n := v.(type) {
			case float64:
				dedupStats += n
			case int:
				dedupStats += float64(n)
			case int64:
				dedupStats += float64(n)
			}
		}
	}
	if dedupStats > 0 {
		totals["dedupStats"] = dedupStats
	}
	if b.nfig > 0 {
		totals["ocrShare"] = round4(float64(b.ocrUsed) / float64(b.nfig))
	}
	if b.ocrConfN > 0 {
		totals["ocrConfidence"] = round2(b.ocrConf / float64(b.ocrConfN))
	}
	idx := indexJSON{
		Title: b.opts.Title, Generated: b.opts.Generated.UTC().Format(time.RFC3339), Sources: b.sources,
		Chunk: b.opts.ChunkSize, TextChunk: b.textChunk(), Totals: totals, Docs: b.docs, Flags: flags, FDoc: b.fdoc,
		Kinds: counts(b.kinds), ImgSrc: counts(b.imgSources), Reasons: counts(b.byReason),
		Stages: counts(b.byStage), RejKinds: counts(b.byKind), Tasks: counts(b.tasks),
		Verdicts: counts(b.verdictWhy), Scores: scores, Manifests: b.manifests, Agreements: b.agreements,
	}
	if idx.Agreements == nil {
		idx.Agreements = []agreementJSON{}
	}
	for k := range idx.Agreements {
		if idx.Agreements[k].Journals == nil {
			idx.Agreements[k].Journals = []articles.JournalScore{}
		}
	}
	if idx.Manifests == nil {
		idx.Manifests = []manifestJSON{}
	}
	if idx.Docs == nil {
		idx.Docs = []*docStat{}
	}
	if idx.FDoc == nil {
		idx.FDoc = []int{}
	}
	if err := b.writeScript("index.js", "index", 0, idx); err != nil {
		return fmt.Errorf("write report index: %w", err)
	}
	if err := b.writeScript("pages.js", "pages", 0, b.pages); err != nil {
		return fmt.Errorf("write page index: %w", err)
	}
	return nil
}

// writeAssets writes index.html and the embedded style sheet and script.
func writeAssets(dir, title string) error {
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if path := filepath.Base(p); path == "index.html" {
			dst = filepath.Join(dir, "index.html")
			data = []byte(strings.ReplaceAll(string(data), "{{TITLE}}", html.EscapeString(title)))
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("write report assets: %w", err)
	}
	return nil
}
