// Package caption holds the pure text rules for figure and table captions: recognising the
// opening of a caption line ("Figure 3.2:", "FIG. 12-4", "Table S1."), normalising labels,
// finding body-text mentions of figures, and splitting a caption into per-panel parts
// ("(A) … (B) …"). It knows nothing about page geometry, so the born-digital and the scanned
// (OCR) paths share it.
package caption

import (
	"regexp"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Kind tells figures from tables.
type Kind string

// The kinds of captioned objects.
const (
	Figure Kind = "figure"
	Table  Kind = "table"
)

// Match is a recognised caption opening.
type Match struct {
	Kind Kind
	// Label is the normalised label, e.g. "Figure 3.2", "Table 2", "Plate IV",
	// "Supplementary Figure S1". "Fig." and "FIGURE" become "Figure".
	Label string
	// Word is the label word as written ("Fig.", "FIGURE", "Table").
	Word string
	// Number is the normalised number: dashes unified to "-", letters upper-cased ("3.2",
	// "12-4", "S1", "IV", "3A").
	Number string
	// Sep is the separator after the number: ":", ".", "|", "-", "–", "—", or "" for none.
	Sep string
	// Rest is the text after the separator, trimmed.
	Rest string
	// Abbreviated is set for "Fig"/"Fig."/"FIG.".
	Abbreviated bool
	// AllCaps is set when the label word is upper case ("FIGURE", "FIG.", "TABLE").
	AllCaps bool
	// HeaderOnly is set when nothing follows the number and separator on the line.
	HeaderOnly bool
	// Offset is the byte offset in the normalised text where Rest starts.
	Offset int
}

const (
	sp = `[\s\x{00A0}\x{2009}\x{202F}]`
	// numberRE: 3, 3.2, 12-4, 12–4, S1, A.1, IV, 3A (letter suffix only with a separator, see Match).
	numberRE = `((?:[A-Z]\.?)?\d+(?:[.\-\x{2010}\x{2011}\x{2013}]\d+)*[A-Za-z]?|[IVXLC]+)`
)

var openRE = regexp.MustCompile(`^(?:(Supplementary|SUPPLEMENTARY|Extended` + sp + `+Data|EXTENDED` + sp + `+DATA)` + sp + `+)?` +
	`(Figure|Fig\.|Fig|FIGURE|FIG\.|FIG|Plate|PLATE|Table|TABLE)` + sp + `*-?` + numberRE +
	`(?:` + sp + `*([:.|\x{2013}\x{2014}-]))?(?:` + sp + `+|$)`)

// letterSpacedRE matches a label word set letter by letter at the start of a line.
var letterSpacedRE = regexp.MustCompile(`^(?:F I G U R E|T A B L E|P L A T E|F i g u r e|T a b l e)(?: |$)`)

// Normalize prepares text for matching: NFKC (expands ligatures such as "ﬁ"), non-breaking and
// thin spaces become plain spaces, and runs of white space collapse to one.
func Normalize(s string) string {
	s = norm.NFKC.String(s)
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', 0x00A0, 0x2009, 0x202F, 0x2002, 0x2003, 0x2007:
		return true
	}
	return false
}

