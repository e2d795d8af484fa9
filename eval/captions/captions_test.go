package captions

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseSweave(t *testing.T) {
	src := `\documentclass{article}
% \begin{figure}\caption{commented out}\end{figure}
\begin{document}
<<a, echo=FALSE>>=
x <- c(1, 2) %in% 3   # '%' in R code, and a { brace
@
\begin{figure}
<<fig=TRUE>>=
plot(x)
@
\caption[Short]{Dispersion \emph{estimates} for $\alpha$ with 50\% \Sexpr{format(n, "%d")} genes.}
\label{fig:disp}
\end{figure}
<<b, fig.cap="Left) Raw \\code{counts}. Right) Normalized.">>=
plot(y)
@
<<c, fig.cap=paste("Count time series of the", nrow(d), "districts.")>>=
plot(z)
@
<<t>>=
print(xtable(d, caption = "Model variants"))
@
\begin{table}\caption{Counts per gene}\end{table}
\insfig{box1}{0.8}{States and transitions in the ` + "``" + `Lexis'' model~\cite{x}}
\end{document}
`
	got := Parse(src, false)
	want := []Truth{
		{Kind: "figure", Index: 1, Text: "Dispersion estimates for alpha with 50% genes.", Source: "env"},
		{Kind: "figure", Index: 2, Text: "Left) Raw counts. Right) Normalized.", Source: "knitr"},
		{Kind: "figure", Index: 3, Text: "Count time series of the districts.", Source: "knitr"},
		{Kind: "table", Index: 1, Text: "Model variants", Source: "xtable"},
		{Kind: "table", Index: 2, Text: "Counts per gene", Source: "env"},
		{Kind: "figure", Index: 4, Text: "States and transitions in the \"Lexis\" model", Source: "insfig"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseRmd(t *testing.T) {
	src := "Text\n\n```{r plot1, fig.cap='Distribution of *antibody* levels'}\nhist(x)\n```\n"
	got := Parse(src, true)
	if len(got) != 1 || got[0].Text != "Distribution of antibody levels" {
		t.Errorf("Parse = %+v", got)
	}
}

func TestF1AndMatch(t *testing.T) {
	if f := F1("Histogram of p-values from the call to nbinomTest.", "Histogram of p values from the call to nbinomTest"); f != 1 {
		t.Errorf("F1 of equal token lists = %v", f)
	}
	if f := F1("LC scores of shuffled species data", "LC scores in CCA of the original data"); f >= MatchThreshold {
		t.Errorf("F1 of different captions = %v", f)
	}
	if F1("σ of β", "sigma of beta") != 1 {
		t.Error("Greek letters must compare with their names")
	}
	truth := []string{"QQ plots of the fit", "QQ plots of the fit", "Density of the counts"}
	pred := []string{"Density of the counts", "QQ plots of the fit", "Something else entirely", "QQ plots of the fit"}
	got := Match(truth, pred)
	want := []Pair{{0, 1, 1}, {1, 3, 1}, {2, 0, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Match = %+v, want %+v", got, want)
	}
	s := Score("figure", []Truth{{Kind: "figure", Index: 1, Text: "Density of the counts"}, {Kind: "figure", Index: 2, Text: "Missing one"}},
		[]Pred{{Kind: "figure", Page: 2, Caption: "Density of the counts", CropOK: true}, {Kind: "figure", Page: 3, Caption: "Spurious"}},
		func(Truth) []int { return []int{2} })
	if s.Matched != 1 || s.Recall() != 0.5 || s.Precision() != 0.5 || s.CropsOnPage != 1 || len(s.Missed) != 1 || len(s.Spurious) != 1 {
		t.Errorf("Score = %+v", s)
	}
}

func TestPagesOf(t *testing.T) {
	pages := [][]string{
		Tokens("It is instructive to look at the histogram of p values (Figure 3)."),
		Tokens("Figure 3: Histogram of p-values from the call to nbinomTest."),
	}
	if got := PagesOf(Truth{Text: "Histogram of p-values from the call to nbinomTest."}, pages); !reflect.DeepEqual(got, []int{2}) {
		t.Errorf("PagesOf = %v, want [2]", got)
	}
}

// The ground truth of the real corpus: the source of DESeq.pdf captions 17 figures.
func TestRealSource(t *testing.T) {
	pdf := filepath.Join("../../testdata/cache/x/r-bioc-deseq/usr/lib/R/site-library/DESeq/doc/DESeq.pdf")
	if _, err := os.Stat(pdf); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip("test corpus missing (make testdata)")
	}
	src := SourceFor(pdf)
	if filepath.Base(src) != "DESeq.Rnw" {
		t.Fatalf("SourceFor = %q", src)
	}
	ts, err := ReadSource(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 17 || ts[2].Text != "Histogram of p-values from the call to nbinomTest." {
		t.Errorf("%d truths; third %+v", len(ts), ts[min(2, len(ts)-1)])
	}
}

func FuzzParse(f *testing.F) {
	f.Add(`\begin{figure}\caption{x}\end{figure}`)
	f.Add("<<a, fig.cap=\"b\">>=\n@\n")
	f.Add(`\insfig{a}{b}{c`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tr := range Parse(s, false) {
			if tr.Index < 1 {
				t.Fatalf("index %d", tr.Index)
			}
		}
		Parse(s, true)
	})
}
