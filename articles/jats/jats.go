// Package jats reads publisher article XML — JATS/NLM (PubMed Central's .nxml) and BioMed
// Central's 'art' format — into an Article: metadata (title, DOI, PMCID, journal, year), the
// licence, and every figure with its label, caption, tagged sub-figures, image file names and
// the sentences that cite it with their paragraphs.
//
// Captions are plain text as printed: title and paragraphs (plus the figure's own notes and
// attribution), sub- and superscripts joined to their base (¹⁸F, CO₂, or plain characters
// where Unicode has no such glyph), Greek letters and other characters as written.
//
// Parse is safe on hostile input: size, nesting and element counts are bounded (Limits), and
// only XML's and HTML's predefined entities are known. Document type declarations are never
// read, so no external entity is fetched and no entity expands into others; a reference to a
// declared entity is a malformed document.
package jats

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Formats of article XML.
const (
	FormatJATS = "jats" // JATS or its NLM predecessors: <article>
	FormatBMC  = "bmc"  // BioMed Central: <art>
)

// Article is what an article's XML says about it and its figures.
type Article struct {
	Format  string
	Title   string
	DOI     string
	PMCID   string // "PMC" and digits
	PMID    string
	Journal string
	Year    int
	License License
	Figures []Figure
	// PDF is the article's own PDF as the XML names it (JATS <self-uri content-type="pdf">).
	PDF string
	// Supplementary lists the files of supplementary material, which are not the article.
	Supplementary []string
}

// License is the article's licence.
type License struct {
	// Name is short and filterable: "CC BY 4.0", "CC BY-NC-ND 3.0", "CC BY" (version not
	// stated), "CC0 1.0", or the publisher's licence type (e.g. "open-access") when the XML
	// names no Creative Commons licence.
	Name string
	URL  string // canonical licence address, when stated
	Type string // the XML's license-type attribute
	Text string // the licence statement, shortened to maxLicenseText
}

// Figure is one figure of the article.
type Figure struct {
	ID    string // the XML id
	Label string // "Figure 1", "Fig 3", as the XML labels it
	// Title is the caption's title (JATS <caption><title>), when it has one.
	Title string
	// Caption is the whole caption: title, paragraphs and the figure's own notes.
	Caption    string
	SubFigures []SubFigure
	// Graphics are the image files the figure shows, as referenced (often without extension).
	Graphics []string
	Mentions []Mention
}

// SubFigure is a tagged panel (JATS <fig> inside <fig-group>).
type SubFigure struct {
	ID       string
	Label    string
	Caption  string
	Graphics []string
}

// Mention is a sentence of the body citing a figure, with its paragraph.
type Mention struct {
	Sentence  string
	Paragraph string
}

const (
	maxLicenseText = 2000
	maxParagraph   = 8000
	maxMentions    = 32
)

// Parse reads article XML with the default limits.
func Parse(r io.Reader) (*Article, error) { return ParseLimits(r, DefaultLimits()) }

// ParseLimits reads article XML. Errors wrap ErrTooLarge, ErrLimit, ErrMalformed or ErrFormat.
// An article without figures is not an error.
func ParseLimits(r io.Reader, lim Limits) (*Article, error) {
	root, err := parseTree(r, lim)
	if err != nil {
		return nil, err
	}
	if root.name == "pmc-articleset" {
		if a := root.child("article"); a != nil {
			root = a
		}
	}
	switch root.name {
	case "article":
		return parseJATS(root), nil
	case "art":
		return parseBMC(root), nil
	}
	return nil, fmt.Errorf("%w: root element <%s>", ErrFormat, root.name)
}

// parseJATS reads a JATS/NLM <article>.
func parseJATS(root *node) *Article {
	a := &Article{Format: FormatJATS}
	front := root.child("front")
	meta := front.child("article-meta")
	a.Title = trimmed(meta.path("title-group", "article-title"))
	for _, id := range meta.children("article-id") {
		v := trimmed(id)
		switch strings.ToLower(id.attr("pub-id-type")) {
		case "doi":
			if a.DOI == "" {
				a.DOI = v
			}
		case "pmc", "pmcid":
			if a.PMCID == "" {
				a.PMCID = pmcid(v)
			}
		case "pmid":
			if a.PMID == "" {
				a.PMID = v
			}
		}
	}
	jm := front.child("journal-meta")
	a.Journal = trimmed(jm.path("journal-title-group", "journal-title"))
	if a.Journal == "" {
		a.Journal = trimmed(jm.child("journal-title"))
	}
	if a.Journal == "" {
		for _, id := range jm.children("journal-id") {
			if id.attr("journal-id-type") == "nlm-ta" {
				a.Journal = trimmed(id)
			}
		}
	}
	a.Year = pubYear(meta)
	a.License = jatsLicense(meta)
	for _, su := range meta.children("self-uri") {
		if strings.EqualFold(su.attr("content-type"), "pdf") && a.PDF == "" {
			a.PDF = strings.TrimPrefix(su.attr("href"), "file:")
		}
	}
	root.walk(func(n *node) bool {
		if n.name == "supplementary-material" || n.name == "media" {
			if h := n.attr("href"); h != "" {
				a.Supplementary = append(a.Supplementary, h)
			}
		}
		return true
	})

	figs, owner := jatsFigures(root)
	a.Figures = figs
	attachMentions(root, a.Figures, owner, func(n *node) []string {
		if n.name != "xref" {
			return nil
		}
		return strings.Fields(n.attr("rid"))
	})
	return a
}

