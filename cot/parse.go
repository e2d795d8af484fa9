package cot

import (
	"fmt"
	"regexp"
	"strings"
)

// Turn is one question, reasoning and answer.
type Turn struct {
	Question string
	Think    string
	Answer   string
}

// Parsed is a generated sample in eosin's strict structure.
type Parsed struct {
	Turns   []Turn
	Options []string // option texts without their letters (mcq)
}

// ParseError is a generation that does not follow the structure; Reason is a short
// machine-friendly reject reason.
type ParseError struct {
	Reason string
	Detail string
}

func (e *ParseError) Error() string { return e.Reason + ": " + e.Detail }

var (
	blockRe  = regexp.MustCompile(`(?s)<(question|options|think|answer)>(.*?)</(?:question|options|think|answer)>`)
	closeRe  = regexp.MustCompile(`</(question|options|think|answer)>`)
	optionRe = regexp.MustCompile(`^\(?([A-Z])[\).:]\s*(.+)$`)
)

// Parse reads a generation: one or more <question>, <think>, <answer> groups (mcq: one group
// with an <options> block of lettered lines). Text outside the blocks is ignored; a block
// closed by the wrong tag, missing blocks, empty blocks and, for mcq, fewer than two options,
// non-consecutive letters, duplicate options or an answer that is not one of the letters are
// errors.
func Parse(text, task string) (*Parsed, error) {
	var p Parsed
	var cur *Turn
	ms := blockRe.FindAllStringSubmatch(text, -1)
	closes := closeRe.FindAllStringSubmatch(text, -1)
	if len(closes) != len(ms) {
		return nil, &ParseError{"parse_error", "unbalanced tags"}
	}
	for i, m := range ms {
		tag, body := m[1], strings.TrimSpace(m[2])
		if closes[i][1] != tag {
			return nil, &ParseError{"parse_error", fmt.Sprintf("<%s> closed by </%s>", tag, closes[i][1])}
		}
		if body == "" {
			return nil, &ParseError{"parse_error", "empty <" + tag + ">"}
		}
		switch tag {
		case "question":
			p.Turns = append(p.Turns, Turn{Question: body})
			cur = &p.Turns[len(p.Turns)-1]
		case "options":
			if cur == nil || len(p.Turns) != 1 || p.Options != nil {
				return nil, &ParseError{"parse_error", "<options> out of place"}
			}
			opts, err := parseOptions(body)
			if err != nil {
				return nil, err
			}
			p.Options = opts
		case "think":
			if cur == nil || cur.Think != "" {
				return nil, &ParseError{"parse_error", "<think> out of place"}
			}
			cur.Think = body
		case "answer":
			if cur == nil || cur.Think == "" || cur.Answer != "" {
				return nil, &ParseError{"parse_error", "<answer> out of place"}
			}
			cur.Answer = body
		}
	}
	if len(p.Turns) == 0 {
		return nil, &ParseError{"parse_error", "no <question>"}
	}
	for i, t := range p.Turns {
		if t.Think == "" || t.Answer == "" {
			return nil, &ParseError{"parse_error", fmt.Sprintf("turn %d lacks <think> or <answer>", i+1)}
		}
	}
	switch task {
	case "mcq":
		if len(p.Turns) != 1 {
			return nil, &ParseError{"parse_error", "mcq with several questions"}
		}
		if p.Options == nil {
			return nil, &ParseError{"parse_options", "no <options>"}
		}
		l := answerLetter(p.Turns[0].Answer)
		if l == "" || int(l[0]-'A') >= len(p.Options) {
			return nil, &ParseError{"mcq_bad_answer", fmt.Sprintf("answer %q is not one of A-%c", p.Turns[0].Answer, 'A'+len(p.Options)-1)}
		}
		p.Turns[0].Answer = l
	case "conversation":
	default:
		if len(p.Turns) != 1 {
			return nil, &ParseError{"parse_error", fmt.Sprintf("%s with %d questions", task, len(p.Turns))}
		}
	}
	if task != "mcq" && p.Options != nil {
		return nil, &ParseError{"parse_error", "<options> in a " + task + " sample"}
	}
	return &p, nil
}

func parseOptions(body string) ([]string, error) {
	var opts []string
	seen := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := optionRe.FindStringSubmatch(line)
		if m == nil {
			return nil, &ParseError{"parse_options", fmt.Sprintf("option line %q has no letter", line)}
		}
		if m[1] != string(rune('A'+len(opts))) {
			return nil, &ParseError{"parse_options", fmt.Sprintf("option %s out of order", m[1])}
		}
		text := strings.TrimSpace(m[2])
		key := strings.ToLower(text)
		if seen[key] {
			return nil, &ParseError{"parse_options", fmt.Sprintf("duplicate option %q", text)}
		}
		seen[key] = true
		opts = append(opts, text)
	}
	if len(opts) < 2 || len(opts) > 8 {
		return nil, &ParseError{"parse_options", fmt.Sprintf("%d options, want 2 to 8", len(opts))}
	}
	return opts, nil
}

var answerLetterRe = regexp.MustCompile(`^\(?([A-H])\)?\.?$|^\(?([A-H])[\).:]\s`)

// answerLetter reads the letter of an mcq answer: "C", "(C)", "C.", "C) text", "C. text".
func answerLetter(a string) string {
	m := answerLetterRe.FindStringSubmatch(strings.TrimSpace(a))
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

// OptionsText formats options as "A. text" lines.
func OptionsText(opts []string) string {
	var b strings.Builder
	for i, o := range opts {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%c. %s", 'A'+i, o)
	}
	return b.String()
}
