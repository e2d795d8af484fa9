// Package trainer is eosin's GRPO/DAPO trainer: rollouts with the built-in Qwen2 decoder or
// a Qwen2-VL / Qwen2.5-VL model, rule-based rewards, group advantages, the clipped policy
// loss, AdamW, checkpoints that Hugging Face tools load and that resume bit-identically, and
// the `eosin train` loop. One step serves both kinds of model: it talks to a Policy
// (TextPolicy, VLMPolicy) that keeps weights, gradients and optimizer state behind it, in
// float32 or bf16 mixed precision. The model, vision tower, tokenizer, safetensors and loss
// math live in the sub-packages model, vision, tokenizer, safetensors and grpo.
package trainer

import (
	"fmt"

	"github.com/eosinlab/eosin/trainer/tokenizer"
)

// Codec turns text into token ids and back, and renders a problem as a prompt.
type Codec interface {
	// Encode tokenizes text (special tokens in the text are recognised).
	Encode(text string) ([]int32, error)
	// Decode turns ids into text; skipSpecial drops special tokens.
	Decode(ids []int32, skipSpecial bool) (string, error)
	// Prompt renders a task as the model's prompt text.
	Prompt(t Task) string
	// StopTokens lists the ids that end a completion (the first is the EOS of the loss mask).
	StopTokens() []int32
	// VocabSize is the number of ids the codec can produce.
	VocabSize() int
}

// HFCodec adapts a Hugging Face tokenizer with the Qwen chat template.
type HFCodec struct {
	Tok *tokenizer.Tokenizer
	// System is the system prompt ("" to omit; tokenizer.DefaultSystem for Qwen2-VL).
	System string
	// Template formats the user turn; "{problem}" and "{options}" are replaced.
	Template string
	stops    []int32
}

// DefaultTemplate asks for the R1 format (Med-R1 style).
const DefaultTemplate = "{problem}{options}\nOutput the thinking process in <think> </think> and the final answer in <answer> </answer> tags."

// NewHFCodec builds a codec; the stop tokens are <|im_end|> and <|endoftext|>.
func NewHFCodec(tok *tokenizer.Tokenizer, system, template string) (*HFCodec, error) {
	c := &HFCodec{Tok: tok, System: system, Template: template}
	if c.Template == "" {
		c.Template = DefaultTemplate
	}
	for _, s := range []string{"<|im_end|>", "<|endoftext|>"} {
		id, ok := tok.TokenID(s)
		if !ok {
			return nil, fmt.Errorf("codec: tokenizer has no %s token", s)
		}
		c.stops = append(c.stops, int32(id))
	}
	return c, nil
}

// Encode implements Codec.
func (c *HFCodec) Encode(text string) ([]int32, error) {
	ids, err := c.Tok.Encode(text)
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out, nil
}

// Decode implements Codec.
func (c *HFCodec) Decode(ids []int32, skipSpecial bool) (string, error) {
	in := make([]int, len(ids))
	for i, id := range ids {
		in[i] = int(id)
	}
	return c.Tok.Decode(in, skipSpecial)
}

// Prompt implements Codec.
func (c *HFCodec) Prompt(t Task) string {
	user := FillTemplate(c.Template, t)
	return tokenizer.ChatTemplate([]tokenizer.Message{{Role: "user", Content: user}}, c.System, true)
}

// StopTokens implements Codec.
func (c *HFCodec) StopTokens() []int32 { return c.stops }

// VocabSize implements Codec.
func (c *HFCodec) VocabSize() int { return c.Tok.VocabSize() }
