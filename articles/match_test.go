package articles

import (
	"reflect"
	"testing"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Figure 3: Uptake of ¹⁸F-FDG.", []string{"uptake", "of", "18f", "fdg"}},
		{"Fig. 2. β-catenin", []string{"beta", "catenin"}},
		{"FIGURE 1 | CO₂ levels", []string{"co2", "levels"}},
		{"Figures of merit", []string{"figures", "of", "merit"}},
		{"", []string{}},
	}
	for _, tt := range tests {
		if got := Tokens(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatchCaptions(t *testing.T) {
	truth := []string{"Growth of cells over time.", "Map of the study area.", ""}
	pred := []string{"Map of the study area", "Something else entirely.", "Growth of the cells over time", ""}
	got := MatchCaptions(truth, pred, AgreementThreshold)
	want := []Pair{{0, 2, got[0].Score}, {1, 0, 1}, {2, 3, 1}}
	if !reflect.DeepEqual(got, want) || got[0].Score < 0.8 {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestMatchRegions(t *testing.T) {
	long := "Representative terpenoid biosynthesis pathway with cognate heat maps for transcript levels of genes from the transcriptome data with substrates and products"
	tests := []struct {
		name      string
		xml, pdf  []regionCandidate
		wantPairs [][2]int
	}{
		{"same caption", []regionCandidate{{"Figure 1", "Map of the study area."}}, []regionCandidate{{"Fig. 1", "Map of the study area"}}, [][2]int{{0, 0}}},
		{"pdf caption cut short, same label", []regionCandidate{{"Figure 4.", long}}, []regionCandidate{{"Figure 4", "Representative terpenoid biosynthesis pathway"}}, [][2]int{{0, 0}}},
		{"pdf caption cut short, other label", []regionCandidate{{"Figure 4.", long}}, []regionCandidate{{"Figure 5", "Representative terpenoid biosynthesis pathway"}}, nil},
		{"different captions, same label", []regionCandidate{{"Figure 2", "Growth of cells over time."}}, []regionCandidate{{"Figure 2", "Map of the study area."}}, nil},
		{"one to one, best first", []regionCandidate{{"Figure 1", "Growth of cells at day one."}, {"Figure 2", "Growth of cells at day two."}},
			[]regionCandidate{{"Figure 2", "Growth of cells at day two."}, {"Figure 1", "Growth of cells at day one."}}, [][2]int{{0, 1}, {1, 0}}},
		{"label-only figures match by label", []regionCandidate{{"Figure 3", ""}, {"Figure 4", ""}}, []regionCandidate{{"Figure 4", ""}}, [][2]int{{1, 0}}},
		{"no pdf figures", []regionCandidate{{"Figure 1", "x y z"}}, nil, nil},
	}
	for _, tt := range tests {
		var got [][2]int
		for _, p := range matchRegions(tt.xml, tt.pdf, DefaultRegionThreshold) {
			got = append(got, [2]int{p.A, p.B})
		}
		if !reflect.DeepEqual(got, tt.wantPairs) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.wantPairs)
		}
	}
}

func TestLabelKey(t *testing.T) {
	for in, want := range map[string]string{"Figure 1": "1", "Fig. 12.": "12", "Figure-3": "3", "FIGURE S2": "s2", "Figure 2A": "2a", "Scheme": ""} {
		if got := labelKey(in); got != want {
			t.Errorf("labelKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReport(t *testing.T) {
	r := NewReport([]DocAgreement{
		{Journal: "B", XMLFigures: 4, PDFFigures: 4, Matched: 3},
		{Journal: "A", XMLFigures: 2, PDFFigures: 1, Matched: 1},
		{Journal: "B", XMLFigures: 0, PDFFigures: 1, Matched: 0},
	})
	if r.Total != (Score{Articles: 3, XMLFigures: 6, PDFFigures: 6, Matched: 4, Recall: 4.0 / 6, Precision: 4.0 / 6}) {
		t.Errorf("total %+v", r.Total)
	}
	if len(r.Journals) != 2 || r.Journals[0].Journal != "A" || r.Journals[1].Recall != 0.75 || r.Journals[1].Precision != 0.6 {
		t.Errorf("journals %+v", r.Journals)
	}
	if e := NewReport(nil); e.Total.Recall != 1 || e.Documents == nil || e.Journals == nil {
		t.Errorf("empty report %+v", e)
	}
}
