package caption

import (
	"reflect"
	"testing"
)

func TestMatchLine(t *testing.T) {
	tests := []struct {
		line  string
		ok    bool
		label string
		kind  Kind
		sep   string
		rest  string
	}{
		{"Figure 3: Dispersion plot", true, "Figure 3", Figure, ":", "Dispersion plot"},
		{"Fig. 3.2. Histology of the liver", true, "Figure 3.2", Figure, ".", "Histology of the liver"},
		{"FIGURE 12-4 Chest radiograph", true, "Figure 12-4", Figure, "", "Chest radiograph"},
		{"FIGURE 12–4. Chest radiograph", true, "Figure 12-4", Figure, ".", "Chest radiograph"},
		{"Figure S1. Supplementary plot", true, "Figure S1", Figure, ".", "Supplementary plot"},
		{"Plate 7 Gross specimen", true, "Plate 7", Figure, "", "Gross specimen"},
		{"Plate IV. Gross specimen", true, "Plate IV", Figure, ".", "Gross specimen"},
		{"Fig. 3A. Tumour margin", true, "Figure 3A", Figure, ".", "Tumour margin"},
		{"Fig. 3a", true, "Figure 3A", Figure, "", ""},
		{"Table 2: Counts per gene", true, "Table 2", Table, ":", "Counts per gene"},
		{"TABLE 2 Counts", true, "Table 2", Table, "", "Counts"},
		{"Figure 1 — MA plot", true, "Figure 1", Figure, "\u2014", "MA plot"},
		{"Figure 1 - MA plot", true, "Figure 1", Figure, "-", "MA plot"},
		{"Figure\u00a04.1:\u00a0Survival", true, "Figure 4.1", Figure, ":", "Survival"},
		{"Fig 5: Residuals", true, "Figure 5", Figure, ":", "Residuals"},
		{"Fig.5 Residuals", true, "Figure 5", Figure, "", "Residuals"},
		{"Figure A.1: Appendix plot", true, "Figure A.1", Figure, ":", "Appendix plot"},
		{"Supplementary Figure 2. Extra", true, "Supplementary Figure 2", Figure, ".", "Extra"},
		{"Figure 2.1", true, "Figure 2.1", Figure, "", ""},
		{"Figure 3 shows the fit", true, "Figure 3", Figure, "", "shows the fit"},
		{"Figure 11.1   Side caption text", true, "Figure 11.1", Figure, "", "Side caption text"},
		{"Fig . 6: split period", true, "Figure 6", Figure, ":", "split period"},
		// rejects
		{"Figs. 3 and 4 show", false, "", "", "", ""},
		{"Figures 3 and 4 show", false, "", "", "", ""},
		{"Figure 3a shows the fit", false, "", "", "", ""},
		{"As Figure 3 shows", false, "", "", "", ""},
		{"Figure shows", false, "", "", "", ""},
		{"Figure I shows", false, "", "", "", ""},
		{"Tables 1 to 3", false, "", "", "", ""},
		{"Figure 3-based", false, "", "", "", ""},
		{"Fig5x", false, "", "", "", ""},
		{"", false, "", "", "", ""},
	}
	for _, tc := range tests {
		m, ok := MatchLine(tc.line)
		if ok != tc.ok {
			t.Errorf("MatchLine(%q) ok = %v, want %v (%+v)", tc.line, ok, tc.ok, m)
			continue
		}
		if !ok {
			continue
		}
		if m.Label != tc.label || m.Kind != tc.kind || m.Sep != tc.sep || m.Rest != tc.rest {
			t.Errorf("MatchLine(%q) = label %q kind %q sep %q rest %q; want %q %q %q %q",
				tc.line, m.Label, m.Kind, m.Sep, m.Rest, tc.label, tc.kind, tc.sep, tc.rest)
		}
		if m.HeaderOnly != (tc.rest == "") {
			t.Errorf("MatchLine(%q) HeaderOnly = %v", tc.line, m.HeaderOnly)
		}
	}
}

func TestMatchFlags(t *testing.T) {
	m, _ := MatchLine("FIG. 2. Something")
	if !m.Abbreviated || !m.AllCaps {
		t.Errorf("FIG. flags: %+v", m)
	}
	m, _ = MatchLine("Figure 2: Something")
	if m.Abbreviated || m.AllCaps {
		t.Errorf("Figure flags: %+v", m)
	}
}

