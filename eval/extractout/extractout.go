// Package extractout reads what `eosin extract` writes (figures.jsonl, rejects.jsonl) for the
// evaluation commands, and the page texts an independent extractor (poppler's pdftotext)
// reads, used to say where a caption is printed.
package extractout

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/eosinlab/eosin/eval/captions"
	"github.com/eosinlab/eosin/shards"
)

// ReadFigures groups the records of figures.jsonl by document URI as predictions to score.
// cropOK, when set, tells whether a figure's crop is usable (its box must be non-empty too).
func ReadFigures(path string, cropOK func(shards.Figure) bool) (map[string][]captions.Pred, error) {
	out := map[string][]captions.Pred{}
	err := readLines(path, "figures", func(b []byte) error {
		var fig shards.Figure
		if err := json.Unmarshal(b, &fig); err != nil {
			return err
		}
		kind := fig.Kind
		if kind == "" {
			kind = "figure"
		}
		ok := fig.BBox[2] > fig.BBox[0] && fig.BBox[3] > fig.BBox[1] && (cropOK == nil || cropOK(fig))
		out[fig.Doc.URI] = append(out[fig.Doc.URI], captions.Pred{ID: fig.ID, Kind: kind, Page: fig.Page, Caption: fig.Caption, CropOK: ok})
		return nil
	})
	return out, err
}

// ReadRejects groups the records of rejects.jsonl by document URI.
func ReadRejects(path string) (map[string][]shards.Reject, error) {
	out := map[string][]shards.Reject{}
	err := readLines(path, "rejects", func(b []byte) error {
		var r shards.Reject
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		out[r.URI] = append(out[r.URI], r)
		return nil
	})
	return out, err
}

// Reasons counts reject reasons: "duplicate_label 2, no_region 3" ("none" for no reject).
func Reasons(rejects []shards.Reject) string {
	n := map[string]int{}
	for _, r := range rejects {
		n[r.Reason]++
	}
	var out []string
	for r, k := range n {
		out = append(out, fmt.Sprintf("%s %d", r, k))
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// PageTexts returns the tokens of each page of pdf as pdftotext reads them.
func PageTexts(pdf string) ([][]string, error) {
	b, err := exec.Command("pdftotext", "-q", pdf, "-").Output()
	if err != nil {
		return nil, fmt.Errorf("pdftotext %s (apt-get install poppler-utils): %w", pdf, err)
	}
	var pages [][]string
	for _, p := range strings.Split(string(b), "\f") {
		pages = append(pages, captions.Tokens(p))
	}
	return pages, nil
}

// readLines calls fn with each line of a JSONL file; what names the file in errors.
func readLines(path, what string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s line %d: %w", what, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
