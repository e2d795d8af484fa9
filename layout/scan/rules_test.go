package scan

import (
	"image"
	"testing"

	"github.com/eosinlab/eosin/ocr"
)

func TestMatchCaption(t *testing.T) {
	tests := []struct {
		line  string
		label string
		ok    bool
	}{
		{"Figure 3: Histogram of p-values", "Figure 3", true},
		{"Pig. 1 Horizontal view of the mandible", "Figure 1", true},
		{"Figurc 2. MvA plot", "Figure 2", true},
		{"FIGURE 12-4 Liver", "Figure 12-4", true},
		{"Tablc 2: Counts", "Table 2", true},
		{"Big 3 cats were seen", "", false}, // "Big" is two edits from "Fig."
		{"the figure 3 shows", "", false},
		{"Fig. 1 shows the biodetection plot", "", false},
		{"Fig. 1 Horizontal view", "Figure 1", true},
		{"", "", false},
	}
	for _, tt := range tests {
		m, ok := matchCaption(tt.line)
		if ok != tt.ok || (ok && m.Label != tt.label) {
			t.Errorf("matchCaption(%q) = %q, %v; want %q, %v", tt.line, m.Label, ok, tt.label, tt.ok)
		}
	}
}

func FuzzMatchCaption(f *testing.F) {
	f.Add("Pig. 1 Horizontal view")
	f.Add("Figure 3.2: x")
	f.Fuzz(func(t *testing.T, s string) {
		if m, ok := matchCaption(s); ok && m.Label == "" {
			t.Errorf("match without label for %q", s)
		}
	})
}

func TestJoinLines(t *testing.T) {
	p := &ocr.Page{Blocks: []ocr.Block{{Lines: []ocr.Line{
		{Text: "Figure 1: Empirical dis-"}, {Text: "persion values against the"}, {Text: "  "}, {Text: "Mean."},
	}}}}
	want := "Figure 1: Empirical dispersion values against the Mean."
	if got := joinLines(p); got != want {
		t.Errorf("joinLines = %q, want %q", got, want)
	}
}

// TestToInput checks the mapping of boxes from the analysed (enlarged, turned, levelled)
// image back to the input image.
func TestToInput(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		in   image.Rectangle
		want image.Rectangle
	}{
		{"identity", Result{w: 100, h: 200, scale: 1}, image.Rect(10, 20, 30, 40), image.Rect(10, 20, 30, 40)},
		{"scaled", Result{w: 100, h: 200, scale: 3}, image.Rect(30, 60, 90, 120), image.Rect(10, 20, 30, 40)},
		// Input 100×200 turned 90° clockwise is 200×100: input (x, y) → (200−y, x).
		{"turned 90", Result{w: 100, h: 200, scale: 1, Rotated: 90}, image.Rect(160, 10, 180, 30), image.Rect(10, 20, 30, 40)},
		{"turned 180", Result{w: 100, h: 200, scale: 1, Rotated: 180}, image.Rect(70, 160, 90, 180), image.Rect(10, 20, 30, 40)},
		// Turned 270°: input (x, y) → (y, 100−x).
		{"turned 270", Result{w: 100, h: 200, scale: 1, Rotated: 270}, image.Rect(20, 70, 40, 90), image.Rect(10, 20, 30, 40)},
	}
	for _, tt := range tests {
		if got := tt.res.toImage(tt.in); got != tt.want {
			t.Errorf("%s: toImage(%v) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
	// A skew of 2° moves a box near the centre by little, one near a corner by more; the
	// mapping must undo ocr.Image.RotateAngle's direction (clockwise positive).
	b := image.Rect(0, 0, 1000, 1000)
	got := unskew(image.Rect(900, 480, 950, 520), b, 2)
	// Turning back by −2° about (500, 500) moves a point right of the centre upwards.
	if got.Min.Y >= 480 || got.Max.X > 960 {
		t.Errorf("unskew moved the box to %v, want it higher", got)
	}
}