// jatsFigures finds the figures: every <fig> or <fig-group> not inside another one. Ids of
// panels map to their figure in owner.
func jatsFigures(root *node) ([]Figure, map[string]int) {
	var figs []Figure
	owner := map[string]int{}
	root.walk(func(n *node) bool {
		if n.name != "fig" && n.name != "fig-group" {
			return true
		}
		f := Figure{ID: n.attr("id"), Label: trimmed(n.child("label"))}
		f.Title, f.Caption = jatsCaption(n)
		f.Graphics = graphicsOf(n)
		idx := len(figs)
		if f.ID != "" {
			owner[f.ID] = idx
		}
		for _, sub := range n.find("fig") {
			s := SubFigure{ID: sub.attr("id"), Label: trimmed(sub.child("label")), Graphics: graphicsOf(sub)}
			_, s.Caption = jatsCaption(sub)
			f.SubFigures = append(f.SubFigures, s)
			if s.ID != "" {
				if _, dup := owner[s.ID]; !dup {
					owner[s.ID] = idx
				}
			}
		}
		if f.Label == "" {
			f.Label = labelFromText(f.Caption)
		}
		figs = append(figs, f)
		return false
	})
	return figs, owner
}

// jatsCaption is the caption title and the whole caption text of a <fig>: <caption> (title
// and paragraphs), then the figure's own <p> and <attrib> notes, printed with the legend.
func jatsCaption(fig *node) (title, caption string) {
	var parts []string
	if c := fig.child("caption"); c != nil {
		title = trimmed(c.child("title"))
		if title != "" {
			parts = append(parts, title)
		}
		for _, k := range c.kids {
			if k.name == "title" {
				continue
			}
			if t := trimmed(k); t != "" {
				parts = append(parts, t)
			}
		}
	}
	for _, k := range fig.kids {
		if k.name == "p" || k.name == "attrib" {
			if t := trimmed(k); t != "" {
				parts = append(parts, t)
			}
		}
	}
	return title, strings.Join(parts, " ")
}

// graphicsOf lists the image files of a figure's own <graphic> elements (not its panels').
func graphicsOf(fig *node) []string {
	var out []string
	fig.walk(func(n *node) bool {
		if n != fig && (n.name == "fig" || n.name == "caption") {
			return false
		}
		if n.name == "graphic" {
			h := n.attr("href")
			if h == "" {
				h = n.attr("file") // BMC
			}
			if h != "" {
				out = append(out, h)
			}
		}
		return true
	})
	return out
}

// labelFromText takes "Figure 2" from a caption that begins with its label.
func labelFromText(s string) string {
	f := strings.Fields(s)
	if len(f) < 2 {
		return ""
	}
	w := strings.ToLower(strings.TrimRight(f[0], "."))
	if w != "figure" && w != "fig" && w != "scheme" && w != "plate" {
		return ""
	}
	num := strings.TrimRight(f[1], ".:|")
	if num == "" || num[0] < '0' || num[0] > '9' {
		return ""
	}
	return f[0] + " " + num
}

// pubYear picks the publication year: electronic, then print, then collection, then any date.
func pubYear(meta *node) int {
	rank := func(t string) int {
		switch strings.ToLower(t) {
		case "epub", "pub":
			return 0
		case "ppub", "epub-ppub":
			return 1
		case "collection":
			return 2
		}
		return 3
	}
	best, year := 99, 0
	for _, d := range meta.children("pub-date") {
		t := d.attr("pub-type")
		if t == "" {
			t = d.attr("date-type")
		}
		y, err := strconv.Atoi(trimmed(d.child("year")))
		if err != nil || y <= 0 {
			continue
		}
		if r := rank(t); r < best {
			best, year = r, y
		}
	}
	return year
}

// pmcid writes a PMC id as "PMC" and digits.
func pmcid(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if strings.HasPrefix(strings.ToUpper(v), "PMC") {
		return "PMC" + v[3:]
	}
	return "PMC" + v
}

// parseBMC reads BioMed Central's <art>: front matter in <fm><bibl>, figures as
// <fig><title>Figure 1</title><caption>…</caption><text>legend</text><graphic file=…/></fig>,
// citations as <figr fid=…>.
func parseBMC(root *node) *Article {
	a := &Article{Format: FormatBMC}
	bibl := root.path("fm", "bibl")
	a.Title = trimmed(bibl.child("title"))
	a.Journal = trimmed(bibl.child("source"))
	if y, err := strconv.Atoi(trimmed(bibl.child("pubdate"))); err == nil {
		a.Year = y
	}
	xb := bibl.child("xrefbib")
	for _, id := range append(xb.children("pubid"), xb.child("pubidlist").children("pubid")...) {
		v := trimmed(id)
		switch id.attr("idtype") {
		case "doi":
			a.DOI = v
		case "pmcid":
			a.PMCID = pmcid(v)
		case "pmpid":
			a.PMID = v
		}
	}
	a.License = bmcLicense(root.path("fm", "cpyrt"))
	owner := map[string]int{}
	root.walk(func(n *node) bool {
		if n.name != "fig" {
			return true
		}
		f := Figure{ID: n.attr("id"), Label: trimmed(n.child("title"))}
		f.Title = trimmed(n.child("caption"))
		f.Caption = trimmed(n.child("text"))
		if f.Caption == "" {
			f.Caption = f.Title
		}
		f.Graphics = graphicsOf(n)
		if f.ID != "" {
			owner[f.ID] = len(a.Figures)
		}
		a.Figures = append(a.Figures, f)
		return false
	})
	attachMentions(root, a.Figures, owner, func(n *node) []string {
		if n.name != "figr" {
			return nil
		}
		return strings.Fields(n.attr("fid"))
	})
	return a
}
