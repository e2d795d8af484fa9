package reward

import (
	"encoding/json"
	"math"
	"os"
	"regexp"
	"testing"
	"unicode/utf8"
)

// TestPythonGolden checks the Go ports of the reference rules against outputs of CPython's re
// on the same strings (testdata/python_golden.json: R1-V/Med-R1 format and accuracy, EasyR1
// math format and tag normalisation, DAPO accuracy and answer normalisation).
func TestPythonGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/python_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Completion    string  `json:"completion"`
		Reference     string  `json:"reference"`
		FormatStrict  float64 `json:"format_strict"`
		FormatNoThink float64 `json:"format_nothink"`
		AccuracyExact float64 `json:"accuracy_exact"`
		FormatMath    float64 `json:"format_math"`
		TagNorm       string  `json:"tagnorm"`
		AccuracyDAPO  float64 `json:"accuracy_dapo"`
		NormReference string  `json:"norm_reference"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 40 {
		t.Fatalf("golden file has %d cases", len(cases))
	}
	for i, c := range cases {
		in := Input{Completion: c.Completion, Reference: c.Reference}
		check := func(name string, got, want float64) {
			if got != want {
				t.Errorf("case %d %q ref %q: %s = %v, python %v", i, c.Completion, c.Reference, name, got, want)
			}
		}
		check("format_strict", FormatStrict(in), c.FormatStrict)
		check("format_nothink", FormatNoThink(in), c.FormatNoThink)
		check("accuracy_exact", AccuracyExact(in), c.AccuracyExact)
		check("format_math", FormatMath(in), c.FormatMath)
		check("accuracy_dapo", AccuracyDAPO(in), c.AccuracyDAPO)
		if got := normalizeTagSpaces(c.Completion); got != c.TagNorm {
			t.Errorf("case %d: tag normalisation %q, python %q", i, got, c.TagNorm)
		}
		if got := NormalizeFinalAnswer(c.Reference); got != c.NormReference {
			t.Errorf("case %d: NormalizeFinalAnswer(%q) = %q, python %q", i, c.Reference, got, c.NormReference)
		}
	}
}

// TestR1VEdgeCases spells out the grpo.md edge cases of the R1-V / Med-R1 rules.
func TestR1VEdgeCases(t *testing.T) {
	r1v, err := Preset("r1v")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, completion, reference string
		format, accuracy, total     float64
	}{
		{"canonical", "<think>the lesion is…</think><answer>C</answer>", "<answer> C </answer>", 1, 1, 2},
		{"whitespace between blocks", "<think>t</think>\n \n<answer>C</answer>", "C", 1, 1, 2},
		{"newline before think", "\n<think>t</think><answer>C</answer>", "C", 0, 1, 1},
		{"text before think", "Sure! <think>t</think><answer>C</answer>", "C", 0, 1, 1},
		{"newline after answer", "<think>t</think><answer>C</answer>\n", "C", 0, 1, 1},
		{"newlines inside blocks", "<think>\na\nb\n</think>\n<answer>\nC\n</answer>", "C", 1, 0, 1},
		{"nested think", "<think>a<think>b</think>c</think><answer>C</answer>", "C", 1, 1, 2},
		{"nested answer", "<think>a</think><answer><answer>C</answer></answer>", "C", 1, 0, 1},
		{"first answer wins", "<think>a</think><answer>B</answer><answer>C</answer>", "C", 1, 0, 1},
		{"missing answer", "<think>a</think>", "C", 0, 0, 0},
		{"unclosed answer", "<think>a</think><answer>C", "C", 0, 0, 0},
		{"bare letter", "C", "C", 0, 1, 1},
		{"answer without think", "<answer>C</answer>", "C", 0, 1, 1},
		{"upper-case tags", "<THINK>a</THINK><ANSWER>C</ANSWER>", "C", 0, 0, 0},
		{"unicode nbsp between blocks", "<think>a</think>\u00a0<answer>C</answer>", "C", 1, 1, 2},
		{"zero width space is not whitespace", "<think>a</think>\u200b<answer>C</answer>", "C", 0, 1, 1},
		{"wrong letter", "<think>a</think><answer>B</answer>", "C", 1, 0, 1},
		{"parenthesised letter is not exact", "<think>a</think><answer>(C)</answer>", "C", 1, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Completion: tc.completion, Reference: tc.reference}
			res := r1v.Score(in)
			if res.Components["format"] != tc.format || res.Components["accuracy"] != tc.accuracy || res.Overall != tc.total {
				t.Errorf("got format %v accuracy %v total %v, want %v %v %v",
					res.Components["format"], res.Components["accuracy"], res.Overall, tc.format, tc.accuracy, tc.total)
			}
		})
	}
}

func TestFormatLenient(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"<think>a</think><answer>C</answer>", 1},
		{"\n  <think>a</think>\n<answer>C</answer>\n", 1},
		{"< think >a< /think >< answer >C< /answer >", 1},
		{"<think>a</think><answer>C</answer> trailing words", 1},
		{"<answer>C</answer>", 0.5},
		{"<think>a</think><answer> </answer>", 1},
		{"<answer> </answer>", 0},
		{"just text", 0},
		{"", 0},
	}
	for _, tc := range tests {
		if got := FormatLenient(Input{Completion: tc.in}); got != tc.want {
			t.Errorf("FormatLenient(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestExtractLetter(t *testing.T) {
	opts := []string{"Squamous cell carcinoma", "Adenocarcinoma", "Melanoma", "Lymphoma"}
	tests := []struct {
		in      string
		options []string
		want    string
	}{
		{"C", nil, "C"},
		{"(C)", nil, "C"},
		{"[C]", nil, "C"},
		{"C. Melanoma", nil, "C"},
		{"C) Melanoma", nil, "C"},
		{"C: Melanoma", nil, "C"},
		{"Answer: C", nil, "C"},
		{"answer: (c)", nil, "C"},
		{"The answer is C.", nil, "C"},
		{"The correct answer is (B)", nil, "B"},
		{"**D**", nil, "D"},
		{"Option B", nil, "B"},
		{"c", nil, "C"},
		{"  C  ", nil, "C"},
		{"Melanoma", opts, "C"},
		{"melanoma.", opts, "C"},
		{"E", opts, ""},
		{"a lymphoma", opts, "D"}, // no letter; the text names option D
		{"a", nil, "A"},
		{"a lesion", nil, ""},
		{"Cancer of the skin", opts, ""},
		{"", opts, ""},
		{"Adenocarcinoma is most likely", opts, ""},
		{"A lesion", nil, "A"}, // a capital followed by a space reads as a letter
	}
	for _, tc := range tests {
		if got := ExtractLetter(tc.in, tc.options); got != tc.want {
			t.Errorf("ExtractLetter(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAccuracyMCQ(t *testing.T) {
	opts := []string{"A. Squamous cell carcinoma", "B. Adenocarcinoma", "C. Melanoma", "D. Lymphoma"}
	tests := []struct {
		completion, reference string
		want                  float64
	}{
		{"<think>x</think><answer>C</answer>", "C", 1},
		{"<think>x</think><answer>(C) Melanoma</answer>", "<answer> C </answer>", 1},
		{"<think>x</think><answer>Answer: C</answer>", "C", 1},
		{"<think>x</think><answer>Melanoma</answer>", "C", 1},
		{"<think>x</think><answer>C</answer>", "Melanoma", 1},
		{"<think>x</think><answer>B</answer>", "C", 0},
		{"<think>x</think><answer>unsure</answer>", "C", 0},
		{"<think>x</think>", "C", 0},
		{"<think>x</think><answer>C</answer>", "", 0},
	}
	for _, tc := range tests {
		in := Input{Completion: tc.completion, Reference: tc.reference, Options: opts, Task: "mcq"}
		if got := AccuracyMCQ(in); got != tc.want {
			t.Errorf("AccuracyMCQ(%q, %q) = %v, want %v", tc.completion, tc.reference, got, tc.want)
		}
	}
}

func TestAccuracyOpen(t *testing.T) {
	f1 := AccuracyOpen(OpenParams{F1: true, RelTol: 0.01})
	strict := AccuracyOpen(OpenParams{})
	tests := []struct {
		completion, reference string
		f1, strict            float64
	}{
		{"<answer>The Reed-Sternberg cell.</answer>", "reed sternberg cell", 1, 1},
		{"<answer>3.5 cm</answer>", "3.5 cm", 1, 1},
		{"<answer>3.52 cm</answer>", "3.5", 1, 0},
		{"<answer>4 cm</answer>", "3.5 cm", 0.4, 0}, // tokens 3 5 cm vs 4 cm
		{"<answer>1,000</answer>", "1000", 1, 1},
		{"<answer>granulomatous inflammation</answer>", "chronic granulomatous inflammation", 0.8, 0},
		{"<answer>nothing alike</answer>", "melanoma", 0, 0},
		{"<answer></answer>", "melanoma", 0, 0},
		{"<answer>melanoma</answer>", "", 0, 0},
	}
	for _, tc := range tests {
		in := Input{Completion: tc.completion, Reference: tc.reference}
		if got := f1(in); math.Abs(got-tc.f1) > 1e-9 {
			t.Errorf("open F1 (%q, %q) = %v, want %v", tc.completion, tc.reference, got, tc.f1)
		}
		if got := strict(in); got != tc.strict {
			t.Errorf("open strict (%q, %q) = %v, want %v", tc.completion, tc.reference, got, tc.strict)
		}
	}
}

func TestGradeAnswer(t *testing.T) {
	tests := []struct {
		given, truth string
		want         bool
	}{
		{"C", "C", true},
		{"c", "C", true}, // PRM800K normalisation lower-cases
		{"\\frac{1}{2}", "0.5", true},
		{"1/2", "\\frac{1}{2}", true},
		{"\\dfrac{1}{2}", "\\frac12", true},
		{"2/4", "1/2", false}, // unreduced fractions do not match
		{"10", "10.0", true},
		{"1,000", "1000", true},
		{"5 cm", "5", true},
		{"45^\\circ", "45", true},
		{"50\\%", "50", true},
		{"\\text{Melanoma}", "melanoma", true},
		{"x=3", "3", true},
		{"(1, 2)", "(1,2)", true},
		{"(1, 2)", "[1,2]", false},
		{"(1, 3)", "(1,2)", false},
		{"2\\sqrt{2}", "\\sqrt{8}", true},
		{"\\sqrt{2}/2", "1/\\sqrt{2}", true},
		{"3.14", "\\pi", false},
		{"2^3", "8", false}, // integer ground truth demands an integer-looking answer
		{"0.25", "\\frac{1}{4}", true},
		{"7 3/4", "31/4", true},
		{"", "1", false},
		{"None", "1", false},
		{"x+1", "1+x", false}, // symbolic equality needs sympy; only constants are evaluated
	}
	for _, tc := range tests {
		if got := GradeAnswer(tc.given, tc.truth); got != tc.want {
			t.Errorf("GradeAnswer(%q, %q) = %v, want %v", tc.given, tc.truth, got, tc.want)
		}
	}
}

func TestExtractBoxed(t *testing.T) {
	tests := map[string]string{
		`so \boxed{42}.`:                     "42",
		`\boxed{1} then \boxed{\frac{1}{2}}`: `\frac{1}{2}`,
		`\boxed{ {a}+{b} }`:                  "{a}+{b}",
		`\boxed{unclosed`:                    "None",
		`nothing`:                            "None",
	}
	for in, want := range tests {
		if got := ExtractBoxed(in); got != want {
			t.Errorf("ExtractBoxed(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOverlong(t *testing.T) {
	p := OverlongParams{MaxLen: 20480, Buffer: 4096}
	v := OverlongParams{MaxLen: 20480, Buffer: 4096, Verl: true}
	tests := []struct {
		n           int
		paper, verl float64
	}{
		{0, 0, 0},
		{16384, 0, 0},
		{16385, -1.0 / 4096, -1.0 / 4096},
		{18432, -0.5, -0.5},
		{20480, -1, -1},
		{20481, -1, -4097.0 / 4096},
		{30000, -1, -(30000.0 - 16384) / 4096},
	}
	for _, tc := range tests {
		if got := Overlong(tc.n, p); math.Abs(got-tc.paper) > 1e-12 {
			t.Errorf("Overlong(%d) = %v, want %v", tc.n, got, tc.paper)
		}
		if got := Overlong(tc.n, v); math.Abs(got-tc.verl) > 1e-12 {
			t.Errorf("Overlong verl(%d) = %v, want %v", tc.n, got, tc.verl)
		}
	}
}

func TestDAPOPreset(t *testing.T) {
	d, err := Preset("dapo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		completion, reference string
		length                int
		overall               float64
	}{
		{"reasoning…\nAnswer: 42", "42", 100, 1},
		{"reasoning…\nAnswer: 41", "42", 100, -1},
		{"reasoning…\nAnswer: 42", "42", 18432, 0.5},
		{"reasoning…\nAnswer: 42", "42", 30000, 0},
		{"no answer line", "42", 30000, -2},
	}
	for _, tc := range tests {
		got := d.Score(Input{Completion: tc.completion, Reference: tc.reference, Length: tc.length})
		if math.Abs(got.Overall-tc.overall) > 1e-12 {
			t.Errorf("dapo(%q, len %d) = %+v, want overall %v", tc.completion, tc.length, got, tc.overall)
		}
	}
}

func TestEasyR1Presets(t *testing.T) {
	r1v, _ := Preset("easyr1")
	math, _ := Preset("easyr1_math")
	tests := []struct {
		scorer     *Composite
		completion string
		reference  string
		want       float64
	}{
		{r1v, "<think>a</think><answer>1/2</answer>", "0.5", 1},
		{r1v, "<think>a</think><answer>1/3</answer>", "0.5", 0.5},
		{r1v, "\n<think>a</think><answer>1/2</answer>", "0.5", 0.5},
		{r1v, "no tags", "0.5", 0},
		{math, "<think>a</think> so \\boxed{12}", "12", 1},
		{math, "< think >a< /think > so \\boxed{12}", "12", 1},
		{math, "<think>a</think> so \\boxed{13}", "12", 0.1},
		{math, "so \\boxed{12}", "12", 0.9},
	}
	for _, tc := range tests {
		got := tc.scorer.Score(Input{Completion: tc.completion, Reference: tc.reference})
		if diff := got.Overall - tc.want; diff > 1e-12 || diff < -1e-12 {
			t.Errorf("%s(%q) = %+v, want overall %v", tc.scorer.Name, tc.completion, got, tc.want)
		}
	}
}

func TestRepetition(t *testing.T) {
	loop := "the cells are atypical " + repeat("the cells are atypical ", 30)
	if r := RepetitionRate(loop, 4); r < 0.8 {
		t.Errorf("loop repetition %v, want > 0.8", r)
	}
	plain := "Sheets of atypical lymphocytes with irregular nuclei infiltrate the dermis around vessels."
	if r := RepetitionRate(plain, 4); r != 0 {
		t.Errorf("plain repetition %v, want 0", r)
	}
	f := RepetitionFunc(4, 0.2)
	if f(Input{Completion: plain}) != 0 || f(Input{Completion: loop}) >= -0.8 {
		t.Error("repetition penalty does not separate a loop from plain text")
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

func TestConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
preset: r1v
terms:
  - name: format
    fn: format_lenient
    weight: 0.25
  - name: length
    fn: overlong
    params: {max_len: 100, buffer: 20}
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Terms(); len(got) != 3 || got[0] != "accuracy" || got[1] != "format" || got[2] != "length" {
		t.Fatalf("terms %v", got)
	}
	res := c.Score(Input{Completion: "<answer>C</answer>", Reference: "C", Length: 90})
	// accuracy 1·1 + format 0.25·0.5 + length 1·(-0.5)
	if math.Abs(res.Overall-0.625) > 1e-12 {
		t.Errorf("overall %v, want 0.625 (%v)", res.Overall, res.Components)
	}
	bad := []string{
		"preset: nope",
		"terms: [{name: x, fn: nope}]",
		"terms: [{name: x, fn: overlong, params: {max_len: 10, buffer: 20}}]",
		"terms: [{name: x, fn: repetition, params: {bogus: 1}}]",
		"terms: [{name: x, fn: repetition, params: {n: two}}]",
		"terms: [{name: x}]",
		"unknown_key: 1",
	}
	for _, b := range bad {
		cfg, err := ParseConfig([]byte(b))
		if err == nil {
			_, err = FromConfig(cfg)
		}
		if err == nil {
			t.Errorf("config %q accepted", b)
		}
	}
	for _, p := range Presets() {
		if _, err := Preset(p); err != nil {
			t.Errorf("preset %s: %v", p, err)
		}
	}
}

func FuzzRewards(f *testing.F) {
	for _, s := range []string{"<think>a</think><answer>C</answer>", "Answer: \\frac12", `\boxed{\sqrt{2}}`, "(1,2)", "7 3/4"} {
		f.Add(s, "C")
	}
	scorers := []*Composite{}
	for _, p := range Presets() {
		c, _ := Preset(p)
		scorers = append(scorers, c)
	}
	f.Fuzz(func(t *testing.T, completion, reference string) {
		in := Input{Completion: completion, Reference: reference, Options: []string{"x", "y"}}
		for _, c := range scorers {
			r := c.Score(in)
			if math.IsNaN(r.Overall) || math.IsInf(r.Overall, 0) {
				t.Fatalf("%s: overall %v", c.Name, r.Overall)
			}
		}
		GradeAnswer(completion, reference)
		NormalizeFinalAnswer(completion)
	})
}

// FuzzTagSpaces checks the hand-written tag-space normalisation against the regular
// expression it implements.
func FuzzTagSpaces(f *testing.F) {
	re := regexp.MustCompile(pyWS + `*([<>/])` + pyWS + `*`)
	for _, s := range []string{"a  < / b", "x /\n y > z", "\u00a0<\u3000x\u2028/\u0085", "< think >"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		if got, want := normalizeTagSpaces(s), re.ReplaceAllString(s, "$1"); got != want {
			t.Fatalf("normalizeTagSpaces(%q) = %q, regexp %q", s, got, want)
		}
	})
}
