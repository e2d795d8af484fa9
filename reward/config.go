package reward

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Config composes a scorer from YAML:
//
//	preset: r1v          # optional base: r1v | r1v_nothink | easyr1 | easyr1_math | dapo | default
//	terms:               # optional; a term named like a preset term replaces it, others are added
//	  - name: accuracy
//	    fn: accuracy_mcq
//	    weight: 1
//	  - name: length
//	    fn: overlong
//	    weight: 1
//	    params: {max_len: 4096, buffer: 512}
type Config struct {
	Preset string       `yaml:"preset" json:"preset,omitempty"`
	Terms  []TermConfig `yaml:"terms" json:"terms,omitempty"`
}

// TermConfig is one term of a Config.
type TermConfig struct {
	Name   string         `yaml:"name" json:"name"`
	Fn     string         `yaml:"fn" json:"fn"`
	Weight *float64       `yaml:"weight" json:"weight,omitempty"` // default 1
	Params map[string]any `yaml:"params" json:"params,omitempty"`
}

// Functions lists the function names a TermConfig may use, with their parameters.
var Functions = map[string]string{
	"format_strict":  "R1-V/Med-R1 fullmatch <think>…</think>\\s*<answer>…</answer>; 1/0",
	"format_nothink": "Med-R1 no-think fullmatch \\s*<answer>…</answer>; 1/0",
	"format_lenient": "think+answer at the start, whitespace and tag spacing tolerated: 1; answer only: 0.5; else 0",
	"format_math":    "EasyR1 math: <think>.*</think>.*\\boxed{.*}.* after tag-space normalisation; 1/0",
	"accuracy_exact": "R1-V/Med-R1: extracted <answer> strings equal; 1/0",
	"accuracy_grade": "EasyR1 r1v: extracted answer graded with GradeAnswer; 1/0",
	"accuracy_math":  "EasyR1 math: last \\boxed{} graded with GradeAnswer; 1/0",
	"accuracy_mcq":   "option letter of the answer equals the reference letter; 1/0",
	"accuracy_open":  "normalised exact match or numeric within rel_tol (default 0.01); else token F1 when f1: true (default)",
	"accuracy_auto":  "accuracy_mcq for mcq tasks or when options are given, accuracy_open otherwise (params as accuracy_open)",
	"accuracy_dapo":  "DAPO: last 'Answer: …' in the final 300 characters, normalised; +1/−1",
	"overlong":       "DAPO soft overlong punishment; params max_len (20480), buffer (4096), verl (false); 0…−1",
	"repetition":     "−(repeated word n-gram fraction) above threshold; params n (4), threshold (0.2)",
}

// Build returns the Func named fn with params (missing params take their defaults).
func Build(fn string, params map[string]any) (Func, error) {
	f, _, err := build(fn, params)
	return f, err
}

// build is Build, also returning the limit-reporting form of the functions that have one.
func build(fn string, params map[string]any) (Func, func(Input) (float64, string), error) {
	p := paramReader{m: params}
	var f Func
	var limited func(Input) (float64, string)
	switch fn {
	case "format_strict":
		f = FormatStrict
	case "format_nothink":
		f = FormatNoThink
	case "format_lenient":
		f = FormatLenient
	case "format_math":
		f = FormatMath
	case "accuracy_exact":
		f = AccuracyExact
	case "accuracy_grade":
		f, limited = AccuracyGrade, accuracyGrade
	case "accuracy_math":
		f, limited = AccuracyMath, accuracyMath
	case "accuracy_mcq":
		f = AccuracyMCQ
	case "accuracy_open":
		f = AccuracyOpen(OpenParams{F1: p.bool("f1", true), RelTol: p.float("rel_tol", 0.01)})
	case "accuracy_auto":
		f = AccuracyAuto(OpenParams{F1: p.bool("f1", true), RelTol: p.float("rel_tol", 0.01)})
	case "accuracy_dapo":
		f, limited = AccuracyDAPO, accuracyDAPO
	case "overlong":
		op := OverlongParams{MaxLen: p.int("max_len", 20480), Buffer: p.int("buffer", 4096), Verl: p.bool("verl", false)}
		if op.Buffer <= 0 || op.Buffer > op.MaxLen {
			return nil, nil, fmt.Errorf("overlong: buffer %d must be in 1..max_len (%d)", op.Buffer, op.MaxLen)
		}
		f = OverlongFunc(op)
	case "repetition":
		f = RepetitionFunc(p.int("n", 4), p.float("threshold", 0.2))
	default:
		return nil, nil, fmt.Errorf("unknown reward function %q (known: %v)", fn, sortedKeys(Functions))
	}
	if p.err != nil {
		return nil, nil, fmt.Errorf("%s: %w", fn, p.err)
	}
	for k := range params {
		if !p.used[k] {
			return nil, nil, fmt.Errorf("%s: unknown parameter %q", fn, k)
		}
	}
	return f, limited, nil
}

type paramReader struct {
	m    map[string]any
	used map[string]bool
	err  error
}

func (p *paramReader) get(k string) (any, bool) {
	if p.used == nil {
		p.used = map[string]bool{}
	}
	p.used[k] = true
	v, ok := p.m[k]
	return v, ok
}

