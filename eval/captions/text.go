package captions

import (
	"regexp"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

var (
	dropArgRE = regexp.MustCompile(`\\(?:label|ref|eqref|pageref|cite[pt]?|citep|citet|Sexpr|index|footnote|vspace|hspace|includegraphics|url)\*?(?:\[[^\]]*\])*\{[^{}]*\}`)
	texCmdRE  = regexp.MustCompile(`\\[A-Za-z]+\*?`)
	accentRE  = regexp.MustCompile(`\\['"^~=.` + "`" + `]\{?([A-Za-z])\}?`)
	mdRE      = regexp.MustCompile("[*_`]")
	mdLinkRE  = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// StripLaTeX turns LaTeX caption source into plain text: references, labels, citations and
// \Sexpr{} are dropped (they print numbers the source does not know), formatting commands are
// unwrapped, “ ” quotes, ~ and "\ " become plain characters, math delimiters go, and sub- and
// superscripts are joined to their base as a PDF prints them.
func StripLaTeX(s string) string {
	for {
		t := dropArgRE.ReplaceAllString(s, " ")
		if t == s {
			break
		}
		s = t
	}
	s = accentRE.ReplaceAllString(s, "$1")
	r := strings.NewReplacer("``", "\"", "''", "\"", `\ `, " ", "~", " ", `\\`, " ", `\%`, "%",
		`\&`, "&", `\_`, "\x00", `\#`, "#", `\$`, "$", "---", "—", "--", "–", `\,`, " ", `\;`, " ", `\!`, "")
	s = r.Replace(s)
	s = texCmdRE.ReplaceAllStringFunc(s, func(c string) string {
		switch c {
		case `\alpha`, `\beta`, `\gamma`, `\delta`, `\lambda`, `\mu`, `\sigma`, `\tau`, `\theta`, `\chi`, `\phi`, `\pi`, `\rho`, `\epsilon`, `\kappa`, `\omega`, `\nu`, `\eta`, `\xi`, `\psi`, `\zeta`, `\iota`:
			return " " + c[1:] + " "
		}
		return " "
	})
	// Sub- and superscripts print attached to their base ("y_0" → "y0", "x^2" → "x2"); an escaped
	// underscore is a printed one.
	s = strings.NewReplacer("{", "", "}", "", "$", "", "^", "", "_", "", "\x00", "_").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// StripMarkdown removes Markdown emphasis and link targets.
func StripMarkdown(s string) string {
	s = mdLinkRE.ReplaceAllString(s, "$1")
	s = mdRE.ReplaceAllString(s, "")
	return strings.Join(strings.Fields(s), " ")
}

// Greek letters appear as Unicode in PDF text and as \alpha in sources; both sides map to names.
var greek = map[rune]string{'α': "alpha", 'β': "beta", 'γ': "gamma", 'δ': "delta", 'λ': "lambda", 'μ': "mu",
	'σ': "sigma", 'τ': "tau", 'θ': "theta", 'χ': "chi", 'φ': "phi", 'π': "pi", 'ρ': "rho", 'ε': "epsilon",
	'κ': "kappa", 'ω': "omega", 'ν': "nu", 'η': "eta", 'ξ': "xi", 'ψ': "psi", 'ζ': "zeta", 'ι': "iota"}

// Tokens normalises text for comparison: NFKC, lower case, Greek letters spelt out, split into
// runs of letters and digits.
func Tokens(s string) []string {
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

// F1 is the token F1 of two texts (multiset overlap of their Tokens).
func F1(a, b string) float64 { return tokenF1(Tokens(a), Tokens(b)) }

func tokenF1(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	count := map[string]int{}
	for _, t := range a {
		count[t]++
	}
	common := 0
	for _, t := range b {
		if count[t] > 0 {
			count[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p := float64(common) / float64(len(b))
	r := float64(common) / float64(len(a))
	return 2 * p * r / (p + r)
}

// Containment is the share of a's tokens (multiset) found in b.
func Containment(a, b []string) float64 {
	if len(a) == 0 {
		return 0
	}
	count := map[string]int{}
	for _, t := range b {
		count[t]++
	}
	n := 0
	for _, t := range a {
		if count[t] > 0 {
			count[t]--
			n++
		}
	}
	return float64(n) / float64(len(a))
}

// Pair links a ground-truth caption to a predicted one.
type Pair struct {
	Truth, Pred int
	F1          float64
}

// MatchThreshold is the token F1 from which a predicted caption counts as the true one.
const MatchThreshold = 0.8

// Match pairs truths and predictions one to one, best F1 first, keeping pairs at or above
// MatchThreshold. Ties break on the lower indexes, so the result is deterministic.
func Match(truth, pred []string) []Pair {
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
			if f := tokenF1(tt[i], pt[j]); f >= MatchThreshold {
				all = append(all, Pair{i, j, f})
			}
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].F1 != all[b].F1 {
			return all[a].F1 > all[b].F1
		}
		if all[a].Truth != all[b].Truth {
			return all[a].Truth < all[b].Truth
		}
		return all[a].Pred < all[b].Pred
	})
	usedT, usedP := map[int]bool{}, map[int]bool{}
	var out []Pair
	for _, p := range all {
		if usedT[p.Truth] || usedP[p.Pred] {
			continue
		}
		usedT[p.Truth], usedP[p.Pred] = true, true
		out = append(out, p)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Truth < out[b].Truth })
	return out
}
