package layout

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/eosinlab/eosin/extract"
)

// Laying a document out without image data and rendering the figures afterwards (what a
// page-range build does) gives exactly the figures of one Process call with Render.
func TestRenderFiguresEqualsProcess(t *testing.T) {
	ctx := context.Background()
	for _, rel := range []string{deseqPDF, partitioningPDF, hhh4PDF} {
		t.Run(rel, func(t *testing.T) {
			path := corpusFile(t, rel)
			opts := Options{Render: true, Tables: true, DPI: 50, URI: "doc.pdf"}
			full, err := ExtractFile(ctx, path, opts)
			if err != nil {
				t.Fatal(err)
			}

			lean, err := extract.Open(path, extract.WithoutImageData())
			if err != nil {
				t.Fatal(err)
			}
			defer lean.Close()
			plan, err := Process(ctx, lean, Options{Tables: true, DeferScanned: true, URI: "doc.pdf"})
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Scanned) != 0 {
				t.Errorf("born-digital document has scanned pages %v", plan.Scanned)
			}
			if plan.Doc.SHA256 != full.SHA256 || plan.Doc.URI != "doc.pdf" {
				t.Errorf("doc %+v", plan.Doc)
			}
			doc, err := extract.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer doc.Close()
			// Render in two halves, as two page ranges would.
			half := len(plan.Figures) / 2
			a, rejA, err := RenderFigures(ctx, doc, plan.Figures[:half], opts.DPI)
			if err != nil {
				t.Fatal(err)
			}
			b, rejB, err := RenderFigures(ctx, doc, plan.Figures[half:], opts.DPI)
			if err != nil {
				t.Fatal(err)
			}
			got := append(a, b...)
			if len(rejA)+len(rejB) != 0 {
				t.Errorf("render rejects %v %v", rejA, rejB)
			}
			if len(got) != len(full.Figures) || len(got) == 0 {
				t.Fatalf("%d figures in two steps, %d in one", len(got), len(full.Figures))
			}
			for i := range got {
				g, _ := json.Marshal(got[i].Figure)
				w, _ := json.Marshal(full.Figures[i].Figure)
				if string(g) != string(w) {
					t.Errorf("figure %d differs:\n two steps %s\n one step  %s", i, g, w)
				}
				if string(got[i].ImageBytes) != string(full.Figures[i].ImageBytes) {
					t.Errorf("figure %d: image bytes differ", i)
				}
				if (got[i].Original == nil) != (full.Figures[i].Original == nil) ||
					got[i].Original != nil && string(got[i].Original.Data) != string(full.Figures[i].Original.Data) {
					t.Errorf("figure %d: native bytes differ", i)
				}
			}
		})
	}
}
