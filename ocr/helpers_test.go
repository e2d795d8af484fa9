package ocr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// sharedData returns the path of a file under ../../shared/data, skipping the test when it is
// missing outside CI and failing it on CI.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test data missing on CI: %v", err)
		}
		t.Skipf("test data missing: %v", err)
	}
	return p
}

// normText collapses white space and unifies quotes and dashes, so CER counts recognition
// errors rather than layout of the ground-truth file.
func normText(s string) string {
	r := strings.NewReplacer("“", `"`, "”", `"`, "‘", "'", "’", "'", "—", "-", "–", "-", "ﬁ", "fi", "ﬂ", "fl")
	return strings.Join(strings.FieldsFunc(r.Replace(s), unicode.IsSpace), " ")
}

// cer is the character error rate: edit distance over reference length, on normalised text.
func cer(ref, hyp string) float64 {
	a, b := []rune(normText(ref)), []rune(normText(hyp))
	if len(a) == 0 {
		if len(b) == 0 {
			return 0
		}
		return 1
	}
	return float64(levenshtein(a, b)) / float64(len(a))
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func TestCER(t *testing.T) {
	tests := []struct {
		ref, hyp string
		want     float64
	}{
		{"abc", "abc", 0},
		{"abc", "abd", 1.0 / 3},
		{"a  b\nc", "a b c", 0},
		{"abcd", "", 1},
		{"", "", 0},
		{"kitten", "sitting", 3.0 / 6},
	}
	for _, tt := range tests {
		if got := cer(tt.ref, tt.hyp); got != tt.want {
			t.Errorf("cer(%q, %q) = %v, want %v", tt.ref, tt.hyp, got, tt.want)
		}
	}
}
