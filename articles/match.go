package articles

import (
	"regexp"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Caption comparison: the metric of the project's biomedical caption set (token F1 of
// lower-cased alphanumeric word tokens, a leading "Figure 3:"-style label stripped).

// greek letters are spelt out, so that "β" and "beta" compare equal.
var greek = map[rune]string{'α': "alpha", 'β': "beta", 'γ': "gamma", 'δ': "delta", 'λ': "lambda", 'μ': "mu",
	'σ': "sigma", 'τ': "tau", 'θ': "theta", 'χ': "chi", 'φ': "phi", 'π': "pi", 'ρ': "rho", 'ε': "epsilon",
	'κ': "kappa", 'ω': "omega", 'ν': "nu", 'η': "eta", 'ξ': "xi", 'ψ': "psi", 'ζ': "zeta", 'ι': "iota"}

var leadingLabel = regexp.MustCompile(`(?i)^\s*(?:fig(?:ure)?s?|scheme|plate|chart)[.\s-]*[a-z]?\d+[a-z]?\s*[.:|]?\s`)

// Tokens normalises a caption for comparison: a leading label stripped, NFKC, lower case,
// Greek letters spelt out, split into runs of letters and digits.
func Tokens(s string) []string {
	s = leadingLabel.ReplaceAllString(s, "")
	s = norm.NFKC.String(s)
	var b strings.Builder
	for _, r := range s {
		if g, ok := greek[unicode.ToLower(r)]; ok {
			b.WriteString(" " + g + " ")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.FieldsFunc(b.String(), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// F1 is the token F1 of two token lists (multiset overlap); two empty lists agree (1).
func F1(a, b []string) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	common := overlap(a, b)
	if common == 0 {
		return 0
	}
	p := float64(common) / float64(len(b))
	r := float64(common) / float64(len(a))
	return 2 * p * r / (p + r)
}

// containment is the share of a's tokens (multiset) found in b.
func containment(a, b []string) float64 {
	if len(a) == 0 {
		return 0
	}
	return float64(overlap(a, b)) / float64(len(a))
}

func overlap(a, b []string) int {
	count := make(map[string]int, len(a))
	for _, t := range a {
		count[t]++
	}
	n := 0
	for _, t := range b {
		if count[t] > 0 {
			count[t]--
			n++
		}
	}
	return n
}

// Pair links item A of one list to item B of another.
type Pair struct {
	A, B  int
	Score float64
}

// greedy keeps the best-scoring pairs one to one (ties: lower A, then lower B) and returns
// them ordered by A.
func greedy(all []Pair) []Pair {
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Score != all[j].Score {
			return all[i].Score > all[j].Score
		}
		if all[i].A != all[j].A {
			return all[i].A < all[j].A
		}
		return all[i].B < all[j].B
	})
	usedA, usedB := map[int]bool{}, map[int]bool{}
	var out []Pair
	for _, p := range all {
		if usedA[p.A] || usedB[p.B] {
			continue
		}
		usedA[p.A], usedB[p.B] = true, true
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].A < out[j].A })
	return out
}

// MatchCaptions pairs true captions with predicted ones one to one, best F1 first, keeping
// pairs whose F1 is at least threshold: the metric of the agreement report.
func MatchCaptions(truth, pred []string, threshold float64) []Pair {
	tt := make([][]string, len(truth))
	for i, t := range truth {
		tt[i] = Tokens(t)
	}
	pt := make([][]string, len(pred))
	for i, p := range pred {
		pt[i] = Tokens(p)
	}
	var all []Pair
	for i := range tt {
		for j := range pt {
			if f := F1(tt[i], pt[j]); f >= threshold {
				all = append(all, Pair{i, j, f})
			}
		}
	}
	return greedy(all)
}

var labelNumber = regexp.MustCompile(`(?i)([a-z]?\d+[a-z]?)\W*$`)

// labelKey is the number of a figure label, lower case ("Figure-1" and "Fig. 1" give "1"), or
// "" when the label has none.
func labelKey(label string) string {
	m := labelNumber.FindStringSubmatch(strings.TrimSpace(label))
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// regionCandidate is one figure the PDF extraction found, as the region matcher sees it.
type regionCandidate struct {
	label   string
	caption string
}

// matchRegions pairs XML figures with PDF figures: token F1 of the captions at least
// threshold, or the same label with one caption holding most of the other (a PDF caption cut
// short, or run on into body text). Best pairs first, one to one; the same label breaks ties.
func matchRegions(xmlFigs, pdfFigs []regionCandidate, threshold float64) []Pair {
	xt := make([][]string, len(xmlFigs))
	for i, f := range xmlFigs {
		xt[i] = Tokens(f.caption)
	}
	pt := make([][]string, len(pdfFigs))
	for j, f := range pdfFigs {
		pt[j] = Tokens(f.caption)
	}
	var all []Pair
	for i := range xmlFigs {
		xk := labelKey(xmlFigs[i].label)
		for j := range pdfFigs {
			f := F1(xt[i], pt[j])
			same := xk != "" && xk == labelKey(pdfFigs[j].label)
			ok := f >= threshold
			if len(xt[i]) == 0 || len(pt[j]) == 0 {
				ok = same && len(xt[i]) == len(pt[j]) // label-only figures: the label decides
			} else if !ok && same && len(pt[j]) >= 3 && len(xt[i]) >= 3 {
				ok = containment(pt[j], xt[i]) >= 0.9 || containment(xt[i], pt[j]) >= 0.9
			}
			if !ok {
				continue
			}
			score := f
			if same {
				score += 0.5
			}
			all = append(all, Pair{i, j, score})
		}
	}
	return greedy(all)
}
