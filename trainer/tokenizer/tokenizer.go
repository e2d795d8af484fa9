// Package tokenizer is a byte-level BPE tokenizer read from a Hugging Face tokenizer.json
// (the Qwen2/Qwen2.5/Qwen3 vocabulary): added/special tokens split out first, NFC, the
// pre-tokenizer split regex (with lookahead, via regexp2), the GPT-2 byte map and BPE merges
// by rank. It also renders the Qwen chat template, and TrainBPE learns a small tokenizer in
// the same pipeline (the one examples/ ships).
package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"golang.org/x/text/unicode/norm"
)

// AddedToken is an entry of tokenizer.json's added_tokens.
type AddedToken struct {
	ID      int    `json:"id"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// Tokenizer encodes text to ids and back. It is safe for concurrent use.
type Tokenizer struct {
	vocab   map[string]int
	inv     []string
	ranks   map[string]int // "left right" → merge rank
	added   []AddedToken   // sorted by descending content length
	addedID map[int]AddedToken
	split   *regexp2.Regexp
	nfc     bool
	ignoreM bool

	mu    sync.Mutex
	cache map[string][]int
}

type fileJSON struct {
	AddedTokens []AddedToken    `json:"added_tokens"`
	Normalizer  json.RawMessage `json:"normalizer"`
	PreTok      json.RawMessage `json:"pre_tokenizer"`
	Model       struct {
		Type         string            `json:"type"`
		Vocab        map[string]int    `json:"vocab"`
		Merges       []json.RawMessage `json:"merges"`
		IgnoreMerges bool              `json:"ignore_merges"`
	} `json:"model"`
}

type component struct {
	Type          string      `json:"type"`
	Normalizers   []component `json:"normalizers"`
	Pretokenizers []component `json:"pretokenizers"`
	Pattern       struct {
		Regex  string `json:"Regex"`
		String string `json:"String"`
	} `json:"pattern"`
	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`
	UseRegex *bool  `json:"use_regex"`
}

// Load reads a tokenizer.json file.
func Load(path string) (*Tokenizer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

// Parse builds a tokenizer from tokenizer.json bytes. Only the byte-level BPE pipeline (NFC
// or no normalizer, Split + ByteLevel pre-tokenizers, BPE model) is accepted.
func Parse(b []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	if f.Model.Type != "BPE" {
		return nil, fmt.Errorf("model type %q is not BPE", f.Model.Type)
	}
	t := &Tokenizer{vocab: f.Model.Vocab, ranks: map[string]int{}, addedID: map[int]AddedToken{},
		cache: map[string][]int{}, ignoreM: f.Model.IgnoreMerges}
	if len(f.Normalizer) > 0 && string(f.Normalizer) != "null" {
		var n component
		if err := json.Unmarshal(f.Normalizer, &n); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
		switch {
		case n.Type == "NFC":
			t.nfc = true
		case n.Type == "Sequence" && len(n.Normalizers) == 0:
		case n.Type == "Sequence" && len(n.Normalizers) == 1 && n.Normalizers[0].Type == "NFC":
			t.nfc = true
		default:
			return nil, fmt.Errorf("normalizer %q not supported", n.Type)
		}
	}
	var pt component
	if err := json.Unmarshal(f.PreTok, &pt); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	pts := []component{pt}
	if pt.Type == "Sequence" {
		pts = pt.Pretokenizers
	}
	for _, p := range pts {
		switch p.Type {
		case "Split":
			if p.Invert || (p.Behavior != "Isolated" && p.Behavior != "") || p.Pattern.Regex == "" {
				return nil, fmt.Errorf("split pre-tokenizer (behavior %q, invert %v) not supported", p.Behavior, p.Invert)
			}
			re, err := regexp2.Compile(p.Pattern.Regex, regexp2.Unicode)
			if err != nil {
				return nil, fmt.Errorf("split regex: %w", err)
			}
			t.split = re
		case "ByteLevel":
			if p.UseRegex != nil && *p.UseRegex && t.split == nil {
				return nil, fmt.Errorf("ByteLevel pre-tokenizer with its own regex not supported")
			}
		default:
			return nil, fmt.Errorf("pre-tokenizer %q not supported", p.Type)
		}
	}
	if t.split == nil {
		return nil, fmt.Errorf("no Split pre-tokenizer")
	}
	for i, m := range f.Model.Merges {
		var pair [2]string
		var s string
		if json.Unmarshal(m, &s) == nil {
			l, r, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("merge %d %q has no space", i, s)
			}
			pair = [2]string{l, r}
		} else if err := json.Unmarshal(m, &pair); err != nil {
			return nil, fmt.Errorf("merge %d: %w", i, err)
		}
		k := pair[0] + " " + pair[1]
		if _, dup := t.ranks[k]; !dup {
			t.ranks[k] = i
		}
	}
	maxID := 0
	for _, id := range t.vocab {
		maxID = max(maxID, id)
	}
	for _, a := range f.AddedTokens {
		maxID = max(maxID, a.ID)
		t.addedID[a.ID] = a
		if a.Content != "" {
			t.added = append(t.added, a)
		}
	}
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i].Content) > len(t.added[j].Content) })
	t.inv = make([]string, maxID+1)
	for s, id := range t.vocab {
		t.inv[id] = s
	}
	for _, a := range f.AddedTokens {
		t.inv[a.ID] = a.Content
	}
	return t, nil
}

