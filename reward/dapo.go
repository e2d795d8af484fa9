package reward

import (
	"hash/fnv"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DAPO answer normalisation (EasyR1 examples/reward_function/dapo.py, from verl's
// math_dapo): the substitutions and removals run in this order.
var (
	dapoSubstitutions = [][2]string{
		{"an ", ""}, {"a ", ""}, {".$", "$"}, {`\$`, ""}, {`\ `, ""}, {" ", ""},
		{"mbox", "text"}, {`,\text{and}`, ","}, {`\text{and}`, ","}, {`\text{m}`, `\text{}`},
	}
	dapoRemoved = []string{
		"square", "ways", "integers", "dollars", "mph", "inches", "hours", "km", "units",
		`\ldots`, "sue", "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm",
		"pounds", "meters", "meals", "edges", "students", "childrentickets", "multiples",
		`\text{s}`, `\text{.}`, "\\text{\ns}", `\text{}^2`, `\text{}^3`, "\\text{\n}", `\text{}`,
		`\mathrm{th}`, `^\circ`, `^{\circ}`, `\;`, `,\!`, "{,}", `"`, `\dots`,
	}
	dapoDollarRe  = regexp.MustCompile(`(.*?)(\$)(.*?)(\$)(.*)`)
	dapoTextRe    = regexp.MustCompile(`(\\text\{)(.*?)(\})`)
	dapoTextbfRe  = regexp.MustCompile(`(\\textbf\{)(.*?)(\})`)
	dapoOverRe    = regexp.MustCompile(`(\\overline\{)(.*?)(\})`)
	dapoBoxedRe   = regexp.MustCompile(`(\\boxed\{)(.*)(\})`)
	dapoFracRe    = regexp.MustCompile(`(frac)([^{])(.)`)
	dapoSqrtRe    = regexp.MustCompile(`(sqrt)([^{])`)
	dapoAnswerRe  = regexp.MustCompile(`(?i)Answer` + pyWS + `*:` + pyWS + `*([^\n]+)`)
	dapoTailRunes = 300
)

// NormalizeFinalAnswer is DAPO's normalize_final_answer: keep the text after the last '=',
// apply the fixed substitutions and removals, unwrap $…$, \text, \textbf, \overline and
// \boxed, expand shorthand \frac and \sqrt, drop '$', remove commas from plain numbers, strip.
func NormalizeFinalAnswer(s string) string {
	if i := strings.LastIndex(s, "="); i >= 0 {
		s = s[i+1:]
	}
	for _, sub := range dapoSubstitutions {
		s = strings.ReplaceAll(s, sub[0], sub[1])
	}
	for _, r := range dapoRemoved {
		s = strings.ReplaceAll(s, r, "")
	}
	s = dapoDollarRe.ReplaceAllString(s, "$$${3}$$")
	s = dapoTextRe.ReplaceAllString(s, "${2}")
	s = dapoTextbfRe.ReplaceAllString(s, "${2}")
	s = dapoOverRe.ReplaceAllString(s, "${2}")
	s = dapoBoxedRe.ReplaceAllString(s, "${2}")
	s = dapoFracRe.ReplaceAllString(s, "frac{${2}}{${3}}")
	s = dapoSqrtRe.ReplaceAllString(s, "sqrt{${2}}")
	s = strings.ReplaceAll(s, "$", "")
	if pyIsDigit(strings.ReplaceAll(s, ",", "")) {
		s = strings.ReplaceAll(s, ",", "")
	}
	return pyStrip(s)
}

// pyIsDigit is Python's str.isdigit: non-empty and every character a digit (decimal digits,
// superscript and subscript digits).
func pyIsDigit(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case unicode.IsDigit(r), r == '²', r == '³', r == '¹', r >= '⁰' && r <= '⁹' && r != 'ⁱ' && r != '⁲' && r != '⁳',
			r >= '₀' && r <= '₉', r >= '①' && r <= '⑨', r >= '⑴' && r <= '⑼', r >= '⒈' && r <= '⒐', r >= '⓵' && r <= '⓽',
			r == '⓪', r >= '❶' && r <= '❾', r >= '➀' && r <= '➈', r >= '➊' && r <= '➒':
		default:
			return false
		}
	}
	return true
}

