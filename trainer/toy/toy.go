// Package toy holds verifiable toy tasks for testing the trainer end to end on a CPU: the
// prompt names an operation on two digits a and b ("max 3 7", "3+7=?"), the answer is one
// digit, and the completion is expected in the R1 format "<think>…</think><answer>d</answer>".
// The vocabulary has 22 tokens, so a tiny decoder runs fast.
package toy

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/eosinlab/eosin/trainer"
)

// Vocab lists the token strings; the index is the id. 0 and 1 are special.
var Vocab = []string{"<|endoftext|>", "<|im_end|>", "<think>", "</think>", "<answer>", "</answer>",
	"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", "?", "\n", "max", " "}

// Special token ids.
const (
	Pad = 0
	EOS = 1
)

// Codec is the toy task's trainer.Codec: greedy longest-match tokenization over Vocab.
type Codec struct{}

// Encode implements trainer.Codec.
func (Codec) Encode(text string) ([]int32, error) {
	var out []int32
	for len(text) > 0 {
		best := -1
		for id, s := range Vocab {
			if strings.HasPrefix(text, s) && (best < 0 || len(s) > len(Vocab[best])) {
				best = id
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("toy: cannot tokenize %q", text)
		}
		out = append(out, int32(best))
		text = text[len(Vocab[best]):]
	}
	return out, nil
}

// Decode implements trainer.Codec.
func (Codec) Decode(ids []int32, skipSpecial bool) (string, error) {
	var sb strings.Builder
	for _, id := range ids {
		if id < 0 || int(id) >= len(Vocab) {
			return "", fmt.Errorf("toy: id %d outside vocabulary", id)
		}
		if skipSpecial && id <= EOS {
			continue
		}
		sb.WriteString(Vocab[id])
	}
	return sb.String(), nil
}

// Prompt implements trainer.Codec: the problem itself.
func (Codec) Prompt(t trainer.Task) string { return t.Problem }

// StopTokens implements trainer.Codec: <|im_end|> and <|endoftext|>, as Qwen stops.
func (Codec) StopTokens() []int32 { return []int32{EOS, Pad} }

// VocabSize implements trainer.Codec.
func (Codec) VocabSize() int { return len(Vocab) }

// Op is a toy operation.
type Op string

// The operations: Max answers the larger digit ("max a b"), Sum the last digit of a+b
// ("a+b=?"), First the first digit ("max" prompt shape, answer a).
const (
	Max   Op = "max"
	Sum   Op = "sum"
	First Op = "first"
)

func (op Op) problem(a, b int) (string, int) {
	switch op {
	case Sum:
		return fmt.Sprintf("%d+%d=?", a, b), (a + b) % 10
	case First:
		return fmt.Sprintf("max %d %d", a, b), a
	}
	return fmt.Sprintf("max %d %d", a, b), max(a, b)
}

// Tasks returns the 100 problems of op over all digit pairs.
func Tasks(op Op) []trainer.Task {
	var out []trainer.Task
	for a := 0; a < 10; a++ {
		for b := 0; b < 10; b++ {
			p, ans := op.problem(a, b)
			out = append(out, trainer.Task{ID: fmt.Sprintf("%s-%d-%d", op, a, b), Kind: "vqa", Problem: p, Answer: fmt.Sprint(ans)})
		}
	}
	return out
}

// FormatExamples returns n cold-start examples that teach the format but not the task: the
// think part restates the problem and the answer is a uniformly random digit.
func FormatExamples(op Op, n int, rng *rand.Rand) ([]trainer.SFTExample, error) {
	var c Codec
	tasks := Tasks(op)
	var out []trainer.SFTExample
	for range n {
		t := tasks[rng.IntN(len(tasks))]
		p, err := c.Encode(t.Problem)
		if err != nil {
			return nil, err
		}
		comp, err := c.Encode(fmt.Sprintf("<think>%s</think><answer>%d</answer><|im_end|>", strings.TrimSuffix(t.Problem, "=?"), rng.IntN(10)))
		if err != nil {
			return nil, err
		}
		out = append(out, trainer.SFTExample{Prompt: p, Completion: comp})
	}
	return out, nil
}
