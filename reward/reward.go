// Package reward holds rule-based rewards for `<think>…</think><answer>…</answer>` completions:
// format rewards, multiple-choice and open-answer accuracy, the DAPO overlong penalty and a
// repetition penalty, composed as weighted sums. Presets reproduce published setups (R1-V /
// Med-R1, EasyR1, DAPO); a YAML config composes custom ones. The same scorers serve the
// trainer, the `eosin reward` command and the HTTP reward service.
//
// Every reward function is pure: it reads only its Input and its parameters. Every one runs
// in time linear in its input (n log n at worst): the math graders parse answers of at most
// MaxMathBytes nested at most MaxMathDepth deep and score larger ones as wrong, naming the
// limit in Result.Limits.
package reward

import (
	"context"
	"fmt"
	"sort"
)

// Input is what a reward function sees for one completion.
type Input struct {
	// Completion is the model's output, decoded with special tokens skipped.
	Completion string `json:"completion"`
	// Reference is the ground-truth answer (the "solution"); it may itself be wrapped in
	// <answer>…</answer>, as Med-R1's solutions are.
	Reference string `json:"reference"`
	// Task is the sample's task (mcq | vqa | description | reasoning | conversation); empty
	// means unknown.
	Task string `json:"task,omitempty"`
	// Options are the choices of a multiple-choice problem, in letter order (A, B, …).
	Options []string `json:"options,omitempty"`
	// Prompt is the problem text, when known.
	Prompt string `json:"prompt,omitempty"`
	// Length is the completion length in tokens (used by the overlong penalty). Zero or less
	// means unknown: the overlong penalty then counts Unicode code points.
	Length int `json:"response_length,omitempty"`
}

// Result is the score of one completion: the weighted total and every component's raw
// (unweighted) value, keyed by the term name.
type Result struct {
	Overall    float64            `json:"overall"`
	Components map[string]float64 `json:"components"`
	// Limits names the terms whose input was beyond a limit of the function (an answer over
	// MaxMathBytes or nested deeper than MaxMathDepth), with the reason (answer_too_large,
	// answer_too_deep, reference_too_large, reference_too_deep): those terms scored as a wrong
	// answer without parsing it.
	Limits map[string]string `json:"limits,omitempty"`
}

// Func is one rule-based reward: a pure function of its input.
type Func func(in Input) float64

// Scorer scores completions.
type Scorer interface {
	// Score returns the total reward and its components for one completion.
	Score(in Input) Result
	// Terms lists the component names in a stable order.
	Terms() []string
}

// Term is one weighted component of a Composite.
type Term struct {
	// Name keys the component in Result.Components.
	Name string
	// Fn is the registered function name that built Func (for display and configs).
	Fn string
	// Weight multiplies the component in the total.
	Weight float64
	// Params are the parameters Func was built with.
	Params map[string]any
	// Func computes the component.
	Func Func
	// limited, when set, computes the component like Func and also says which limit, if any,
	// decided it.
	limited func(Input) (float64, string)
}

// Composite is a weighted sum of terms: Overall = Σ weight·value.
type Composite struct {
	// Name identifies the composite (a preset name or "config").
	Name  string
	terms []Term
}

// NewComposite builds a composite from terms. Term names must be unique and non-empty.
func NewComposite(name string, terms ...Term) (*Composite, error) {
	seen := map[string]bool{}
	for i, t := range terms {
		if t.Name == "" {
			return nil, fmt.Errorf("reward %q: term %d has no name", name, i)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("reward %q: duplicate term %q", name, t.Name)
		}
		if t.Func == nil {
			return nil, fmt.Errorf("reward %q: term %q has no function", name, t.Name)
		}
		seen[t.Name] = true
	}
	return &Composite{Name: name, terms: append([]Term(nil), terms...)}, nil
}

// Score implements Scorer.
func (c *Composite) Score(in Input) Result {
	r, _ := c.ScoreContext(context.Background(), in)
	return r
}

// ScoreContext is Score, giving up between terms once ctx is done (with ctx's error).
func (c *Composite) ScoreContext(ctx context.Context, in Input) (Result, error) {
	r := Result{Components: make(map[string]float64, len(c.terms))}
	for _, t := range c.terms {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		var v float64
		if t.limited != nil {
			var why string
			if v, why = t.limited(in); why != "" {
				if r.Limits == nil {
					r.Limits = map[string]string{}
				}
				r.Limits[t.Name] = why
			}
		} else {
			v = t.Func(in)
		}
		r.Components[t.Name] = v
		r.Overall += t.Weight * v
	}
	return r, nil
}

// Terms implements Scorer.
func (c *Composite) Terms() []string {
	out := make([]string, len(c.terms))
	for i, t := range c.terms {
		out[i] = t.Name
	}
	return out
}

// TermList returns a copy of the composite's terms.
func (c *Composite) TermList() []Term { return append([]Term(nil), c.terms...) }

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
