package jats

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func parseFile(t *testing.T, path string) *Article {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}

func TestJATSArticle(t *testing.T) {
	a := parseFile(t, "testdata/article.nxml")
	want := Article{
		Format: FormatJATS, Title: "¹⁸F-FDG uptake in Mus musculus", DOI: "10.1234/jsi.2021.042",
		PMCID: "PMC7654321", PMID: "12345678", Journal: "Journal of Synthetic Imaging", Year: 2021,
		License: License{Name: "CC BY-NC 4.0", URL: "https://creativecommons.org/licenses/by-nc/4.0/", Type: "open-access",
			Text: "https://creativecommons.org/licenses/by-nc/4.0/ This article is distributed under the terms of the Creative Commons Attribution-NonCommercial 4.0 License."},
		PDF: "jsi-42.pdf",
	}
	got := *a
	got.Figures = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metadata\n got %+v\nwant %+v", got, want)
	}
	if len(a.Figures) != 2 {
		t.Fatalf("%d figures, want 2", len(a.Figures))
	}
	f1, f2 := a.Figures[0], a.Figures[1]
	tests := []struct {
		name      string
		got, want any
	}{
		{"label 1", f1.Label, "Figure 1"},
		{"title 1", f1.Title, "Uptake of ¹⁸F-FDG by organ."},
		{"caption 1", f1.Caption, "Uptake of ¹⁸F-FDG by organ. Mean SUVmax of CO₂-treated mice (n = 5); α and β denote cohorts. See also Figure 2. Courtesy of the imaging core."},
		{"graphics 1", f1.Graphics, []string{"jsi-42-g001"}},
		{"label 2", f2.Label, "Figure 2"},
		{"caption 2", f2.Caption, "Two views of the same tumour."},
		{"graphics 2 (the group has none of its own)", f2.Graphics, []string(nil)},
		{"sub-figures", f2.SubFigures, []SubFigure{
			{ID: "F2a", Label: "A", Caption: "Axial view.", Graphics: []string{"jsi-42-g002a"}},
			{ID: "F2b", Label: "B", Caption: "Coronal view.", Graphics: []string{"jsi-42-g002b"}},
		}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
	p1 := "Uptake of ¹⁸F-FDG rose with dose (Fig. 1). The rise was steepest in the liver. Panels are compared in Figure 2A and 2B."
	p3 := "The tumour (Figs 2 and 1) was 3.2 cm across, e.g. larger than expected. It did not shrink."
	wantM1 := []Mention{
		{Sentence: "Uptake of ¹⁸F-FDG rose with dose (Fig. 1).", Paragraph: p1},
		{Sentence: "The tumour (Figs 2 and 1) was 3.2 cm across, e.g. larger than expected.", Paragraph: p3},
	}
	wantM2 := []Mention{
		{Sentence: "Panels are compared in Figure 2A and 2B.", Paragraph: p1},
		{Sentence: "The tumour (Figs 2 and 1) was 3.2 cm across, e.g. larger than expected.", Paragraph: p3},
	}
	if !reflect.DeepEqual(f1.Mentions, wantM1) {
		t.Errorf("figure 1 mentions\n got %#v\nwant %#v", f1.Mentions, wantM1)
	}
	if !reflect.DeepEqual(f2.Mentions, wantM2) {
		t.Errorf("figure 2 mentions (panels cite their figure; the caption of figure 1 does not count)\n got %#v\nwant %#v", f2.Mentions, wantM2)
	}
}

func TestBMCArticle(t *testing.T) {
	a := parseFile(t, "testdata/bmc.xml")
	if a.Format != FormatBMC || a.Title != "Lions of the north" || a.Journal != "BMC Synthetic Biology" || a.Year != 2014 || a.DOI != "10.1186/1234-5678-9-10" {
		t.Errorf("metadata %+v", a)
	}
	// The article's licence, not the CC0 waiver of its data.
	if a.License.Name != "CC BY 4.0" || a.License.URL != "https://creativecommons.org/licenses/by/4.0/" {
		t.Errorf("licence %+v", a.License)
	}
	if len(a.Figures) != 1 {
		t.Fatalf("%d figures", len(a.Figures))
	}
	f := a.Figures[0]
	want := Figure{ID: "F1", Label: "Figure 1", Title: "A map of the source areas",
		Caption:  "A map of the source areas. Numbers within circles correspond to samples.",
		Graphics: []string{"1234-5678-9-10-1"},
		Mentions: []Mention{{Sentence: "Lions were sampled in North Africa (Figure 1).", Paragraph: "Lions were sampled in North Africa (Figure 1)."}},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("figure\n got %#v\nwant %#v", f, want)
	}
}

// wrap puts a caption fragment into a minimal article.
func wrap(caption string) string {
	return `<article><body><fig id="f"><label>Figure 1</label><caption><p>` + caption + `</p></caption></fig></body></article>`
}

func TestCaptionText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"superscript isotope", `<sup>18</sup>F-FDG`, "¹⁸F-FDG"},
		{"superscript letters stay plain, joined", `17-18<sup>th</sup> century`, "17-18th century"},
		{"exponent with sign", `10<sup>−3</sup> M`, "10⁻³ M"},
		{"subscript", `H<sub>2</sub>O and CO<sub>2</sub>`, "H₂O and CO₂"},
		{"greek by character reference", `3&#x003b2;-hydroxy and &#945;`, "3β-hydroxy and α"},
		{"html entity", `a&nbsp;b &amp; c`, "a b & c"},
		{"pretty-printed inline elements", "km\n\t\t<sup>2</sup>\n\t\t, about\n\t\t<italic>E. coli</italic>\n\t\t)", "km², about E. coli)"},
		{"no-break space before a line break is kept", "Figure&#160;\n\t<xref ref-type=\"fig\" rid=\"f\">1</xref>", "Figure 1"},
		{"line break between words", "spruce\n\t\tforests", "spruce forests"},
		{"MathML over its LaTeX twin", `<alternatives><tex-math>\alpha</tex-math><mml:math xmlns:mml="http://www.w3.org/1998/Math/MathML"><mml:mi>α</mml:mi></mml:math></alternatives> = 1`, "α = 1"},
		{"list items are separated", `<list><list-item><p>one</p></list-item><list-item><p>two</p></list-item></list>`, "one two"},
		{"bold and italic join", `<bold>A</bold><italic>b</italic>c`, "Abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(strings.NewReader(wrap(tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Figures[0].Caption; got != tt.want {
				t.Errorf("caption %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLicense(t *testing.T) {
	tests := []struct {
		name, perm string
		want       License
	}{
		{"xlink:href", `<license xlink:href="http://creativecommons.org/licenses/by/2.0" license-type="open-access"><license-p>Open.</license-p></license>`,
			License{Name: "CC BY 2.0", URL: "https://creativecommons.org/licenses/by/2.0/", Type: "open-access", Text: "Open."}},
		{"link in the text", `<license><license-p>See <ext-link xlink:href="http://www.creativecommons.org/licenses/by-nc-nd/3.0/">the licence</ext-link>.</license-p></license>`,
			License{Name: "CC BY-NC-ND 3.0", URL: "https://creativecommons.org/licenses/by-nc-nd/3.0/", Text: "See the licence."}},
		{"address written out", `<license><p>under CC BY (http://creativecommons.org/licenses/by/4.0/).</p></license>`,
			License{Name: "CC BY 4.0", URL: "https://creativecommons.org/licenses/by/4.0/", Text: "under CC BY (http://creativecommons.org/licenses/by/4.0/)."}},
		{"words only", `<license license-type="open-access"><license-p>distributed under the Creative Commons Attribution License</license-p></license>`,
			License{Name: "CC BY", Type: "open-access", Text: "distributed under the Creative Commons Attribution License"}},
		{"words with version", `<license><license-p>Creative Commons Attribution – Non Commercial (unported, v3.0) License</license-p></license>`,
			License{Name: "CC BY-NC 3.0", Text: "Creative Commons Attribution – Non Commercial (unported, v3.0) License"}},
		{"type only", `<license license-type="OpenAccess"><license-p>Open access.</license-p></license>`,
			License{Name: "OpenAccess", Type: "OpenAccess", Text: "Open access."}},
		{"CC0", `<license xlink:href="https://creativecommons.org/publicdomain/zero/1.0/"/>`,
			License{Name: "CC0 1.0", URL: "https://creativecommons.org/publicdomain/zero/1.0/"}},
		{"none", ``, License{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><article-meta><permissions>` + tt.perm +
				`</permissions></article-meta></front></article>`
			a, err := Parse(strings.NewReader(doc))
			if err != nil {
				t.Fatal(err)
			}
			if a.License != tt.want {
				t.Errorf("got %+v\nwant %+v", a.License, tt.want)
			}
		})
	}
}

func TestHostileXML(t *testing.T) {
	small := Limits{MaxBytes: 4096, MaxDepth: 16, MaxNodes: 200}
	tests := []struct {
		name string
		in   string
		lim  Limits
		want error
	}{
		{"not xml", "%PDF-1.7 binary", Limits{}, ErrMalformed},
		{"empty", "", Limits{}, ErrMalformed},
		{"unclosed", "<article><body><p>text</body>", Limits{}, ErrMalformed},
		{"other root", "<html><body/></html>", Limits{}, ErrFormat},
		{"two roots", "<article/><article/>", Limits{}, ErrMalformed},
		{"external entity is never fetched", `<?xml version="1.0"?><!DOCTYPE article [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><article><body><p>&xxe;</p></body></article>`, Limits{}, ErrMalformed},
		{"entity expansion bomb", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><article>&lol3;</article>`, Limits{}, ErrMalformed},
		{"parameter entity", `<!DOCTYPE article [<!ENTITY % p SYSTEM "http://example.invalid/x.dtd"> %p;]><article/>`, Limits{}, nil},
		{"too large", "<article>" + strings.Repeat("a", 5000) + "</article>", small, ErrTooLarge},
		{"too deep", strings.Repeat("<p>", 20) + strings.Repeat("</p>", 20), small, ErrLimit},
		{"too many nodes", "<article>" + strings.Repeat("<b/>", 300) + "</article>", small, ErrLimit},
		{"undeclared prefix", `<article><x:sec xmlns:y="u"/></article>`, Limits{}, nil},
		{"unknown charset", `<?xml version="1.0" encoding="x-klingon"?><article/>`, Limits{}, ErrMalformed},
		{"latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><article><front><article-meta><title-group><article-title>caf\xe9</article-title></title-group></article-meta></front></article>", Limits{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseLimits(strings.NewReader(tt.in), tt.lim)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if len(a.Figures) != 0 {
					t.Errorf("figures %v", a.Figures)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
	a, err := Parse(strings.NewReader("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><article><front><article-meta><title-group><article-title>caf\xe9</article-title></title-group></article-meta></front></article>"))
	if err != nil || a.Title != "café" {
		t.Errorf("latin-1 title %q (%v)", a.Title, err)
	}
}

func TestNoFigures(t *testing.T) {
	a, err := Parse(strings.NewReader(`<article><body><p>Text citing <xref ref-type="fig" rid="F9">Figure 9</xref>, which does not exist.</p></body></article>`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Format != FormatJATS || len(a.Figures) != 0 {
		t.Errorf("got %+v", a)
	}
}

func TestSentenceBounds(t *testing.T) {
	tests := []struct {
		text string
		off  int
		want string
	}{
		{"First one. Second (Fig. 2) here. Third.", 12, "Second (Fig. 2) here. "},
		{"As shown by Smith et al. Figure 3 differs.", 30, "As shown by Smith et al. Figure 3 differs."},
		{"P. leo was sampled. Next.", 3, "P. leo was sampled. "},
		{"No full stop", 4, "No full stop"},
		{"Ends here? Yes! 12 more.", 17, "12 more."},
	}
	for _, tt := range tests {
		if got := sentenceAt(tt.text, sentenceBounds(tt.text), tt.off); got != tt.want {
			t.Errorf("sentenceAt(%q, %d) = %q, want %q", tt.text, tt.off, got, tt.want)
		}
	}
}

func TestSentenceBoundsLongWords(t *testing.T) {
	text := "We measured the concentrations. The values rose."
	if got := sentenceAt(text, sentenceBounds(text), 35); got != "The values rose." {
		t.Errorf("got %q", got)
	}
}
