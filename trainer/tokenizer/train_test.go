package tokenizer

import (
	"bytes"
	"strings"
	"testing"
)

func TestTrainBPE(t *testing.T) {
	corpus := []string{
		"<|im_start|>user\nWhich stain shows glycogen?\nA. PAS\nB. Congo red<|im_end|>\n",
		"<|im_start|>assistant\n<think>PAS stains glycogen magenta.</think><answer>A</answer><|im_end|>",
		"Which stain shows amyloid? Congo red shows amyloid.",
	}
	added := []AddedToken{{Content: "<|endoftext|>", Special: true}, {Content: "<|im_start|>", Special: true},
		{Content: "<|im_end|>", Special: true}, {Content: "<think>"}, {Content: "</think>"}}
	b, err := TrainBPE(corpus, 40, added)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := TrainBPE(corpus, 40, added)
	if !bytes.Equal(b, again) {
		t.Error("two trainings on the same corpus differ")
	}
	tok, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.VocabSize(), 256+40+len(added); got != want {
		t.Errorf("vocabulary %d, want %d", got, want)
	}
	for i, a := range added {
		if id, ok := tok.TokenID(a.Content); !ok || id != 256+40+i {
			t.Errorf("added %q: id %d (%v), want %d", a.Content, id, ok, 256+40+i)
		}
	}
	for _, text := range append(corpus, "Unseen text: naïve café, 42 µm ✓", "") {
		ids, err := tok.Encode(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		back, err := tok.Decode(ids, false)
		if err != nil || back != text {
			t.Errorf("%q → %v → %q (%v)", text, ids, back, err)
		}
	}
	// Merges shorten the corpus: "Which stain shows" is far fewer tokens than bytes.
	ids, _ := tok.Encode("Which stain shows")
	if len(ids) > 6 {
		t.Errorf("%d tokens for 17 bytes: %v", len(ids), ids)
	}
	ids, _ = tok.Encode("<think>x</think><|im_end|>")
	if id, _ := tok.TokenID("<think>"); ids[0] != id || len(ids) != 4 {
		t.Errorf("added tokens: %v", ids)
	}
	// Merging stops when no pair occurs twice.
	b, err = TrainBPE([]string{"abcdef"}, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := Parse(b); err != nil || tok.VocabSize() != 256 || !strings.Contains(string(b), `"merges": []`) {
		t.Errorf("no repeated pair: vocabulary %d (%v)", tok.VocabSize(), err)
	}
	if _, err := TrainBPE(corpus, 4, []AddedToken{{Content: "a"}}); err == nil {
		t.Error("added token in the byte vocabulary accepted")
	}
}
