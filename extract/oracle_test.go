package extract

import (
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// oracleExamples is how many missed words are quoted per document (ORACLE_EXAMPLES).
var oracleExamples = func() int {
	if n, err := strconv.Atoi(os.Getenv("ORACLE_EXAMPLES")); err == nil {
		return n
	}
	return 5
}()

type popplerWord struct {
	page           int
	text           string
	x0, y0, x1, y1 float64
}

var (
	popplerPageRE = regexp.MustCompile(`<page width="([0-9.]+)" height="([0-9.]+)">`)
	popplerWordRE = regexp.MustCompile(`<word xMin="([-0-9.]+)" yMin="([-0-9.]+)" xMax="([-0-9.]+)" yMax="([-0-9.]+)">([^<]*)</word>`)
)

// popplerWords runs `pdftotext -bbox` and returns its words per page.
func popplerWords(t testing.TB, path string) [][]popplerWord {
	t.Helper()
	out, err := exec.Command("pdftotext", "-bbox", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext -bbox %s: %v", path, err)
	}
	var pages [][]popplerWord
	for _, chunk := range strings.Split(string(out), "</page>") {
		if !popplerPageRE.MatchString(chunk) {
			continue
		}
		var words []popplerWord
		for _, m := range popplerWordRE.FindAllStringSubmatch(chunk, -1) {
			w := popplerWord{page: len(pages) + 1, text: html.UnescapeString(m[5])}
			w.x0, _ = strconv.ParseFloat(m[1], 64)
			w.y0, _ = strconv.ParseFloat(m[2], 64)
			w.x1, _ = strconv.ParseFloat(m[3], 64)
			w.y1, _ = strconv.ParseFloat(m[4], 64)
			words = append(words, w)
		}
		pages = append(pages, words)
	}
	return pages
}

// normText makes word texts comparable: ligatures spelled out, white space removed. Poppler
// writes the raw character code for glyphs of TeX bitmap (Type 3) fonts named by code (a27,
// a28, …) below 32; those are spelled the way extract spells them (see texControlGlyph).
func normText(s string) string {
	s = expandLigatures(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20:
			b.WriteString(texControlGlyph(int(r)))
		case unicode.IsSpace(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type oracleResult struct {
	doc             string
	pages           int
	poppler, found  int
	textOnly        int // same text somewhere on the page, but not within 2 pt
	missingExamples []string
	pageErrs        int
	ourWords        int
}

func (r oracleResult) ratio() float64 {
	if r.poppler == 0 {
		return 1
	}
	return float64(r.found) / float64(r.poppler)
}

// compareWithPoppler matches every poppler word to one of ours with the same text and a box
// centre within tol points.
func compareWithPoppler(t testing.TB, c corpusDoc, pages []*Page, tol float64) oracleResult {
	pw := popplerWords(t, c.path)
	res := oracleResult{doc: c.short(), pages: len(pages)}
	if len(pw) != len(pages) {
		t.Errorf("%s: poppler has %d pages, we have %d", c.short(), len(pw), len(pages))
	}
	for i, words := range pw {
		if i >= len(pages) || pages[i] == nil {
			res.pageErrs++
			res.poppler += len(words)
			continue
		}
		byText := map[string][]Word{}
		for _, w := range pages[i].Words {
			k := normText(w.Text)
			byText[k] = append(byText[k], w)
		}
		res.ourWords += len(pages[i].Words)
		for _, w := range words {
			k := normText(w.text)
			if k == "" {
				continue
			}
			res.poppler++
			cx, cy := (w.x0+w.x1)/2, (w.y0+w.y1)/2
			ok, textOnly := false, false
			for _, o := range byText[k] {
				ox, oy := o.BBox.Center()
				textOnly = true
				if math.Abs(ox-cx) <= tol && math.Abs(oy-cy) <= tol {
					ok = true
					break
				}
			}
			if ok {
				res.found++
				continue
			}
			if textOnly {
				res.textOnly++
			}
			if len(res.missingExamples) < oracleExamples {
				res.missingExamples = append(res.missingExamples, fmt.Sprintf("p%d %q [%.1f %.1f %.1f %.1f]", w.page, w.text, w.x0, w.y0, w.x1, w.y1))
			}
		}
	}
	return res
}

func printOracleTable(t testing.TB, rs []oracleResult) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].doc < rs[j].doc })
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-58s %5s %8s %8s %7s %7s\n", "document", "pages", "poppler", "found", "ratio", "moved")
	tp, tf := 0, 0
	for _, r := range rs {
		fmt.Fprintf(&b, "%-58s %5d %8d %8d %6.2f%% %7d\n", r.doc, r.pages, r.poppler, r.found, 100*r.ratio(), r.textOnly)
		tp += r.poppler
		tf += r.found
	}
	fmt.Fprintf(&b, "%-58s %5s %8d %8d %6.2f%%\n", "total", "", tp, tf, 100*float64(tf)/float64(max(tp, 1)))
	t.Log(b.String())
}

// TestOracle compares extract with poppler on every page of the real corpus:
//   - words: at least 98% of the words `pdftotext -bbox` finds are found by us with the same
//     text and a box centre within 2 pt, in every document (except those listed in
//     oracleExceptions, whose shortfall is explained there);
//   - images: the placements on each page match `pdfimages -list` in number and pixel sizes.
func TestOracle(t *testing.T) {
	needTool(t, "pdftotext")
	needTool(t, "pdfimages")
	docs := corpus(t)
	if only := os.Getenv("ORACLE_DOC"); only != "" {
		var sel []corpusDoc
		for _, c := range docs {
			if strings.Contains(c.path, only) {
				sel = append(sel, c)
			}
		}
		docs = sel
	}
	var rs []oracleResult
	var irs []imageResult
	for _, c := range docs {
		d := openCorpus(t, c, WithoutImageData())
		pages := readAll(t, d)
		d.Close()
		r := compareWithPoppler(t, c, pages, 2)
		rs = append(rs, r)
		if why, ok := oracleExceptions[c.short()]; ok && r.ratio() >= 0.95 {
			t.Logf("%s: %.2f%% of poppler's words: %s", r.doc, 100*r.ratio(), why)
		} else if r.ratio() < 0.98 {
			t.Errorf("%s: found %d of %d poppler words (%.2f%%), e.g. %s", r.doc, r.found, r.poppler, 100*r.ratio(), strings.Join(r.missingExamples, "; "))
		}
		irs = append(irs, compareImages(t, c, pages))
	}
	printOracleTable(t, rs)
	printImageTable(t, irs)
}

// oracleExceptions are documents where poppler's words cannot be matched to 98%, with the
// reason. They must still reach 95%.
var oracleExceptions = map[string]string{
	"r-cran-survival/validate.pdf": "TeX math-extension glyphs (CMEX10 big delimiters and operators) have names " +
		"outside the Adobe glyph list; poppler prints their raw character codes (\\x10, \\x11, P, X, Z) " +
		"where extract prints the symbol (( ) ∑ ∫) — about 75 words",
	"r-cran-survival/approximate.pdf": "the title in a Type 3 bitmap font (poppler's box is 31 pt tall, " +
		"from its size heuristic) and overlapping plot labels \"1\"/\"2\" that poppler joins across baselines",
}
