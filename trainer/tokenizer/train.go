package tokenizer

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/dlclark/regexp2"
	"golang.org/x/text/unicode/norm"
)

// QwenSplit is the pre-tokenizer split regex of the Qwen2 / Qwen2.5 / Qwen3 tokenizers.
const QwenSplit = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// TrainBPE learns a small byte-level BPE tokenizer from texts, in the Qwen pipeline (NFC,
// the QwenSplit pre-tokenizer, the GPT-2 byte map) so that Parse reads it: ids 0–255 are the
// 256 bytes, then up to merges merged symbols (each merge joins the most frequent adjacent
// pair, ties broken by the pair's spelling; merging stops when no pair occurs twice), then
// the added tokens in the order given. Added tokens are cut out of the texts before
// learning, as Encode cuts them out. It returns the tokenizer.json bytes; the same inputs
// give the same bytes.
func TrainBPE(texts []string, merges int, added []AddedToken) ([]byte, error) {
	split, err := regexp2.Compile(QwenSplit, regexp2.Unicode)
	if err != nil {
		return nil, fmt.Errorf("train bpe: %w", err)
	}
	// Pre-token counts, in the byte-level alphabet, one symbol per byte.
	counts := map[string]int{}
	pieces := texts
	for _, a := range added {
		var cut []string
		for _, p := range pieces {
			cut = append(cut, strings.Split(p, a.Content)...)
		}
		pieces = cut
	}
	for _, p := range pieces {
		m, err := split.FindStringMatch(norm.NFC.String(p))
		for ; m != nil && err == nil; m, err = split.FindNextMatch(m) {
			var sb strings.Builder
			for _, b := range []byte(m.String()) {
				sb.WriteRune(byteToRune[b])
			}
			counts[sb.String()]++
		}
		if err != nil {
			return nil, fmt.Errorf("train bpe: split: %w", err)
		}
	}
	type word struct {
		syms []string
		n    int
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	words := make([]word, len(keys))
	for i, k := range keys {
		for _, r := range k {
			words[i].syms = append(words[i].syms, string(r))
		}
		words[i].n = counts[k]
	}
	vocab := map[string]int{}
	for b := range 256 {
		vocab[string(byteToRune[b])] = b
	}
	learned := [][2]string{}
	for len(learned) < merges {
		pairs := map[[2]string]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pairs[[2]string{w.syms[i], w.syms[i+1]}] += w.n
			}
		}
		var best [2]string
		bestN := 0
		for p, n := range pairs {
			if n > bestN || (n == bestN && p[0]+" "+p[1] < best[0]+" "+best[1]) {
				best, bestN = p, n
			}
		}
		if bestN < 2 {
			break
		}
		merged := best[0] + best[1]
		if _, dup := vocab[merged]; !dup { // the same symbol from another pair keeps its id
			vocab[merged] = len(vocab)
		}
		learned = append(learned, best)
		for wi := range words {
			s := words[wi].syms
			out := s[:0]
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best[0] && s[i+1] == best[1] {
					out = append(out, merged)
					i++
				} else {
					out = append(out, s[i])
				}
			}
			words[wi].syms = out
		}
	}
	type addedJSON struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	var adds []addedJSON
	for i, a := range added {
		if _, dup := vocab[a.Content]; dup || a.Content == "" {
			return nil, fmt.Errorf("train bpe: added token %q is empty or in the vocabulary", a.Content)
		}
		adds = append(adds, addedJSON{ID: len(vocab) + i, Content: a.Content, Special: a.Special})
	}
	doc := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   adds,
		"normalizer":     map[string]any{"type": "NFC"},
		"post_processor": nil,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": QwenSplit}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		}},
		"decoder": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": "",
			"end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": vocab, "merges": learned},
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, fmt.Errorf("train bpe: %w", err)
	}
	return append(b, '\n'), nil
}
