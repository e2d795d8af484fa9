package reward

import (
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

// The format rules are the regular expressions of the references, matched by hand with
// strings.Index (Go's regexp engine is linear too, but some 20 times slower on long
// completions); TestFormatMatchersMatchRegexps holds them to the expressions:
//
//	strict   (?s)^<think>.*?</think>\s*<answer>.*?</answer>$   (R1-V / Med-R1 / EasyR1 r1v fullmatch)
//	nothink  (?s)^\s*<answer>.*?</answer>$                     (Med-R1 no-think fullmatch)
//	lenient  (?s)^<think>.*?</think>\s*<answer>.*?</answer>    (a think block then an answer block)
//	math     (?s)^<think>.*</think>.*\\boxed\{.*\}.*$           (EasyR1 math fullmatch)
//
// with \s Python's Unicode whitespace (pyWS).
const (
	tagThink     = "<think>"
	tagThinkEnd  = "</think>"
	tagAnswer    = "<answer>"
	tagAnswerEnd = "</answer>"
)

// skipSpace returns the index of the first rune of s at or after i that is not Python
// whitespace.
func skipSpace(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !pyIsSpace(r) {
			break
		}
		i += n
	}
	return i
}

// thinkThenAnswer matches ^<think>.*?</think>\s*<answer> (DOTALL) and returns the index just
// past the earliest such <answer>, or −1. Every "</think>" is tried in turn; the whitespace runs
// after them do not overlap, so the whole is linear.
func thinkThenAnswer(s string) int {
	if !strings.HasPrefix(s, tagThink) {
		return -1
	}
	for i := len(tagThink); ; {
		j := strings.Index(s[i:], tagThinkEnd)
		if j < 0 {
			return -1
		}
		k := skipSpace(s, i+j+len(tagThinkEnd))
		if strings.HasPrefix(s[k:], tagAnswer) {
			return k + len(tagAnswer)
		}
		i += j + 1
	}
}

// matchStrict is strictFormat's fullmatch.
func matchStrict(s string) bool {
	a := thinkThenAnswer(s)
	return a >= 0 && a <= len(s)-len(tagAnswerEnd) && strings.HasSuffix(s, tagAnswerEnd)
}

// matchNoThink is the no-think fullmatch.
func matchNoThink(s string) bool {
	k := skipSpace(s, 0)
	if !strings.HasPrefix(s[k:], tagAnswer) {
		return false
	}
	a := k + len(tagAnswer)
	return a <= len(s)-len(tagAnswerEnd) && strings.HasSuffix(s, tagAnswerEnd)
}

// matchLenientPrefix is the lenient search anchored at the start.
func matchLenientPrefix(s string) bool {
	a := thinkThenAnswer(s)
	return a >= 0 && strings.Contains(s[a:], tagAnswerEnd)
}

// matchMath is EasyR1's math fullmatch.
func matchMath(s string) bool {
	if !strings.HasPrefix(s, tagThink) {
		return false
	}
	i := len(tagThink)
	j := strings.Index(s[i:], tagThinkEnd)
	if j < 0 {
		return false
	}
	i += j + len(tagThinkEnd)
	k := strings.Index(s[i:], `\boxed{`)
	return k >= 0 && strings.Contains(s[i+k+len(`\boxed{`):], "}")
}

// firstAnswer is re.search(r"<answer>(.*?)</answer>", s) without DOTALL: the content of the
// first `<answer>…</answer>` on one line. Line by line: when a line's first "<answer>" has no
// "</answer>" after it on the line, none of its later ones has.
func firstAnswer(s string) (string, bool) {
	for len(s) > 0 {
		line := s
		rest := ""
		if nl := strings.IndexByte(s, '\n'); nl >= 0 {
			line, rest = s[:nl], s[nl+1:]
		}
		if p := strings.Index(line, tagAnswer); p >= 0 {
			body := line[p+len(tagAnswer):]
			if q := strings.Index(body, tagAnswerEnd); q >= 0 {
				return body[:q], true
			}
		}
		s = rest
	}
	return "", false
}

// FormatStrict is the R1-V / Med-R1 / EasyR1 r1v format reward: 1 when the whole completion is
// `<think>…</think>`, optional whitespace, `<answer>…</answer>`, and nothing else (not even a
// newline before `<think>` or after `</answer>`); 0 otherwise. Nested or repeated tags inside
// the blocks match, exactly as Python's lazy fullmatch does.
func FormatStrict(in Input) float64 { return b2f(matchStrict(in.Completion)) }

// FormatNoThink is Med-R1's no-think format reward: 1 when the completion is optional
// whitespace and one `<answer>…</answer>` block, 0 otherwise.
func FormatNoThink(in Input) float64 { return b2f(matchNoThink(in.Completion)) }

// FormatLenient is eosin's tolerant format reward: leading and trailing whitespace are
// ignored, spaces inside tags (`< /answer >`) are removed, and text after `</answer>` is
// allowed. It gives 1 for a think block followed by an answer block, 0.5 when only a
// non-empty `<answer>…</answer>` block is present, and 0 otherwise.
func FormatLenient(in Input) float64 {
	s := pyStrip(normalizeTagSpaces(in.Completion))
	if matchLenientPrefix(s) {
		return 1
	}
	if a, ok := firstAnswer(s); ok && pyStrip(a) != "" {
		return 0.5
	}
	return 0
}

// FormatMath is EasyR1's math format reward: after removing whitespace around '<', '>' and
// '/', 1 when the completion fully matches `<think>.*</think>.*\boxed{.*}.*` (DOTALL).
func FormatMath(in Input) float64 {
	return b2f(matchMath(normalizeTagSpaces(in.Completion)))
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