// MatchLine reports whether a line of text opens a caption, and how. It accepts the label forms
// of a figure, plate or table at the very start of the line, followed by a number and an
// optional separator. "Figure 3 shows …" also matches (nothing here can tell it from a caption
// without a separator); the layout rules decide with formatting. Plurals ("Figs. 3 and 4") and
// sub-figure references without a separator ("Figure 3a shows") never match.
func MatchLine(line string) (Match, bool) {
	s := Normalize(line)
	// A dehyphenated "Fig ." split by text extraction is joined first.
	s = strings.Replace(s, "Fig .", "Fig.", 1)
	s = strings.Replace(s, "FIG .", "FIG.", 1)
	// Letter-spaced labels ("F I G U R E 1") are set as one letter a word.
	if m := letterSpacedRE.FindString(s); m != "" {
		s = strings.TrimSpace(strings.ReplaceAll(m, " ", "") + " " + s[len(m):])
	}
	loc := openRE.FindStringSubmatchIndex(s)
	if loc == nil {
		return Match{}, false
	}
	get := func(i int) string {
		if loc[2*i] < 0 {
			return ""
		}
		return s[loc[2*i]:loc[2*i+1]]
	}
	prefix, word, num, sep := get(1), get(2), get(3), get(4)
	rest := strings.TrimSpace(s[loc[1]:])
	if !strings.HasSuffix(word, ".") && loc[5] == loc[6] {
		// "Fig5" or "Figure3": without a dot the label word needs a space before the number.
		return Match{}, false
	}
	// A trailing letter on the number ("3a") is a panel reference unless a separator or the end of
	// the line follows: "Figure 3A. Tumour …" opens a caption, "Figure 3a shows" does not.
	last := num[len(num)-1]
	hasDigit := strings.ContainsAny(num, "0123456789")
	if hasDigit && isLetter(last) && sep == "" && rest != "" {
		return Match{}, false
	}
	if sep == "-" && rest != "" && !strings.HasPrefix(s[loc[2*4+1]:], " ") {
		// "Figure 3-" glued to a word is a hyphenation artefact, not a separator.
		return Match{}, false
	}
	if !hasDigit && word != "Plate" && word != "PLATE" && word != "Table" && word != "TABLE" {
		// Roman numbers are figure labels only in old books and on plates/tables; "Figure I" is
		// accepted only with a separator or alone on the line.
		if sep == "" && rest != "" {
			return Match{}, false
		}
	}
	m := Match{
		Word:        word,
		Number:      normNumber(num),
		Sep:         sep,
		Rest:        rest,
		Abbreviated: strings.HasPrefix(strings.ToLower(word), "fig") && !strings.EqualFold(word, "figure"),
		AllCaps:     word == strings.ToUpper(word),
		HeaderOnly:  rest == "",
		Offset:      loc[1],
	}
	base := "Figure"
	m.Kind = Figure
	switch strings.ToLower(strings.TrimSuffix(word, ".")) {
	case "plate":
		base = "Plate"
	case "table":
		base = "Table"
		m.Kind = Table
	}
	if prefix != "" {
		p := strings.Fields(prefix)
		for i := range p {
			p[i] = strings.ToUpper(p[i][:1]) + strings.ToLower(p[i][1:])
		}
		base = strings.Join(p, " ") + " " + base
	}
	m.Label = base + " " + m.Number
	return m, true
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

func normNumber(n string) string {
	r := strings.NewReplacer("\u2010", "-", "\u2011", "-", "\u2013", "-")
	return strings.ToUpper(r.Replace(n))
}

// NormalizeLabel turns any written label ("Fig. 3.2", "FIGURE 12–4", "Table S1") into its
// normalised form ("Figure 3.2", "Figure 12-4", "Table S1"); ok is false when s is not a label.
func NormalizeLabel(s string) (string, bool) {
	m, ok := MatchLine(s)
	if !ok || m.Rest != "" {
		return "", false
	}
	return m.Label, true
}

// Ref is a figure or table cited in running text.
type Ref struct {
	Kind  Kind
	Label string // normalised, e.g. "Figure 3" (panel letters dropped)
	Start int    // byte offsets of the citation in the normalised text
	End   int
}

var refRE = regexp.MustCompile(`\b(Figures?|Figs?\.|FIGURES?|FIGS?\.|Fig|Plates?|Tables?|TABLES?)` + sp + `*` +
	`((?:[A-Z]\.?)?\d+(?:[.\-\x{2013}]\d+)*)[A-Za-z]?` +
	`((?:` + sp + `*(?:,|and|&|or|to|[\-\x{2013}])` + sp + `*(?:[A-Z]\.?)?\d+(?:[.\-\x{2013}]\d+)*[A-Za-z]?)*)`)

var moreNumRE = regexp.MustCompile(`(?:[A-Z]\.?)?\d+(?:[.]\d+)*`)

// FindRefs lists the figures and tables that a piece of running text cites: "Figure 3",
// "Fig. 3a", "Figs. 3 and 4", "Tables 1–2" (a range cites its two ends only). A trailing sentence
// period ("… in Figure 3.") is not taken as part of the number.
func FindRefs(text string) []Ref {
	s := Normalize(text)
	var out []Ref
	for _, loc := range refRE.FindAllStringSubmatchIndex(s, -1) {
		word := s[loc[2]:loc[3]]
		kind, base := Figure, "Figure"
		switch {
		case strings.HasPrefix(strings.ToLower(word), "plate"):
			base = "Plate"
		case strings.HasPrefix(strings.ToLower(word), "table"):
			kind, base = Table, "Table"
		}
		nums := []string{strings.TrimRight(s[loc[4]:loc[5]], ".")}
		if loc[6] >= 0 {
			for _, n := range moreNumRE.FindAllString(s[loc[6]:loc[7]], -1) {
				nums = append(nums, strings.TrimRight(n, "."))
			}
		}
		for _, n := range nums {
			out = append(out, Ref{Kind: kind, Label: base + " " + normNumber(n), Start: loc[0], End: loc[1]})
		}
	}
	return out
}