// AccuracyDAPO is DAPO's accuracy as EasyR1 computes it: in the last 300 characters of the
// completion, the last "Answer: …" line (case-insensitive) is normalised and compared with
// the normalised reference; +1 when equal, −1 otherwise (also when there is no such line,
// and when the reference is longer than MaxMathBytes).
func AccuracyDAPO(in Input) float64 {
	v, _ := accuracyDAPO(in)
	return v
}

func accuracyDAPO(in Input) (float64, string) {
	if len(in.Reference) > MaxMathBytes {
		return -1, "reference_too_large"
	}
	tail := lastRunes(in.Completion, dapoTailRunes)
	if !utf8.ValidString(tail) {
		tail = string([]rune(tail)) // invalid bytes become U+FFFD, as they did
	}
	answer := "[INVALID]"
	if m := dapoAnswerRe.FindAllStringSubmatch(tail, -1); len(m) > 0 {
		answer = m[len(m)-1][1]
	}
	if NormalizeFinalAnswer(answer) == NormalizeFinalAnswer(in.Reference) {
		return 1, ""
	}
	return -1, ""
}

// lastRunes returns the last n code points of s (all of s when it has fewer), reading only
// the end of s.
func lastRunes(s string, n int) string {
	i := len(s)
	for k := 0; k < n && i > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}

// OverlongParams configure the DAPO soft overlong punishment.
type OverlongParams struct {
	// MaxLen is L_max, the maximum response length in tokens.
	MaxLen int
	// Buffer is L_c, the punishment buffer before MaxLen.
	Buffer int
	// Verl selects verl's form, −(|y| − (L_max − L_c))/L_c capped at 0 from above but not at −1
	// from below, instead of the paper's (and EasyR1's) −1 beyond L_max.
	Verl bool
}

// Overlong is DAPO's soft overlong punishment for a response of length n:
// 0 when n ≤ L_max − L_c; (L_max − L_c − n)/L_c inside the buffer; −1 when n > L_max.
func Overlong(n int, p OverlongParams) float64 {
	expected := p.MaxLen - p.Buffer
	if p.Verl {
		return min(-float64(n-expected)/float64(p.Buffer), 0)
	}
	switch {
	case n <= expected:
		return 0
	case n <= p.MaxLen:
		return float64(expected-n) / float64(p.Buffer)
	}
	return -1
}

// OverlongFunc is the overlong punishment as a reward term. It uses Input.Length (tokens);
// when that is unknown (≤ 0) it counts the completion's code points.
func OverlongFunc(p OverlongParams) Func {
	return func(in Input) float64 {
		n := in.Length
		if n <= 0 {
			n = utf8.RuneCountInString(in.Completion)
		}
		return Overlong(n, p)
	}
}

// RepetitionRate is the fraction of repeated word n-grams in s: 1 − distinct/total, 0 when s
// has fewer than n words. Degenerate loops ("the the the …") approach 1.
func RepetitionRate(s string, n int) float64 {
	if n < 1 {
		n = 1
	}
	w := strings.Fields(strings.ToLower(s))
	total := len(w) - n + 1
	if total <= 0 {
		return 0
	}
	hs := make([]uint64, len(w))
	for i, x := range w {
		h := fnv.New64a()
		h.Write([]byte(x))
		hs[i] = h.Sum64()
	}
	seen := make(map[[2]uint64]struct{}, total)
	for i := 0; i < total; i++ {
		// two independent 64-bit combinations of the word hashes: collisions are negligible
		var k [2]uint64
		for _, h := range hs[i : i+n] {
			k[0] = k[0]*0x100000001b3 ^ h
			k[1] = (k[1] ^ h) * 0x9e3779b97f4a7c15
		}
		seen[k] = struct{}{}
	}
	return 1 - float64(len(seen))/float64(total)
}

// RepetitionFunc is a penalty term: −RepetitionRate(completion, n) when it exceeds threshold,
// else 0 (so a few repeated phrases cost nothing).
func RepetitionFunc(n int, threshold float64) Func {
	return func(in Input) float64 {
		if r := RepetitionRate(in.Completion, n); r > threshold {
			return -r
		}
		return 0
	}
}