func (p *paramReader) float(k string, def float64) float64 {
	v, ok := p.get(k)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	p.err = fmt.Errorf("parameter %q: want a number, got %T", k, v)
	return def
}

func (p *paramReader) int(k string, def int) int {
	v, ok := p.get(k)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
	}
	p.err = fmt.Errorf("parameter %q: want an integer, got %v", k, v)
	return def
}

func (p *paramReader) bool(k string, def bool) bool {
	v, ok := p.get(k)
	if !ok {
		return def
	}
	if b, ok := v.(bool); ok {
		return b
	}
	p.err = fmt.Errorf("parameter %q: want true or false, got %v", k, v)
	return def
}

// presets maps a preset name to its terms.
func presetTerms(name string) ([]TermConfig, bool) {
	w := func(x float64) *float64 { return &x }
	switch name {
	case "r1v":
		// R1-V / Med-R1: accuracy + format, each 1/0, total in {0, 1, 2}.
		return []TermConfig{{Name: "accuracy", Fn: "accuracy_exact", Weight: w(1)}, {Name: "format", Fn: "format_strict", Weight: w(1)}}, true
	case "r1v_nothink":
		return []TermConfig{{Name: "accuracy", Fn: "accuracy_exact", Weight: w(1)}, {Name: "format", Fn: "format_nothink", Weight: w(1)}}, true
	case "easyr1", "easyr1_r1v":
		// EasyR1 r1v.py: 0.5·accuracy + 0.5·format.
		return []TermConfig{{Name: "accuracy", Fn: "accuracy_grade", Weight: w(0.5)}, {Name: "format", Fn: "format_strict", Weight: w(0.5)}}, true
	case "easyr1_math":
		// EasyR1 math.py: 0.9·accuracy + 0.1·format.
		return []TermConfig{{Name: "accuracy", Fn: "accuracy_math", Weight: w(0.9)}, {Name: "format", Fn: "format_math", Weight: w(0.1)}}, true
	case "dapo":
		// DAPO recipe: ±1 accuracy + overlong (L_max 20480, L_c 4096, factor 1).
		return []TermConfig{{Name: "accuracy", Fn: "accuracy_dapo", Weight: w(1)},
			{Name: "overlong", Fn: "overlong", Weight: w(1), Params: map[string]any{"max_len": 20480, "buffer": 4096}}}, true
	case "default", "":
		// eosin: task-aware tolerant accuracy, lenient format, repetition penalty.
		return []TermConfig{{Name: "accuracy", Fn: "accuracy_auto", Weight: w(1)},
			{Name: "format", Fn: "format_lenient", Weight: w(0.5)},
			{Name: "repetition", Fn: "repetition", Weight: w(0.5)}}, true
	}
	return nil, false
}

// Presets lists the preset names.
func Presets() []string {
	return []string{"default", "r1v", "r1v_nothink", "easyr1", "easyr1_math", "dapo"}
}

// Preset returns the named preset scorer: r1v, r1v_nothink, easyr1 (= easyr1_r1v),
// easyr1_math, dapo or default.
func Preset(name string) (*Composite, error) {
	if _, ok := presetTerms(name); !ok {
		return nil, fmt.Errorf("unknown reward preset %q (known: %v)", name, Presets())
	}
	return FromConfig(Config{Preset: name})
}

// FromConfig builds the scorer a Config describes.
func FromConfig(c Config) (*Composite, error) {
	base, ok := presetTerms(c.Preset)
	if !ok {
		return nil, fmt.Errorf("unknown reward preset %q (known: %v)", c.Preset, Presets())
	}
	if c.Preset == "" && len(c.Terms) > 0 {
		base = nil // terms alone define the scorer
	}
	terms := append([]TermConfig(nil), base...)
	for _, t := range c.Terms {
		replaced := false
		for i := range terms {
			if terms[i].Name == t.Name {
				terms[i], replaced = t, true
			}
		}
		if !replaced {
			terms = append(terms, t)
		}
	}
	name := c.Preset
	if name == "" {
		name = "default"
	}
	if len(c.Terms) > 0 {
		name = "config"
	}
	out := make([]Term, 0, len(terms))
	for _, t := range terms {
		if t.Fn == "" {
			return nil, fmt.Errorf("reward term %q: no fn", t.Name)
		}
		f, limited, err := build(t.Fn, t.Params)
		if err != nil {
			return nil, fmt.Errorf("reward term %q: %w", t.Name, err)
		}
		weight := 1.0
		if t.Weight != nil {
			weight = *t.Weight
		}
		out = append(out, Term{Name: t.Name, Fn: t.Fn, Weight: weight, Params: t.Params, Func: f, limited: limited})
	}
	return NewComposite(name, out...)
}

// LoadConfig reads a YAML config file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reward config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig parses YAML (or JSON) config bytes. Unknown keys are errors.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("reward config: %w", err)
	}
	return c, nil
}

// Describe returns one "name = weight × fn" line per term, in term order.
func Describe(c *Composite) []string {
	var out []string
	for _, t := range c.terms {
		out = append(out, fmt.Sprintf("%s = %g × %s", t.Name, t.Weight, t.Fn))
	}
	return out
}
