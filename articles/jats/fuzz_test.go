package jats

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: any input gives an article or an error, never a panic; what an article holds is
// valid UTF-8 and mentions point into their paragraphs. Crashers found are kept as seeds in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/article.nxml", "testdata/bmc.xml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		wrap(`<sup>18</sup>F <sub>2</sub> &#945;`),
		`<article><body><p><xref rid="a b a">x</xref></p><fig id="a"><fig id="b"/></fig></body></article>`,
		`<art><bdy><p><figr fid="F1">1</figr>. A. B.</p><fig id="F1"><title><p>Figure 1</p></title></fig></bdy></art>`,
		`<!DOCTYPE a [<!ENTITY e "&e;">]><article>&e;</article>`,
		`<article><front><article-meta><permissions><license><license_ref>http://creativecommons.org/licenses/</license_ref></license></permissions></article-meta></front></article>`,
		`<article><body><p>` + strings.Repeat("<sup>", 50) + `1` + strings.Repeat("</sup>", 50) + `</p></body></article>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseLimits(strings.NewReader(string(data)), Limits{MaxBytes: 1 << 20, MaxDepth: 64, MaxNodes: 20000})
		if err != nil {
			return
		}
		for _, fig := range a.Figures {
			if !utf8.ValidString(fig.Caption) || !utf8.ValidString(fig.Label) {
				t.Fatalf("invalid UTF-8 in %q / %q", fig.Label, fig.Caption)
			}
			for _, m := range fig.Mentions {
				if !strings.Contains(m.Paragraph, m.Sentence) && len(m.Paragraph) < maxParagraph {
					t.Fatalf("sentence %q not in its paragraph %q", m.Sentence, m.Paragraph)
				}
			}
		}
	})
}
