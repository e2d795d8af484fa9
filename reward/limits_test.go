package reward

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// latexToTextQuadratic is the former latexToText: it rewrites the leftmost \frac{…}{…} (then
// \sqrt{…}) and searches again, quadratic in the input. It is the oracle of the linear one.
func latexToTextQuadratic(s string) string {
	s = strings.ReplaceAll(s, `\tfrac`, `\frac`)
	s = strings.ReplaceAll(s, `\dfrac`, `\frac`)
	wrap := func(s string) string {
		for _, r := range s {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' {
				return "(" + s + ")"
			}
		}
		return s
	}
	braceArg := func(s string) (arg, rest string, ok bool) {
		if s == "" || s[0] != '{' {
			return "", s, false
		}
		depth := 0
		for i, r := range s {
			switch r {
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					return s[1:i], s[i+1:], true
				}
			}
		}
		return "", s, false
	}
	for _, cmd := range []string{`\frac`, `\sqrt`} {
		for {
			i := strings.Index(s, cmd+"{")
			if i < 0 {
				break
			}
			a, rest, ok := braceArg(s[i+len(cmd):])
			if !ok {
				break
			}
			if cmd == `\sqrt` {
				s = s[:i] + "sqrt(" + a + ")" + rest
				continue
			}
			b, rest2, ok := braceArg(rest)
			if !ok {
				break
			}
			s = s[:i] + wrap(a) + "/" + wrap(b) + rest2
		}
	}
	return latexToText(s) // no \frac{ or \sqrt{ is left to rewrite
}

