package reward

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// ExtractAnswer returns the stripped content of the first single-line `<answer>…</answer>`
// block of s, or the whole stripped s when there is none (the R1-V rule).
func ExtractAnswer(s string) string {
	if a, ok := firstAnswer(s); ok {
		return pyStrip(a)
	}
	return pyStrip(s)
}

// AccuracyExact is the R1-V / Med-R1 accuracy fallback: the extracted answer of the
// completion equals the extracted answer of the reference, as strings. 1 or 0. (R1-V first
// tries math_verify, which has no Go equivalent; see AccuracyMath for the numeric cases.)
func AccuracyExact(in Input) float64 {
	return b2f(ExtractAnswer(in.Completion) == ExtractAnswer(in.Reference))
}

// AccuracyGrade is EasyR1's r1v accuracy: the extracted answer graded against the stripped
// reference with GradeAnswer. 1 or 0 (0 when either is beyond MathLimit).
func AccuracyGrade(in Input) float64 {
	v, _ := accuracyGrade(in)
	return v
}

func accuracyGrade(in Input) (float64, string) {
	return gradeLimited(ExtractAnswer(in.Completion), pyStrip(in.Reference))
}

// AccuracyMath is EasyR1's math accuracy: the last \boxed{…} content of the completion
// (after tag-space normalisation) graded against the reference with GradeAnswer. 1 or 0 (0
// when either is beyond MathLimit).
func AccuracyMath(in Input) float64 {
	v, _ := accuracyMath(in)
	return v
}

func accuracyMath(in Input) (float64, string) {
	return gradeLimited(ExtractBoxed(normalizeTagSpaces(in.Completion)), in.Reference)
}

// gradeLimited is GradeAnswer as 1 or 0, with the reason when a limit made it 0.
func gradeLimited(given, truth string) (float64, string) {
	if r := MathLimit(given); r != "" {
		return 0, r
	}
	if r := MathLimit(truth); r != "" {
		return 0, "reference_" + strings.TrimPrefix(r, "answer_")
	}
	return b2f(GradeAnswer(given, truth)), ""
}

// ExtractBoxed returns the content of the last \boxed{…} in s with balanced braces, stripped;
// "None" when there is none or it is unclosed (mathruler's extract_boxed_content).
func ExtractBoxed(s string) string {
	i := strings.LastIndex(s, `\boxed{`)
	if i < 0 {
		return "None"
	}
	content := s[i+len(`\boxed{`):]
	depth := 0
	for j, r := range content {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
		}
		if depth == -1 {
			return pyStrip(content[:j])
		}
	}
	return "None"
}

var (
	letterPrefixRe = regexp.MustCompile(`(?i)^(?:the\s+(?:correct\s+|best\s+|final\s+)?answer\s+is|final\s+answer|correct\s+answer|answer|option|choice)\s*[:：]?\s*`)
	optionLabelRe  = regexp.MustCompile(`^[\(\[]?[A-Z][\)\].:]\s*`)
	letterRe       = regexp.MustCompile(`^[\(\[]?([A-Za-z])(?:[\)\]]|[.:：,、]|\s|$)`)
)

// ExtractLetter finds the option letter in an answer: "C", "(C)", "[C]", "C. text", "C) text",
// "Answer: C", "The answer is (C)", "**C**", "option c". When no letter is found and options are
// given, an answer equal to one option's text (case- and space-insensitive) names that
// option. It returns "" when no letter fits; with options, letters beyond the last option
// are rejected.
func ExtractLetter(answer string, options []string) string {
	s := pyStrip(answer)
	s = strings.Trim(s, "*_`\"' ")
	s = letterPrefixRe.ReplaceAllString(s, "")
	s = strings.Trim(s, "*_`\"' ")
	if m := letterRe.FindStringSubmatchIndex(s); m != nil {
		l := s[m[2]:m[3]]
		lower := l >= "a" && l <= "z"
		// a lowercase article like "a lesion" is not a letter; "c", "(c)" or "c." is.
		if !lower || m[3] == len(s) || m[2] > 0 || strings.ContainsAny(s[m[3]:m[3]+1], ").]:") {
			L := strings.ToUpper(l)
			if len(options) == 0 || int(L[0]-'A') < len(options) {
				return L
			}
		}
	}
	if len(options) > 0 {
		n := normText(answer)
		for i, o := range options {
			if n != "" && normText(stripOptionLabel(o)) == n {
				return string(rune('A' + i))
			}
		}
	}
	return ""
}

