package layout

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/eosinlab/eosin/layout/caption"
)

// maxMentions bounds the sentences attached to one figure.
const maxMentions = 12

// bodyText joins a page's body lines into paragraphs-worth of running text, in column order.
func bodyText(pm *pageModel, columns []span) string {
	type item struct {
		col  int
		y, x float64
		text string
	}
	var items []item
	for _, l := range pm.lines {
		if l.role != roleBody || l.mono {
			continue
		}
		col := 0
		if len(columns) == 2 {
			cx, _ := l.box.Center()
			if cx > (columns[0].x1+columns[1].x0)/2 && l.box.X0 > columns[0].x1-5 {
				col = 1
			}
		}
		items = append(items, item{col, l.box.Y0, l.box.X0, l.text})
	}
	// Stable sort by column then position (lines are already top-to-bottom).
	var lines []string
	for c := 0; c < 2; c++ {
		for _, it := range items {
			if it.col == c {
				lines = append(lines, it.text)
			}
		}
	}
	return joinLines(lines)
}

var abbreviations = []string{"Fig.", "Figs.", "e.g.", "i.e.", "et al.", "cf.", "vs.", "Eq.", "Eqs.", "Sec.", "approx.", "resp.", "No.", "Ref.", "Tab."}

// sentences splits running text into sentences at ".", "?" or "!" followed by a space and a
// capital letter, a digit or an opening bracket, not after common abbreviations.
func sentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '.' && c != '?' && c != '!' {
			continue
		}
		if i+2 >= len(text) || text[i+1] != ' ' {
			continue
		}
		r, _ := utf8.DecodeRuneInString(text[i+2:])
		if !unicode.IsUpper(r) && !unicode.IsDigit(r) && r != '(' {
			continue
		}
		abbr := false
		for _, a := range abbreviations {
			head := text[:i+1]
			if strings.HasSuffix(head, a) && (len(head) == len(a) || head[len(head)-len(a)-1] == ' ' || head[len(head)-len(a)-1] == '(') {
				abbr = true
				break
			}
		}
		if abbr {
			continue
		}
		out = append(out, strings.TrimSpace(text[start:i+1]))
		start = i + 2
	}
	if rest := strings.TrimSpace(text[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// mentionIndex maps a normalised label to the body sentences of the document that cite it.
type mentionIndex map[string][]string

func (mi mentionIndex) addText(text string) {
	for _, s := range sentences(text) {
		seen := map[string]bool{}
		for _, r := range caption.FindRefs(s) {
			if seen[r.Label] {
				continue
			}
			seen[r.Label] = true
			if len(mi[r.Label]) < maxMentions {
				mi[r.Label] = append(mi[r.Label], s)
			}
		}
	}
}
