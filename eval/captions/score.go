package captions

import (
	"fmt"
	"slices"
)

// Pred is an extracted caption to score.
type Pred struct {
	ID      string
	Kind    string // figure | table
	Page    int
	Caption string
	// CropOK is set when the figure's crop exists and is not blank.
	CropOK bool
}

// DocScore is the outcome for one document and one kind.
type DocScore struct {
	Truths, Preds, Matched int
	// CropsOnPage counts matched figures whose crop is non-empty and on the page where the
	// true caption is printed.
	CropsOnPage int
	Missed      []Truth // truths without a match
	Spurious    []Pred  // predictions without a match
	// BadCrops describes the matched figures whose crop is blank, missing or on another page.
	BadCrops []string
	Pairs    []Pair
}

// Recall is Matched/Truths (1 when there is nothing to find).
func (s DocScore) Recall() float64 {
	if s.Truths == 0 {
		return 1
	}
	return float64(s.Matched) / float64(s.Truths)
}

// Precision is Matched/Preds (1 when nothing was predicted).
func (s DocScore) Precision() float64 {
	if s.Preds == 0 {
		return 1
	}
	return float64(s.Matched) / float64(s.Preds)
}

// Add sums two scores (the lists are concatenated).
func (s DocScore) Add(o DocScore) DocScore {
	s.Truths += o.Truths
	s.Preds += o.Preds
	s.Matched += o.Matched
	s.CropsOnPage += o.CropsOnPage
	s.Missed = append(s.Missed, o.Missed...)
	s.Spurious = append(s.Spurious, o.Spurious...)
	return s
}

// Score matches the truths and predictions of one kind in one document. truthPages gives the
// pages (1-based) where a truth's caption is printed; nil skips the page check.
func Score(kind string, truths []Truth, preds []Pred, truthPages func(Truth) []int) DocScore {
	var ts []Truth
	var ps []Pred
	for _, t := range truths {
		if t.Kind == kind {
			ts = append(ts, t)
		}
	}
	for _, p := range preds {
		if p.Kind == kind {
			ps = append(ps, p)
		}
	}
	tt := make([]string, len(ts))
	for i, t := range ts {
		tt[i] = t.Text
	}
	pt := make([]string, len(ps))
	for i, p := range ps {
		pt[i] = p.Caption
	}
	pairs := Match(tt, pt)
	s := DocScore{Truths: len(ts), Preds: len(ps), Matched: len(pairs), Pairs: pairs}
	usedT, usedP := map[int]bool{}, map[int]bool{}
	for _, p := range pairs {
		usedT[p.Truth], usedP[p.Pred] = true, true
		pr := ps[p.Pred]
		var tp []int
		if truthPages != nil {
			tp = truthPages(ts[p.Truth])
		}
		if pr.CropOK && (truthPages == nil || slices.Contains(tp, pr.Page)) {
			s.CropsOnPage++
		} else {
			s.BadCrops = append(s.BadCrops, fmt.Sprintf("%s %d: crop ok %v, page %d, caption printed on page %v", kind, ts[p.Truth].Index, pr.CropOK, pr.Page, tp))
		}
	}
	for i, t := range ts {
		if !usedT[i] {
			s.Missed = append(s.Missed, t)
		}
	}
	for i, p := range ps {
		if !usedP[i] {
			s.Spurious = append(s.Spurious, p)
		}
	}
	return s
}

// PageOf returns the 1-based page whose text holds the caption best: the share of the
// caption's token bigrams found on the page, plus one when the page prints the caption's
// opening ("Figure 3: Histogram …", label tokens then the caption's first tokens). It returns 0
// when no page holds at least half of the bigrams.
//
// A caption printed identically on several pages (two figures with one caption) belongs to
// all of them; PagesOf returns them all.
func PageOf(caption string, pages [][]string) int {
	ps := PagesOf(Truth{Text: caption}, pages)
	if len(ps) == 0 {
		return 0
	}
	return ps[0]
}

// PagesOf returns the pages (1-based, ascending) that hold the truth's caption best (see
// PageOf).
func PagesOf(t Truth, pages [][]string) []int {
	caption := t.Text
	ct := Tokens(caption)
	if len(ct) == 0 {
		return nil
	}
	var grams []string
	for i := 0; i+1 < len(ct); i++ {
		grams = append(grams, ct[i]+" "+ct[i+1])
	}
	if len(grams) == 0 {
		grams = ct
	}
	var best []int
	bestScore := 0.5 - 1e-6
	for i, pt := range pages {
		var pg []string
		for k := 0; k+1 < len(pt); k++ {
			pg = append(pg, pt[k]+" "+pt[k+1])
		}
		if len(ct) == 1 {
			pg = pt
		}
		score := Containment(grams, pg)
		if ok, _ := opens(pt, ct); ok {
			score++
		}
		switch {
		case score > bestScore+1e-9:
			best, bestScore = []int{i + 1}, score
		case score > bestScore-1e-9 && len(best) > 0:
			best = append(best, i+1)
		}
	}
	return best
}

// opens reports whether page tokens hold a caption opening: "figure"/"fig"/"table", one or two
// number tokens, then the caption's first (up to three) tokens. It returns the last number token.
func opens(page, caption []string) (bool, string) {
	n := min(3, len(caption))
	for i, t := range page {
		if t != "figure" && t != "fig" && t != "table" {
			continue
		}
		for skip := 1; skip <= 2; skip++ {
			j := i + 1 + skip
			if j+n > len(page) {
				continue
			}
			ok := true
			for k := 0; k < n; k++ {
				if page[j+k] != caption[k] {
					ok = false
					break
				}
			}
			if ok {
				return true, page[j-1]
			}
		}
	}
	return false, ""
}