// stripOptionLabel removes a leading "A. " / "(A) " label from an option text.
func stripOptionLabel(o string) string {
	o = pyStrip(o)
	if m := optionLabelRe.FindString(o); m != "" {
		return o[len(m):]
	}
	return o
}

// AccuracyMCQ is eosin's multiple-choice accuracy: 1 when the option letter extracted from
// the completion's answer equals the reference's letter (the reference may be "C", "(C)",
// "<answer> C </answer>" or the option text), else 0. No letter in the completion gives 0.
func AccuracyMCQ(in Input) float64 {
	want := ExtractLetter(ExtractAnswer(in.Reference), in.Options)
	got := ExtractLetter(ExtractAnswer(in.Completion), in.Options)
	return b2f(want != "" && got == want)
}

// OpenParams tune AccuracyOpen.
type OpenParams struct {
	// F1 gives partial credit: the token F1 between the normalised answers when they do not
	// match exactly.
	F1 bool
	// RelTol is the relative tolerance of numeric answers (0.01 = 1%); 0 demands equality.
	RelTol float64
}

// AccuracyOpen returns the open-answer accuracy function: 1 when the normalised answers
// (lower case, punctuation and articles removed, whitespace collapsed) are equal, or when
// both are numbers (with optional unit or %) within RelTol; otherwise the token F1 when F1 is
// set, else 0.
func AccuracyOpen(p OpenParams) Func {
	return func(in Input) float64 {
		got, want := ExtractAnswer(in.Completion), ExtractAnswer(in.Reference)
		if want == "" {
			return 0
		}
		if NormalizeText(got) == NormalizeText(want) {
			return 1
		}
		if a, ok := leadingNumber(got); ok {
			if b, ok := leadingNumber(want); ok && numbersClose(a, b, p.RelTol) {
				return 1
			}
		}
		if p.F1 {
			return TokenF1(got, want)
		}
		return 0
	}
}

// AccuracyAuto picks the accuracy rule by task: AccuracyMCQ for "mcq" or when options are
// given, AccuracyOpen(p) otherwise.
func AccuracyAuto(p OpenParams) Func {
	open := AccuracyOpen(p)
	return func(in Input) float64 {
		if in.Task == "mcq" || len(in.Options) > 0 {
			return AccuracyMCQ(in)
		}
		return open(in)
	}
}

var numRe = regexp.MustCompile(`^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?`)

// leadingNumber parses an answer that is a number, optionally followed by a unit word or %.
func leadingNumber(s string) (float64, bool) {
	s = pyStrip(s)
	m := numRe.FindString(s)
	if m == "" || m == "-" || m == "+" || m == "." {
		return 0, false
	}
	rest := pyStrip(s[len(m):])
	if len(strings.Fields(rest)) > 2 { // a sentence, not a number with a unit
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", ""), 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

func numbersClose(a, b, rel float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

// NormalizeText lower-cases s, removes punctuation and the articles a/an/the, and collapses
// whitespace (the SQuAD answer normalisation).
func NormalizeText(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(dropArticles(s)), " ")
}

// dropArticles is regexp `\b(a|an|the)\b` replaced by " ": every maximal run of ASCII word
// characters ([0-9A-Za-z_]) that is "a", "an" or "the" becomes a space. One pass.
func dropArticles(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !isASCIIWord(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i + 1
		for j < len(s) && isASCIIWord(s[j]) {
			j++
		}
		switch w := s[i:j]; w {
		case "a", "an", "the":
			b.WriteByte(' ')
		default:
			b.WriteString(w)
		}
		i = j
	}
	return b.String()
}

func isASCIIWord(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func normText(s string) string { return NormalizeText(s) }

// TokenF1 is the F1 of the multiset overlap of the normalised tokens of got and want.
func TokenF1(got, want string) float64 {
	g, w := strings.Fields(NormalizeText(got)), strings.Fields(NormalizeText(want))
	if len(g) == 0 || len(w) == 0 {
		return b2f(len(g) == len(w))
	}
	count := map[string]int{}
	for _, t := range w {
		count[t]++
	}
	common := 0
	for _, t := range g {
		if count[t] > 0 {
			count[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p, r := float64(common)/float64(len(g)), float64(common)/float64(len(w))
	return 2 * p * r / (p + r)
}
