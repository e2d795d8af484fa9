package captions

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
	Pairs       []Pair
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

// Score matches the truths and predictions of one kind in one document. truthPage gives the
// page (1-based) where a truth's caption is printed, or 0 when unknown.
func Score(kind string, truths []Truth, preds []Pred, truthPage func(Truth) int) DocScore {
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
		if pr.CropOK && (truthPage == nil || truthPage(ts[p.Truth]) == pr.Page) {
			s.CropsOnPage++
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

// PageOf returns the 1-based index of the page text that contains the most of the caption's
// tokens in order of appearance, or 0 when no page holds at least half of them.
func PageOf(caption string, pages [][]string) int {
	ct := Tokens(caption)
	best, bestScore := 0, 0.5
	for i, pt := range pages {
		if c := Containment(ct, pt); c > bestScore+1e-9 {
			best, bestScore = i+1, c
		}
	}
	return best
}
