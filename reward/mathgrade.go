package reward

import (
	"errors"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// GradeAnswer grades a math answer against the ground truth the way mathruler's
// grade_answer (EasyR1's grader, from PRM800K) does: equal after the MATH (Hendrycks)
// normalisation, or equal after the PRM800K normalisation, or, element by element for
// tuples and intervals, equal in value. Where the reference uses sympy to prove two
// expressions equal, this port evaluates constant expressions exactly (rationals; sqrt and pi
// in float64 to 1e-12 relative); expressions with variables only match textually.
//
// An answer or truth longer than MaxMathBytes, or nesting brackets deeper than MaxMathDepth,
// is graded false without being parsed (see MathLimit).
func GradeAnswer(given, truth string) bool {
	if MathLimit(given) != "" || MathLimit(truth) != "" {
		return false
	}
	if normalizeMathd(truth) == normalizeMathd(given) {
		return true
	}
	t, g := normalizePRM(truth), normalizePRM(given)
	if t == g {
		return true
	}
	if g == "" {
		return false
	}
	te, ge := splitTuple(t), splitTuple(g)
	if len(te) > 1 && (t[0] != g[0] || t[len(t)-1] != g[len(g)-1]) {
		return false
	}
	if len(te) != len(ge) {
		return false
	}
	for i := range te {
		var ok bool
		switch {
		case isFrac(te[i]) && isFrac(ge[i]):
			ok = te[i] == ge[i]
		case strIsInt(te[i]) != strIsInt(ge[i]):
			ok = false
		default:
			ok = equalByValue(te[i], ge[i])
		}
		if !ok {
			return false
		}
	}
	return true
}

// Limits of math grading. Real answers are a few dozen characters; these bound the work a
// hostile answer can cause (grading is linear in the answer's length below them).
const (
	// MaxMathBytes is the longest answer (and reference) GradeAnswer and the DAPO accuracy
	// parse.
	MaxMathBytes = 8 << 10
	// MaxMathDepth is the deepest nesting of (), [] and {} GradeAnswer parses.
	MaxMathDepth = 64
	// maxExactBits bounds the numerator and denominator of an exact value; a result beyond it
	// is carried on in float64 (which then overflows to ±Inf, and compares unequal).
	maxExactBits = 4096
)

// Reasons MathLimit gives.
const (
	ReasonAnswerTooLarge = "answer_too_large"
	ReasonAnswerTooDeep  = "answer_too_deep"
)

// MathLimit returns why s is too large to be graded as math (ReasonAnswerTooLarge,
// ReasonAnswerTooDeep), or "" when it is within MaxMathBytes and MaxMathDepth.
func MathLimit(s string) string {
	if len(s) > MaxMathBytes {
		return ReasonAnswerTooLarge
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[', '{':
			if depth++; depth > MaxMathDepth {
				return ReasonAnswerTooDeep
			}
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return ""
}

var (
	textWrapRe  = regexp.MustCompile(`^\\text\{(.+?)\}\n?$`)
	errNormFail = errors.New("normalisation failed")
)

// normalizeMathd is the MATH dataset's normalize_answer: strip, unwrap \text{…}, then the
// _strip_string rewrites; when a rewrite fails (the reference raises), the stripped answer.
func normalizeMathd(answer string) string {
	answer = pyStrip(answer)
	if m := textWrapRe.FindStringSubmatch(answer); m != nil {
		answer = pyStrip(m[1])
	}
	s, err := stripString(answer)
	if err != nil {
		return answer
	}
	return s
}

func stripString(s string) (string, error) {
	s = strings.ReplaceAll(s, "\n", "")
	s = strings.ReplaceAll(s, `\!`, "")
	s = strings.ReplaceAll(s, `\\`, `\`)
	s = strings.ReplaceAll(s, "tfrac", "frac")
	s = strings.ReplaceAll(s, "dfrac", "frac")
	s = strings.ReplaceAll(s, `\left`, "")
	s = strings.ReplaceAll(s, `\right`, "")
	s = strings.ReplaceAll(s, `^{\circ}`, "")
	s = strings.ReplaceAll(s, `^\circ`, "")
	s = strings.ReplaceAll(s, `\$`, "")
	if strings.Contains(s, `\text{ `) {
		parts := strings.Split(s, `\text{ `)
		if len(parts) != 2 {
			return "", errNormFail
		}
		s = parts[0]
	}
	s = strings.ReplaceAll(s, `\%`, "")
	s = strings.ReplaceAll(s, " .", " 0.")
	s = strings.ReplaceAll(s, "{.", "{0.")
	if s == "" {
		return s, nil
	}
	if s[0] == '.' {
		s = "0" + s
	}
	if parts := strings.Split(s, "="); len(parts) == 2 && len([]rune(parts[0])) <= 2 {
		s = parts[1]
	}
	var err error
	if s, err = fixSqrt(s); err != nil {
		return "", err
	}
	s = strings.ReplaceAll(s, " ", "")
	if s, err = fixFracs(s); err != nil {
		return "", err
	}
	if s == "0.5" {
		s = `\frac{1}{2}`
	}
	return fixASlashB(s), nil
}

func fixSqrt(s string) (string, error) {
	if !strings.Contains(s, `\sqrt`) {
		return s, nil
	}
	parts := strings.Split(s, `\sqrt`)
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		if p == "" {
			return "", errNormFail
		}
		r, n := firstRune(p)
		if r != '{' {
			b.WriteString(`\sqrt{` + string(r) + "}" + p[n:])
		} else {
			b.WriteString(`\sqrt` + p)
		}
	}
	return b.String(), nil
}

func fixFracs(s string) (string, error) {
	parts := strings.Split(s, `\frac`)
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		b.WriteString(`\frac`)
		if p == "" {
			return "", errNormFail
		}
		r := []rune(p)
		if r[0] == '{' {
			b.WriteString(p)
			continue
		}
		if len(r) < 2 {
			return s, nil // the reference returns the input unchanged here
		}
		a, c := string(r[0]), string(r[1])
		post := string(r[2:])
		if c != "{" {
			b.WriteString("{" + a + "}{" + c + "}" + post)
		} else {
			b.WriteString("{" + a + "}" + c + post)
		}
	}
	return b.String(), nil
}

var canonicalIntRe = regexp.MustCompile(`^(?:-?[1-9][0-9]*|0)$`)

func fixASlashB(s string) string {
	parts := strings.Split(s, "/")
	if len(parts) != 2 || !canonicalIntRe.MatchString(parts[0]) || !canonicalIntRe.MatchString(parts[1]) {
		return s
	}
	return `\frac{` + parts[0] + "}{" + parts[1] + "}"
}

var (
	unitRes = func() []*regexp.Regexp {
		units := []string{"degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour",
			"day", "week", "month", "year", "foot", "feet", "inch", "yard"}
		out := make([]*regexp.Regexp, len(units))
		for i, u := range units {
			out[i] = regexp.MustCompile(u + `(es)?(s)? *(\^[0-9]+)?`)
		}
		return out
	}()
	circRe        = regexp.MustCompile(`\^ *\\circ`)
	invSpaceRe    = regexp.MustCompile(`,\\! *`)
	minusSpaceRe  = regexp.MustCompile(`- *`)
	mixedNumberRe = regexp.MustCompile(`([0-9]) +([0-9])`)
	goodCommaRe   = regexp.MustCompile(`(\d)(,)(\d\d\d)($|\D)`)
	fracRe        = regexp.MustCompile(`^-?[0-9]+.?/0*[1-9][0-9]*.?$`)
)

// normalizePRM is PRM800K's _normalize (mathruler). LaTeX is converted by latexToText, a
// small stand-in for pylatexenc.
func normalizePRM(expr string) string {
	if m := textWrapRe.FindStringSubmatch(expr); m != nil {
		expr = m[1]
	}
	expr = strings.ReplaceAll(expr, `\%`, "%")
	expr = strings.ReplaceAll(expr, `\$`, "$")
	expr = strings.ReplaceAll(expr, "$", "")
	expr = strings.ReplaceAll(expr, "%", "")
	expr = strings.ReplaceAll(expr, " or ", " , ")
	expr = strings.ReplaceAll(expr, " and ", " , ")
	expr = strings.ReplaceAll(expr, "million", "*10^6")
	expr = strings.ReplaceAll(expr, "billion", "*10^9")
	expr = strings.ReplaceAll(expr, "trillion", "*10^12")
	for _, re := range unitRes {
		expr = re.ReplaceAllString(expr, "")
	}
	expr = circRe.ReplaceAllString(expr, "")
	if len(expr) > 0 && expr[0] == '{' && expr[len(expr)-1] == '}' {
		expr = expr[1 : len(expr)-1]
	}
	expr = invSpaceRe.ReplaceAllString(expr, "")
	if f, ok := pyFloat(expr); ok && isIntFloat(f) {
		expr = intString(math.RoundToEven(f))
	}
	if strings.Contains(expr, `\`) {
		expr = latexToText(expr)
	}
	expr = minusSpaceRe.ReplaceAllString(expr, "-")
	expr = mixedNumberRe.ReplaceAllString(expr, "$1+$2")
	expr = strings.ReplaceAll(expr, " ", "")
	expr = strings.ReplaceAll(expr, "{", "")
	expr = strings.ReplaceAll(expr, "}", "")
	expr = strings.ToLower(expr)
	if strIsInt(expr) {
		f, _ := pyFloat(strings.ReplaceAll(expr, ",", ""))
		expr = intString(math.Trunc(f))
	}
	return expr
}

var pyFloatRe = regexp.MustCompile(`^[+-]?(?:(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?|(?i:inf|infinity|nan))$`)

// pyFloat parses s as Python's float() does (whitespace, underscores between digits, inf/nan).
func pyFloat(s string) (float64, bool) {
	s = pyStrip(s)
	if !pyFloatRe.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func isIntFloat(f float64) bool {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	return math.Abs(f-math.RoundToEven(f)) <= 1e-7
}

// intString formats an integral float as Python's str(int(x)).
func intString(f float64) string {
	if math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	i, _ := big.NewFloat(f).Int(nil)
	return i.String()
}

func stripGoodCommas(s string) string {
	for {
		next := goodCommaRe.ReplaceAllString(s, "$1$3$4")
		if next == s {
			return next
		}
		s = next
	}
}

func strIsInt(s string) bool {
	f, ok := pyFloat(stripGoodCommas(s))
	return ok && isIntFloat(f)
}

func isFrac(s string) bool { return fracRe.MatchString(s) }

func splitTuple(expr string) []string {
	expr = stripGoodCommas(expr)
	if expr == "" {
		return nil
	}
	const tupleChars = "()[]"
	if len(expr) > 2 && strings.ContainsRune(tupleChars, rune(expr[0])) &&
		strings.ContainsRune(tupleChars, rune(expr[len(expr)-1])) &&
		!strings.ContainsAny(expr[1:len(expr)-1], tupleChars) {
		var out []string
		for _, e := range strings.Split(expr[1:len(expr)-1], ",") {
			out = append(out, pyStrip(e))
		}
		return out
	}
	return []string{expr}
}

var latexCmdRe = regexp.MustCompile(`\\([A-Za-z]+|.)`)

// latexToText is a small LaTeX-to-text conversion for answers: \frac{a}{b} → a/b (operands
// in parentheses unless plain), \sqrt{x} → sqrt(x), \pi → pi, \cdot and \times → *, \infty →
// inf, \cup → U, \text/\mathrm/\mathbf{x} → x, other commands dropped. It runs in time linear
// in len(s), however deeply the commands nest.
func latexToText(s string) string {
	s = strings.ReplaceAll(s, `\tfrac`, `\frac`)
	s = strings.ReplaceAll(s, `\dfrac`, `\frac`)
	s = rewriteBraced(s, `\frac`, true)
	s = rewriteBraced(s, `\sqrt`, false)
	return pyStrip(latexCmdRe.ReplaceAllStringFunc(s, func(m string) string {
		switch m[1:] {
		case "pi":
			return "pi"
		case "cdot", "times":
			return "*"
		case "infty":
			return "inf"
		case "cup":
			return "U"
		case "text", "mathrm", "mathbf", "textbf", "left", "right", ",", ";", "!", " ":
			return ""
		case "%":
			return "%"
		}
		return ""
	}))
}

// rewriteBraced rewrites every cmd{a}{b} of s to wrap(a)/wrap(b) (frac) or cmd{a} to sqrt(a)
// (not frac), outermost first, as a loop replacing the leftmost occurrence until none is left
// would; like that loop it stops rewriting at the first occurrence whose braces do not close
// (the rewrites already begun still finish). One pass over s with a precomputed brace
// matching, so nesting costs nothing: the edits of enclosing occurrences wait on a stack,
// innermost on top.
func rewriteBraced(s, cmd string, frac bool) string {
	open := cmd + "{"
	if !strings.Contains(s, open) {
		return s
	}
	closing := matchBraces(s)
	type edit struct {
		at, skip int    // replace s[at:at+skip]
		text     string // with text
	}
	var pending []edit // by descending position: the top is the next edit
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	stopped := false
	for i := 0; i < len(s); {
		if n := len(pending); n > 0 && pending[n-1].at == i {
			e := pending[n-1]
			pending = pending[:n-1]
			b.WriteString(e.text)
			i += e.skip
			continue
		}
		if stopped || s[i] != '\\' || !strings.HasPrefix(s[i:], open) {
			b.WriteByte(s[i])
			i++
			continue
		}
		as := i + len(open) // the first argument is s[as:ae], closed at ae
		ae := closing[as-1]
		if ae < 0 {
			stopped = true
			continue
		}
		if !frac {
			pending = append(pending, edit{at: ae, skip: 1, text: ")"})
			b.WriteString("sqrt(")
			i = as
			continue
		}
		if ae+1 >= len(s) || s[ae+1] != '{' || closing[ae+1] < 0 {
			stopped = true
			continue
		}
		bs, be := ae+2, closing[ae+1]
		wa, wb := needsParens(s[as:ae]), needsParens(s[bs:be])
		openA, closeA, openB, closeB := "", "", "", ""
		if wa {
			openA, closeA = "(", ")"
		}
		if wb {
			openB, closeB = "(", ")"
		}
		pending = append(pending, edit{at: be, skip: 1, text: closeB}, edit{at: ae, skip: 2, text: closeA + "/" + openB})
		b.WriteString(openA)
		i = as
	}
	return b.String()
}

// matchBraces returns, for every '{' of s, the index of the '}' closing it (−1 when none
// does); other entries are unused.
func matchBraces(s string) []int {
	closing := make([]int, len(s))
	var stack []int
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			closing[i] = -1
			stack = append(stack, i)
		case '}':
			if n := len(stack); n > 0 {
				closing[stack[n-1]] = i
				stack = stack[:n-1]
			}
		}
	}
	return closing
}

// needsParens reports whether a fraction operand is wrapped in parentheses: unless it is
// plain (letters, digits and dots only).
func needsParens(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' {
			return true
		}
	}
	return false
}

// equalByValue stands in for sympy.simplify(a - b) == 0 on constant expressions, with the
// same guard as the reference (no more than two distinct letters, no "^{", "^(", stacked or
// multi-digit powers).
func equalByValue(a, b string) bool {
	expr := "(" + a + ")-(" + b + ")"
	if !allowEval(expr) {
		return false
	}
	va, err := evalExpr(a)
	if err != nil {
		return false
	}
	vb, err := evalExpr(b)
	if err != nil {
		return false
	}
	if va.exact && vb.exact {
		return va.rat.Cmp(vb.rat) == 0
	}
	x, y := va.float(), vb.float()
	return math.Abs(x-y) <= 1e-12*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
}

var badPowRe = regexp.MustCompile(`\^[0-9]+\^|\^[0-9][0-9]+`)

func allowEval(expr string) bool {
	e := strings.ReplaceAll(strings.ReplaceAll(expr, "sqrt", ""), "frac", "")
	letters := map[rune]bool{}
	for _, r := range e {
		if unicode.IsLetter(r) {
			letters[r] = true
		}
	}
	if len(letters) > 2 || strings.Contains(expr, "^{") || strings.Contains(expr, "^(") {
		return false
	}
	return !badPowRe.MatchString(expr)
}

func firstRune(s string) (rune, int) {
	r, n := utf8.DecodeRuneInString(s)
	return r, n
}
