package reward

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// pyWS is the character class of Python's Unicode `\s` (str.isspace): Go's `\s` is ASCII
// only and lacks \v, so the reference regexes are rewritten with this class.
const pyWS = `[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]`

// pyIsSpace reports whether Python's str.isspace is true for r.
func pyIsSpace(r rune) bool {
	switch {
	case r >= '\t' && r <= '\r', r >= 0x1c && r <= 0x20, r == 0x85, r == 0xa0, r == 0x1680,
		r >= 0x2000 && r <= 0x200a, r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// pyStrip is Python's str.strip() with no arguments.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

var (
	// R1-V / Med-R1 / EasyR1 r1v: re.fullmatch(r"<think>.*?</think>\s*<answer>.*?</answer>", s, re.DOTALL).
	strictFormatRe = regexp.MustCompile(`(?s)^<think>.*?</think>` + pyWS + `*<answer>.*?</answer>$`)
	// Med-R1 no-think variant: re.fullmatch(r"\s*<answer>.*?</answer>", s, re.DOTALL).
	noThinkFormatRe = regexp.MustCompile(`(?s)^` + pyWS + `*<answer>.*?</answer>$`)
	// Lenient: a think block then an answer block at the start, anything after.
	lenientFormatRe = regexp.MustCompile(`(?s)^<think>.*?</think>` + pyWS + `*<answer>.*?</answer>`)
	// EasyR1 math: re.fullmatch(r"<think>.*</think>.*\\boxed\{.*\}.*", s, re.DOTALL).
	mathFormatRe = regexp.MustCompile(`(?s)^<think>.*</think>.*\\boxed\{.*\}.*$`)
)

// FormatStrict is the R1-V / Med-R1 / EasyR1 r1v format reward: 1 when the whole completion is
// `<think>…</think>`, optional whitespace, `<answer>…</answer>`, and nothing else (not even a
// newline before `<think>` or after `</answer>`); 0 otherwise. Nested or repeated tags inside
// the blocks match, exactly as Python's lazy fullmatch does.
func FormatStrict(in Input) float64 { return b2f(strictFormatRe.MatchString(in.Completion)) }

// FormatNoThink is Med-R1's no-think format reward: 1 when the completion is optional
// whitespace and one `<answer>…</answer>` block, 0 otherwise.
func FormatNoThink(in Input) float64 { return b2f(noThinkFormatRe.MatchString(in.Completion)) }

// FormatLenient is eosin's tolerant format reward: leading and trailing whitespace are
// ignored, spaces inside tags (`< /answer >`) are removed, and text after `</answer>` is
// allowed. It gives 1 for a think block followed by an answer block, 0.5 when only a
// non-empty `<answer>…</answer>` block is present, and 0 otherwise.
func FormatLenient(in Input) float64 {
	s := pyStrip(normalizeTagSpaces(in.Completion))
	if lenientFormatRe.MatchString(s) {
		return 1
	}
	if m := answerRe.FindStringSubmatch(s); m != nil && pyStrip(m[1]) != "" {
		return 0.5
	}
	return 0
}

// FormatMath is EasyR1's math format reward: after removing whitespace around '<', '>' and
// '/', 1 when the completion fully matches `<think>.*</think>.*\boxed{.*}.*` (DOTALL).
func FormatMath(in Input) float64 {
	return b2f(mathFormatRe.MatchString(normalizeTagSpaces(in.Completion)))
}

// normalizeTagSpaces is EasyR1's re.sub(r"\s*(<|>|/)\s*", r"\1", s): whitespace runs next
// to '<', '>' or '/' are removed.
func normalizeTagSpaces(s string) string {
	if !strings.ContainsAny(s, "<>/") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	afterDelim := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if pyIsSpace(r) {
			j := i + n
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if !pyIsSpace(r2) {
					break
				}
				j += n2
			}
			if !afterDelim && !(j < len(s) && strings.IndexByte("<>/", s[j]) >= 0) {
				b.WriteString(s[i:j])
			}
			i = j
			continue
		}
		afterDelim = r == '<' || r == '>' || r == '/'
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
