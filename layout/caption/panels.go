package caption

import (
	"regexp"
	"sort"
	"strings"
)

// Panels is a caption split into a shared title and per-panel parts.
type Panels struct {
	// Shared is the text before the first panel marker (the title shared by all panels).
	Shared string
	// Parts are the per-panel texts in caption order.
	Parts []Part
}

// Part is the text a caption gives one or more panels ("(A–C) Sections of …" covers A, B, C).
type Part struct {
	Labels []string // panel labels as written, without punctuation: "A", "b", "ii", "Left"
	Text   string   // the part's own text, marker removed
}

// Caption returns the part's text with the shared title in front, the form attached to a
// sub-figure.
func (p Panels) Caption(i int) string {
	t := p.Parts[i].Text
	if p.Shared == "" {
		return t
	}
	return strings.TrimSpace(p.Shared + " " + t)
}

// LabelSet lists every panel label of the caption in order.
func (p Panels) LabelSet() []string {
	var out []string
	for _, part := range p.Parts {
		out = append(out, part.Labels...)
	}
	return out
}

var (
	parenMarkRE = regexp.MustCompile(`\(((?:[A-Za-z]|[ivx]{1,4})(?:\s*(?:[\x{2013}\-,]|and|&)\s*(?:[A-Za-z]|[ivx]{1,4}))*)\)`)
	bareMarkRE  = regexp.MustCompile(`(?:^|\s)([A-Z]|[a-z])([):.,])\s`)
	wordMarkRE  = regexp.MustCompile(`(?i)(?:^|\s)\(?((?:upper|lower|top|bottom|middle)(?:[\s-](?:left|right|middle))?|left|right|centre|center)(?:\s+panels?)?\s*[):]`)
	splitLabRE  = regexp.MustCompile(`\s*(?:[\x{2013}\-,]|and|&)\s*`)
)

type marker struct {
	start, end int // span of the marker in the text
	labels     []string
	rangeOp    bool
	word       bool
}

// SplitPanels splits a caption (its text after the label, or the whole caption) into a shared
// title and per-panel parts. Markers are "(A)", "(a)", "(A,B)", "(A and B)", "(A–C)", "(i)",
// "A." / "A:" / "A)" / "A," at the start of a sentence, and "Left"/"Right"/"Top"/"Bottom"
// ("upper panel", …) followed by ")" or ":". A marker opens a part only at the start of the
// caption or after ".", ";" or ":"; parenthesised markers also after ",". The markers must run in
// order (A, B, C… or i, ii, iii…) from the first letter, and there must be at least two panels;
// otherwise ok is false and the caption is not split.
func SplitPanels(text string) (Panels, bool) {
	s := Normalize(text)
	if p, ok := splitWith(s, findParen(s)); ok {
		return p, true
	}
	if p, ok := splitWith(s, findBare(s)); ok {
		return p, true
	}
	return splitWords(s)
}

func atOpening(s string, pos int, allowComma bool) bool {
	i := pos - 1
	for i >= 0 && s[i] == ' ' {
		i--
	}
	if i < 0 {
		return true
	}
	switch s[i] {
	case '.', ';', ':':
		return true
	case ',':
		return allowComma
	}
	return false
}

func findParen(s string) []marker {
	var ms []marker
	for _, loc := range parenMarkRE.FindAllStringSubmatchIndex(s, -1) {
		if !atOpening(s, loc[0], true) {
			continue
		}
		inner := s[loc[2]:loc[3]]
		labs := splitLabRE.Split(inner, -1)
		ms = append(ms, marker{start: loc[0], end: loc[1], labels: labs,
			rangeOp: strings.ContainsAny(inner, "-\u2013")})
	}
	return ms
}

func findBare(s string) []marker {
	var ms []marker
	for _, loc := range bareMarkRE.FindAllStringSubmatchIndex(s, -1) {
		lab := s[loc[2]:loc[3]]
		punct := s[loc[4]:loc[5]]
		if punct == "," && strings.ToLower(lab) == lab {
			continue
		}
		if !atOpening(s, loc[2], false) {
			continue
		}
		ms = append(ms, marker{start: loc[2], end: loc[1], labels: []string{lab}})
	}
	return ms
}