// VocabSize is one more than the largest id (regular vocabulary and added tokens).
func (t *Tokenizer) VocabSize() int { return len(t.inv) }

// TokenID returns the id of a token string (an added token's content or a vocabulary entry in
// the byte-level alphabet).
func (t *Tokenizer) TokenID(tok string) (int, bool) {
	for _, a := range t.added {
		if a.Content == tok {
			return a.ID, true
		}
	}
	id, ok := t.vocab[tok]
	return id, ok
}

// Encode converts text to ids. Added tokens (special or not) are matched in the raw text
// first, longest first at each position; the rest goes through NFC, the split regex and BPE.
func (t *Tokenizer) Encode(text string) ([]int, error) {
	var out []int
	start := 0
	for i := 0; i < len(text); {
		a, ok := t.addedAt(text, i)
		if !ok {
			_, sz := utf8.DecodeRuneInString(text[i:])
			i += sz
			continue
		}
		ids, err := t.encodeOrdinary(text[start:i])
		if err != nil {
			return nil, err
		}
		out = append(append(out, ids...), a.ID)
		i += len(a.Content)
		start = i
	}
	ids, err := t.encodeOrdinary(text[start:])
	if err != nil {
		return nil, err
	}
	return append(out, ids...), nil
}

func (t *Tokenizer) addedAt(text string, i int) (AddedToken, bool) {
	for _, a := range t.added {
		if strings.HasPrefix(text[i:], a.Content) {
			return a, true
		}
	}
	return AddedToken{}, false
}

func (t *Tokenizer) encodeOrdinary(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	if t.nfc {
		s = norm.NFC.String(s)
	}
	var out []int
	m, err := t.split.FindStringMatch(s)
	for ; m != nil && err == nil; m, err = t.split.FindNextMatch(m) {
		ids, e := t.bpeWord(m.String())
		if e != nil {
			return nil, e
		}
		out = append(out, ids...)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: split: %w", err)
	}
	return out, nil
}

// bpeWord encodes one pre-token.
func (t *Tokenizer) bpeWord(w string) ([]int, error) {
	t.mu.Lock()
	if ids, ok := t.cache[w]; ok {
		t.mu.Unlock()
		return ids, nil
	}
	t.mu.Unlock()
	var sb strings.Builder
	for i := 0; i < len(w); i++ {
		sb.WriteRune(byteToRune[w[i]])
	}
	mapped := sb.String()
	var ids []int
	if id, ok := t.vocab[mapped]; ok && t.ignoreM {
		ids = []int{id}
	} else {
		syms := make([]string, 0, len(mapped))
		for _, r := range mapped {
			syms = append(syms, string(r))
		}
		for len(syms) > 1 {
			best, at := -1, -1
			for i := 0; i+1 < len(syms); i++ {
				if r, ok := t.ranks[syms[i]+" "+syms[i+1]]; ok && (best < 0 || r < best) {
					best, at = r, i
				}
			}
			if at < 0 {
				break
			}
			// Merge every occurrence of the best pair, left to right.
			l, r := syms[at], syms[at+1]
			merged := syms[:0:0]
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == l && syms[i+1] == r {
					merged = append(merged, l+r)
					i++
				} else {
					merged = append(merged, syms[i])
				}
			}
			syms = merged
		}
		for _, s := range syms {
			id, ok := t.vocab[s]
			if !ok {
				return nil, fmt.Errorf("tokenizer: symbol %q of %q not in vocabulary", s, w)
			}
			ids = append(ids, id)
		}
	}
	t.mu.Lock()
	if len(t.cache) > 1<<16 {
		clear(t.cache)
	}
	t.cache[w] = ids
	t.mu.Unlock()
	return ids, nil
}

// Decode converts ids back to text; skipSpecial drops special added tokens.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) (string, error) {
	var sb strings.Builder
	var buf []byte
	flush := func() {
		sb.WriteString(strings.ToValidUTF8(string(buf), "\uFFFD"))
		buf = buf[:0]
	}
	for _, id := range ids {
		if id < 0 || id >= len(t.inv) || (t.inv[id] == "" && t.addedID[id].Content == "") {
			return "", fmt.Errorf("tokenizer: id %d outside vocabulary", id)
		}
		if a, ok := t.addedID[id]; ok {
			flush()
			if !(skipSpecial && a.Special) {
				sb.WriteString(a.Content)
			}
			continue
		}
		for _, r := range t.inv[id] {
			b, ok := runeToByte[r]
			if !ok {
				return "", fmt.Errorf("tokenizer: token %q of id %d is not byte-level", t.inv[id], id)
			}
			buf = append(buf, b)
		}
	}
	flush()
	return sb.String(), nil
}

// byteToRune is the GPT-2 byte map: printable bytes map to themselves, the other 68 to
// U+0100… in increasing byte order.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := map[rune]byte{}
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255) {
			b2r[b] = rune(b)
		} else {
			b2r[b] = rune(256 + n)
			n++
		}
		r2b[b2r[b]] = byte(b)
	}
	return b2r, r2b
}()