// TestLatexToTextLinearMatchesQuadratic compares the one-pass rewrite with the former
// search-and-replace loop on hand-picked and random LaTeX.
func TestLatexToTextLinearMatchesQuadratic(t *testing.T) {
	cases := []string{
		`\frac{1}{2}`, `\frac12`, `\dfrac{\sqrt{3}}{2}`, `\frac{\frac{1}{2}}{\frac{3}{4}}`,
		`\sqrt{\frac{a}{b}}`, `\frac{1}{\sqrt{2}}+\sqrt{\sqrt{16}}`, `\frac{\pi}{2}`, `\frac{1}`,
		`\frac{1}{2`, `\frac{1}{2}+\frac{3}`, `\frac{x}{y}\frac{`, `}\frac{a}{b}}{`, `\sqrt{x`,
		`\frac{a}{\frac{b}{c`, `\frac{\frac{1}{2}}{3}+\frac{4}{\sqrt{5}}`, `{\frac{1}{2}}`,
		`\\frac{1}{2}`, `\frac{1}{2}\frac{3}{4}`, `\frac{é}{ü}`, `\frac{1.5}{2.}`, `\sqrt{}`, `\frac{}{}`,
	}
	r := rand.New(rand.NewPCG(1, 2))
	atoms := []string{`\frac`, `\sqrt`, `\dfrac`, "{", "}", "{", "}", "1", "x", ".", "+", `\pi`, " ", "é", `\`}
	for range 3000 {
		var b strings.Builder
		for range r.IntN(24) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		if got, want := latexToText(c), latexToTextQuadratic(c); got != want {
			t.Errorf("latexToText(%q) = %q, the former rewrite gives %q", c, got, want)
		}
	}
}

// hostileMath are answers built to make grading slow: each of about n bytes.
func hostileMath(n int) map[string]string {
	k := n / 10
	return map[string]string{
		"digits":        strings.Repeat("7", n),
		"digit_frac":    strings.Repeat("7", n/2) + "/" + strings.Repeat("3", n/2),
		"nested_frac":   strings.Repeat(`\frac{1}{`, k) + "2" + strings.Repeat("}", k),
		"nested_frac_a": strings.Repeat(`\frac{`, k) + "1" + strings.Repeat("}{2}", k),
		"nested_sqrt":   strings.Repeat(`\sqrt{`, k) + "2" + strings.Repeat("}", k),
		"parens":        strings.Repeat("(", n/2) + "1" + strings.Repeat(")", n/2),
		"unary":         strings.Repeat("-", n) + "1",
		"commas":        "1" + strings.Repeat(",000", n/4),
		"sums":          strings.Repeat("1+", n/2) + "1",
		"products":      strings.Repeat("99999999*", n/9) + "9",
		"tuple":         "(" + strings.Repeat("1,", n/2) + "1)",
		"mixed":         strings.Repeat("1 2 ", n/4),
	}
}

// TestHostileAnswers: answers over the limits are graded as wrong, with the limit named, and
// answers just under them are still graded (identical answers match).
func TestHostileAnswers(t *testing.T) {
	grade, err := Preset("easyr1")
	if err != nil {
		t.Fatal(err)
	}
	math, err := Preset("easyr1_math")
	if err != nil {
		t.Fatal(err)
	}
	dapo, err := Preset("dapo")
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range hostileMath(1 << 20) {
		t.Run(name, func(t *testing.T) {
			why := MathLimit(s)
			if why == "" {
				t.Fatalf("MathLimit of %d bytes: within the limits", len(s))
			}
			if GradeAnswer(s, s) {
				t.Errorf("GradeAnswer of a %d-byte answer against itself: true", len(s))
			}
			in := Input{Completion: "<think>x</think><answer>" + s + "</answer>", Reference: "1"}
			r := grade.Score(in)
			if r.Components["accuracy"] != 0 || r.Limits["accuracy"] != why {
				t.Errorf("easyr1: %v, limits %v; want accuracy 0 for %s", r.Components, r.Limits, why)
			}
			in = Input{Completion: `<think>x</think>\boxed{` + s + "}", Reference: "1"}
			if r := math.Score(in); r.Components["accuracy"] != 0 || r.Limits["accuracy"] != why {
				t.Errorf("easyr1_math: %v, limits %v", r.Components, r.Limits)
			}
			in = Input{Completion: "<think>x</think><answer>1</answer>", Reference: s}
			if r := grade.Score(in); r.Components["accuracy"] != 0 || !strings.HasPrefix(r.Limits["accuracy"], "reference_too_") {
				t.Errorf("easyr1, hostile reference: %v, limits %v", r.Components, r.Limits)
			}
			in = Input{Completion: "Answer: " + s, Reference: s}
			if r := dapo.Score(in); r.Components["accuracy"] != -1 || r.Limits["accuracy"] != "reference_too_large" {
				t.Errorf("dapo: %v, limits %v", r.Components, r.Limits)
			}
		})
	}
	// Just under the limits the same shapes are graded, and equal answers match.
	for name, s := range hostileMath(MaxMathBytes / 2) {
		if name == "unary" || name == "parens" {
			continue // deeper than MaxMathDepth at any useful size
		}
		t.Run("under/"+name, func(t *testing.T) {
			s := s
			if MathLimit(s) == ReasonAnswerTooDeep {
				s = s[:0] + strings.Repeat(`\frac{1}{`, 20) + "2" + strings.Repeat("}", 20)
			}
			if why := MathLimit(s); why != "" {
				t.Fatalf("%d bytes: %s", len(s), why)
			}
			if !GradeAnswer(s, s) {
				t.Errorf("GradeAnswer of a %d-byte %s answer against itself: false", len(s), name)
			}
			r := grade.Score(Input{Completion: "<think>x</think><answer>" + s + "</answer>", Reference: s})
			if r.Components["accuracy"] != 1 || len(r.Limits) != 0 {
				t.Errorf("easyr1: %v, limits %v", r.Components, r.Limits)
			}
		})
	}
}

// TestEvalExprLimits: deep nesting is an error, huge exact values fall back to float64, and
// values within the limits stay exact.
func TestEvalExprLimits(t *testing.T) {
	tests := []struct {
		expr    string
		wantErr bool
		exact   bool
	}{
		{expr: strings.Repeat("(", MaxMathDepth+1) + "1" + strings.Repeat(")", MaxMathDepth+1), wantErr: true},
		{expr: strings.Repeat("-", MaxMathDepth+1) + "1", wantErr: true},
		{expr: strings.Repeat("(", 20) + "1" + strings.Repeat(")", 20), exact: true},
		{expr: "((((((2^9)^9)^9)^9)^9)^9)^9", exact: false},
		{expr: "2^9*2^9", exact: true},
		{expr: strings.Repeat("9", 2000), exact: false},
		{expr: strings.Repeat("9", 300) + "/" + strings.Repeat("3", 300), exact: true},
		{expr: strings.Repeat("99999999*", 200) + "9", exact: false},
	}
	for _, tc := range tests {
		v, err := evalExpr(tc.expr)
		if (err != nil) != tc.wantErr {
			t.Errorf("evalExpr(%.40q…): err %v, want error %v", tc.expr, err, tc.wantErr)
			continue
		}
		if err == nil && v.exact != tc.exact {
			t.Errorf("evalExpr(%.40q…): exact %v, want %v", tc.expr, v.exact, tc.exact)
		}
		if v.exact && bits(v.rat) > maxExactBits {
			t.Errorf("evalExpr(%.40q…): %d bits exact", tc.expr, bits(v.rat))
		}
	}
	if !equalByValue("2^9*2^9", "262144") {
		t.Error("2^9*2^9 != 262144")
	}
}

// TestScoreContext: a cancelled context stops scoring before the next term.
func TestScoreContext(t *testing.T) {
	calls := 0
	ctx, cancel := context.WithCancel(context.Background())
	term := func(name string) Term {
		return Term{Name: name, Fn: "test", Weight: 1, Func: func(Input) float64 { calls++; cancel(); return 1 }}
	}
	c, err := NewComposite("t", term("a"), term("b"), term("c"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ScoreContext(ctx, Input{}); err == nil || calls != 1 {
		t.Errorf("ScoreContext after cancel: err %v, %d terms run; want an error after 1", err, calls)
	}
	if r := c.Score(Input{}); r.Overall != 3 {
		t.Errorf("Score: %v", r)
	}
}

// BenchmarkHostile scores hostile answers of growing size with every preset: with the limits
// the cost per byte stays flat (most inputs are refused after one linear scan), and the
// largest inputs under the limits show the parsers' own scaling.
func BenchmarkHostile(b *testing.B) {
	var presets []*Composite
	for _, name := range Presets() {
		c, err := Preset(name)
		if err != nil {
			b.Fatal(err)
		}
		presets = append(presets, c)
	}
	for _, n := range []int{10 << 10, 100 << 10, 1 << 20} {
		for _, shape := range []string{"digits", "nested_frac", "nested_sqrt", "parens", "sums"} {
			s := hostileMath(n)[shape]
			ins := []Input{
				{Completion: "<think>x</think><answer>" + s + "</answer>", Reference: s},
				{Completion: `<think>x</think>\boxed{` + s + "}", Reference: "1"},
				{Completion: "<think>" + s + "</think><answer>1</answer>", Reference: "1"},
			}
			b.Run(fmt.Sprintf("%s/%dKiB", shape, n>>10), func(b *testing.B) {
				b.SetBytes(int64(3 * len(s)))
				for b.Loop() {
					for _, c := range presets {
						for _, in := range ins {
							c.Score(in)
						}
					}
				}
			})
		}
	}
	// Under the limits: the parsers themselves (linear in the answer).
	for _, n := range []int{1 << 10, 4 << 10, 8 << 10} {
		for _, shape := range []string{"digits", "sums", "products", "commas"} {
			s := hostileMath(n)[shape]
			b.Run(fmt.Sprintf("grade/%s/%dKiB", shape, n>>10), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				for b.Loop() {
					GradeAnswer(s, s+"1")
				}
			})
		}
	}
}

// The reference regular expressions the hand matchers of format.go stand for.
var (
	strictFormatRe  = regexp.MustCompile(`(?s)^<think>.*?</think>` + pyWS + `*<answer>.*?</answer>$`)
	noThinkFormatRe = regexp.MustCompile(`(?s)^` + pyWS + `*<answer>.*?</answer>$`)
	lenientFormatRe = regexp.MustCompile(`(?s)^<think>.*?</think>` + pyWS + `*<answer>.*?</answer>`)
	mathFormatRe    = regexp.MustCompile(`(?s)^<think>.*</think>.*\\boxed\{.*\}.*$`)
	answerRe        = regexp.MustCompile(`<answer>(.*?)</answer>`)
	articleRe       = regexp.MustCompile(`\b(a|an|the)\b`)
)

// TestDropArticlesMatchesRegexp holds the one-pass article removal to the regexp it replaces.
func TestDropArticlesMatchesRegexp(t *testing.T) {
	cases := []string{"a", "the cat", "an apple a day", "thea", "a_b", "éa b", "a-the-an", "THE", "x the", "the\u00a0a"}
	r := rand.New(rand.NewPCG(5, 6))
	atoms := []string{"a", "an", "the", "x", " ", "_", "-", "é", "1", "A", "\xff", "\u212a"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(10) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		if got, want := dropArticles(s), articleRe.ReplaceAllString(s, " "); got != want {
			t.Errorf("dropArticles(%q) = %q, regexp %q", s, got, want)
		}
	}
}

// TestFormatMatchersMatchRegexps holds the hand matchers to the regular expressions on
// hand-picked and random strings of tags, whitespace (Python's, Unicode included), newlines and
// invalid UTF-8.
func TestFormatMatchersMatchRegexps(t *testing.T) {
	cases := []string{
		"", "<think>a</think><answer>b</answer>", "<think></think><answer></answer>",
		"<think>a</think> \n\t<answer>b</answer>", "<think>a</think>x<answer>b</answer>",
		"<think>a</think><answer>b</answer>\n", "\n<think>a</think><answer>b</answer>",
		"<think>a</think>x</think> <answer>b</answer>", "<think></think><answer>", "<think><answer></answer>",
		"<think></think></answer>", "<think>a</think>\u2003<answer>b</answer>", "<think>a</think>\u200b<answer>b</answer>",
		"  <answer>x</answer>", "<answer></answer>", "<answer>x\n</answer>", "<answer>a\n<answer>b</answer>",
		`<think>x</think>\boxed{1}`, `<think>x</think>\boxed{1`, `<think>x</think>}\boxed{`, `<think>\boxed{1}</think>`,
		"<think>a</think><answer>b</answer>tail", "<answer>a</answer></answer>", "<think>a\xff</think>\xff<answer>b</answer>",
	}
	r := rand.New(rand.NewPCG(3, 4))
	atoms := []string{"<think>", "</think>", "<answer>", "</answer>", " ", "\n", "\t", "\u3000", "\u200b", "x", `\boxed{`, "}", "{", "<", "/", ">", "\xff", "é"}
	for range 20000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		if got, want := matchStrict(s), strictFormatRe.MatchString(s); got != want {
			t.Errorf("matchStrict(%q) = %v, regexp %v", s, got, want)
		}
		if got, want := matchNoThink(s), noThinkFormatRe.MatchString(s); got != want {
			t.Errorf("matchNoThink(%q) = %v, regexp %v", s, got, want)
		}
		if got, want := matchLenientPrefix(s), lenientFormatRe.MatchString(s); got != want {
			t.Errorf("matchLenientPrefix(%q) = %v, regexp %v", s, got, want)
		}
		if got, want := matchMath(s), mathFormatRe.MatchString(s); got != want {
			t.Errorf("matchMath(%q) = %v, regexp %v", s, got, want)
		}
		m := answerRe.FindStringSubmatch(s)
		if a, ok := firstAnswer(s); ok != (m != nil) || (ok && a != m[1]) {
			t.Errorf("firstAnswer(%q) = %q %v, regexp %q", s, a, ok, m)
		}
	}
}