// splitWith validates a marker sequence and cuts the text at it.
func splitWith(s string, ms []marker) (Panels, bool) {
	if len(ms) == 0 {
		return Panels{}, false
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].start < ms[j].start })
	roman := len(ms[0].labels) > 0 && ms[0].labels[0] == "i" &&
		(len(ms) < 2 || ms[1].labels[0] == "ii" || (len(ms[0].labels) > 1 && ms[0].labels[1] == "ii"))
	ord := func(l string) int {
		if roman {
			return romanValue(l)
		}
		if len(l) != 1 {
			return -1
		}
		c := l[0]
		switch {
		case c >= 'a' && c <= 'z':
			return int(c-'a') + 1
		case c >= 'A' && c <= 'Z':
			return int(c-'A') + 1
		}
		return -1
	}
	var kept []marker
	next := 1 // the ordinal the next marker must start with
	for _, m := range ms {
		first := ord(m.labels[0])
		if first != next {
			continue // a reference such as "(C)" out of sequence
		}
		labs := m.labels
		if m.rangeOp && len(labs) == 2 {
			a, b := ord(labs[0]), ord(labs[1])
			if b <= a || b-a > 12 {
				continue
			}
			labs = nil
			for k := a; k <= b; k++ {
				labs = append(labs, labelFor(k, roman, m.labels[0]))
			}
		}
		okSeq := true
		for k, l := range labs {
			if ord(l) != first+k {
				okSeq = false
			}
		}
		if !okSeq {
			continue
		}
		m.labels = labs
		kept = append(kept, m)
		next = first + len(labs)
	}
	n := 0
	for _, m := range kept {
		n += len(m.labels)
	}
	if n < 2 {
		return Panels{}, false
	}
	return cut(s, kept), true
}

func cut(s string, kept []marker) Panels {
	p := Panels{Shared: strings.TrimSpace(s[:kept[0].start])}
	for i, m := range kept {
		end := len(s)
		if i+1 < len(kept) {
			end = kept[i+1].start
		}
		t := strings.TrimSpace(s[m.end:end])
		t = strings.TrimLeft(t, ":.) ")
		t = strings.TrimRight(t, ";, ")
		p.Parts = append(p.Parts, Part{Labels: m.labels, Text: t})
	}
	return p
}

func labelFor(k int, roman bool, like string) string {
	if roman {
		return toRoman(k)
	}
	if like[0] >= 'a' && like[0] <= 'z' {
		return string(rune('a' + k - 1))
	}
	return string(rune('A' + k - 1))
}

func romanValue(s string) int {
	vals := map[byte]int{'i': 1, 'v': 5, 'x': 10}
	total := 0
	for i := 0; i < len(s); i++ {
		v, ok := vals[s[i]]
		if !ok {
			return -1
		}
		if i+1 < len(s) && vals[s[i+1]] > v {
			total -= v
		} else {
			total += v
		}
	}
	return total
}

func toRoman(n int) string {
	table := []struct {
		v int
		s string
	}{{10, "x"}, {9, "ix"}, {5, "v"}, {4, "iv"}, {1, "i"}}
	var b strings.Builder
	for _, t := range table {
		for n >= t.v {
			b.WriteString(t.s)
			n -= t.v
		}
	}
	return b.String()
}

// splitWords handles positional markers: "Left) … Right) …", "Top: … Bottom: …".
func splitWords(s string) (Panels, bool) {
	var ms []marker
	for _, loc := range wordMarkRE.FindAllStringSubmatchIndex(s, -1) {
		start := loc[0]
		for start < len(s) && s[start] == ' ' {
			start++
		}
		if !atOpening(s, start, false) {
			continue
		}
		lab := s[loc[2]:loc[3]]
		ms = append(ms, marker{start: start, end: loc[1], labels: []string{strings.ToUpper(lab[:1]) + strings.ToLower(lab[1:])}, word: true})
	}
	if len(ms) < 2 {
		return Panels{}, false
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.labels[0]] {
			return Panels{}, false
		}
		seen[m.labels[0]] = true
	}
	return cut(s, ms), true
}
