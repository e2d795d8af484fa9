package tokenizer

import "strings"

// Message is one chat turn.
type Message struct {
	Role    string
	Content string
}

// DefaultSystem is the system prompt the Qwen2-VL/Qwen2.5-VL chat template inserts when the
// conversation does not start with a system message.
const DefaultSystem = "You are a helpful assistant."

// ChatTemplate renders the Qwen (ChatML) template: each message becomes
// "<|im_start|>{role}\n{content}<|im_end|>\n"; when the first message is not a system message
// and system is non-empty, a system turn with that text comes first; addGeneration appends
// "<|im_start|>assistant\n".
func ChatTemplate(msgs []Message, system string, addGeneration bool) string {
	var sb strings.Builder
	if system != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
		sb.WriteString("<|im_start|>system\n" + system + "<|im_end|>\n")
	}
	for _, m := range msgs {
		sb.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if addGeneration {
		sb.WriteString("<|im_start|>assistant\n")
	}
	return sb.String()
}