func TestNormalizeLabel(t *testing.T) {
	tests := map[string]string{
		"Fig. 3.2":     "Figure 3.2",
		"FIGURE 12–4":  "Figure 12-4",
		"Table S1":     "Table S1",
		"Fig 7":        "Figure 7",
		"Plate iv":     "",
		"Figure three": "",
	}
	for in, want := range tests {
		got, ok := NormalizeLabel(in)
		if (want != "") != ok || got != want {
			t.Errorf("NormalizeLabel(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestNormalizeLigatures(t *testing.T) {
	if got := Normalize("The ﬁtted\u00a0curve  ﬂows\n"); got != "The fitted curve flows" {
		t.Errorf("Normalize = %q", got)
	}
}

func TestFindRefs(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"As Figure 3 shows, the fit is good.", []string{"Figure 3"}},
		{"The residuals (Fig. 4b) are small.", []string{"Figure 4"}},
		{"Compare Figs. 3 and 4.", []string{"Figure 3", "Figure 4"}},
		{"See Figures 2.1, 2.3 and 2.4.", []string{"Figure 2.1", "Figure 2.3", "Figure 2.4"}},
		{"Table 2 lists the counts; Figure 1 plots them.", []string{"Table 2", "Figure 1"}},
		{"This is shown in figure 5.", nil},
		{"in Figure 12–4.", []string{"Figure 12-4"}},
		{"No citation here.", nil},
	}
	for _, tc := range tests {
		var got []string
		for _, r := range FindRefs(tc.text) {
			got = append(got, r.Label)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("FindRefs(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestSplitPanels(t *testing.T) {
	type part struct {
		labels []string
		text   string
	}
	tests := []struct {
		caption string
		ok      bool
		shared  string
		parts   []part
	}{
		{"Liver biopsy. (A) Low power view. (B) High power view showing necrosis.", true, "Liver biopsy.",
			[]part{{[]string{"A"}, "Low power view."}, {[]string{"B"}, "High power view showing necrosis."}}},
		{"(a) Counts; (b) dispersion.", true, "",
			[]part{{[]string{"a"}, "Counts"}, {[]string{"b"}, "dispersion."}}},
		{"Sections. (A–C) Normal tissue. (D) Tumour.", true, "Sections.",
			[]part{{[]string{"A", "B", "C"}, "Normal tissue."}, {[]string{"D"}, "Tumour."}}},
		{"Plots. (A and B) Raw data. (C) Fit.", true, "Plots.",
			[]part{{[]string{"A", "B"}, "Raw data."}, {[]string{"C"}, "Fit."}}},
		{"Stains. A, H&E stain. B, PAS stain.", true, "Stains.",
			[]part{{[]string{"A"}, "H&E stain."}, {[]string{"B"}, "PAS stain."}}},
		{"Two models: (i) linear; (ii) quadratic; (iii) cubic.", true, "Two models:",
			[]part{{[]string{"i"}, "linear"}, {[]string{"ii"}, "quadratic"}, {[]string{"iii"}, "cubic."}}},
		{"Left) Uncorrected counts. Right) Normalized counts.", true, "",
			[]part{{[]string{"Left"}, "Uncorrected counts."}, {[]string{"Right"}, "Normalized counts."}}},
		{"Time series. Top: raw. Bottom: smoothed.", true, "Time series.",
			[]part{{[]string{"Top"}, "raw."}, {[]string{"Bottom"}, "smoothed."}}},
		// references, not markers
		{"Necrosis (arrow in B) near the vessel.", false, "", nil},
		{"The left panel shows the counts.", false, "", nil},
		{"Only one panel. (A) Something.", false, "", nil},
		{"Counts shown as in (A) and (B).", false, "", nil},
		{"Panels in the wrong order. (B) First. (A) Second.", false, "", nil},
	}
	for _, tc := range tests {
		p, ok := SplitPanels(tc.caption)
		if ok != tc.ok {
			t.Errorf("SplitPanels(%q) ok = %v, want %v (%+v)", tc.caption, ok, tc.ok, p)
			continue
		}
		if !ok {
			continue
		}
		if p.Shared != tc.shared {
			t.Errorf("SplitPanels(%q) shared = %q, want %q", tc.caption, p.Shared, tc.shared)
		}
		var got []part
		for _, pt := range p.Parts {
			got = append(got, part{pt.Labels, pt.Text})
		}
		if !reflect.DeepEqual(got, tc.parts) {
			t.Errorf("SplitPanels(%q) parts = %q, want %q", tc.caption, got, tc.parts)
		}
	}
	p, _ := SplitPanels("Liver. (A) Low. (B) High.")
	if got := p.Caption(1); got != "Liver. High." {
		t.Errorf("Caption(1) = %q", got)
	}
}

func FuzzMatchLine(f *testing.F) {
	for _, s := range []string{"Figure 3: x", "Fig. 12–4.", "Table S1", "Plate IV", "FIG 3A—"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := MatchLine(s)
		if ok && (m.Label == "" || m.Number == "") {
			t.Fatalf("match without label: %q → %+v", s, m)
		}
	})
}

func FuzzSplitPanels(f *testing.F) {
	for _, s := range []string{"(A) x (B) y", "A. x. B. y", "Left) a Right) b", "(i) a; (ii) b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := SplitPanels(s)
		if ok && len(p.LabelSet()) < 2 {
			t.Fatalf("split with fewer than two panels: %q", s)
		}
	})
}

func TestMatchLinePublisherLabelForms(t *testing.T) {
	tests := []struct {
		line, label, rest string
		ok                bool
	}{
		{"F I G U R E 1 Different Ocimum species from India.", "Figure 1", "Different Ocimum species from India.", true},
		{"T A B L E 2 Primers used", "Table 2", "Primers used", true},
		{"Figure-1: The OSE increased the viability", "Figure 1", "The OSE increased the viability", true},
		{"Figure-2", "Figure 2", "", true},
		{"Table -1: Densitometry analysis", "Table 1", "Densitometry analysis", true},
		{"F I G U R E", "", "", false},
		{"Figure-based analysis", "", "", false},
	}
	for _, tt := range tests {
		m, ok := MatchLine(tt.line)
		if ok != tt.ok {
			t.Errorf("MatchLine(%q) ok = %v, want %v", tt.line, ok, tt.ok)
			continue
		}
		if ok && (m.Label != tt.label || m.Rest != tt.rest) {
			t.Errorf("MatchLine(%q) = %q / %q, want %q / %q", tt.line, m.Label, m.Rest, tt.label, tt.rest)
		}
	}
}
