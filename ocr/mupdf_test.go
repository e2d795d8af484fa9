package ocr_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/ocr"
)

// corpusPDF returns the path of a PDF of the test corpus, skipping (failing on CI) when the
// corpus was not fetched.
func corpusPDF(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "testdata", "cache", rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("test corpus missing on CI (make testdata): %v", err)
		}
		t.Skipf("test corpus missing (make testdata): %v", err)
	}
	return p
}

// TestJPEGWithMuPDF checks what native-libs.md warns about: in a binary that also links MuPDF
// (through extract and go-fitz), JPEG bytes must still decode in Leptonica. A real page is
// rendered by MuPDF, encoded as JPEG, decoded by Leptonica and read by Tesseract; the words
// must match the page's own text layer. One text line is also read through region OCR.
func TestJPEGWithMuPDF(t *testing.T) {
	path := corpusPDF(t, "x/r-bioc-deseq/usr/lib/R/site-library/DESeq/doc/DESeq.pdf")
	doc, err := extract.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const pageNo, dpi = 2, 150
	page, err := doc.Page(ctx, pageNo)
	if err != nil {
		t.Fatal(err)
	}
	render, err := doc.Render(ctx, pageNo, dpi, extract.Rect{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, render, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	img, err := ocr.DecodeImage(buf.Bytes(), dpi)
	if err != nil {
		t.Fatalf("Leptonica could not decode the JPEG in a binary linking MuPDF: %v", err)
	}
	defer img.Close()
	if img.Bounds() != render.Bounds().Sub(render.Bounds().Min) {
		t.Fatalf("decoded %v, rendered %v", img.Bounds(), render.Bounds())
	}
	pool, err := ocr.NewPool(ocr.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// The longest text line of the page, for region OCR.
	var line extract.Line
	for _, l := range page.Lines {
		if len(l.Text) > len(line.Text) {
			line = l
		}
	}
	s := float64(dpi) / 72
	region := image.Rect(int(line.BBox.X0*s)-4, int(line.BBox.Y0*s)-4, int(line.BBox.X1*s)+4, int(line.BBox.Y1*s)+4)

	err = pool.Do(ctx, func(e *ocr.Engine) error {
		p, err := e.Recognize(ctx, img, ocr.PSMAuto, false)
		if err != nil {
			return err
		}
		got := map[string]bool{}
		for _, w := range p.Words() {
			got[strings.Trim(w.Text, ".,;:()")] = true
		}
		var n, found int
		for _, w := range page.Words {
			tw := strings.Trim(w.Text, ".,;:()")
			if len([]rune(tw)) < 4 {
				continue
			}
			n++
			if got[tw] {
				found++
			}
		}
		recall := float64(found) / float64(max(n, 1))
		t.Logf("JPEG page %d: %d words read (mean conf %.1f); %d of %d text-layer words (≥4 letters) found: %.3f",
			pageNo, len(p.Words()), p.MeanConfidence(), found, n, recall)
		if n < 50 || recall < 0.85 {
			t.Errorf("word recall %.3f over %d words, want ≥ 0.85 over ≥ 50", recall, n)
		}

		rs, err := e.RecognizeRegions(ctx, img, []image.Rectangle{region}, ocr.PSMSingleLine)
		if err != nil {
			return err
		}
		gotLine := rs[0].Text()
		t.Logf("region %v: %q (text layer %q)", region, gotLine, line.Text)
		if sim := similarity(line.Text, gotLine); sim < 0.9 {
			t.Errorf("region OCR %q vs text layer %q: similarity %.2f", gotLine, line.Text, sim)
		}
		for _, w := range rs[0].Words() {
			if !w.Box.In(region.Inset(-12)) {
				t.Errorf("word %q box %v outside its region %v", w.Text, w.Box, region)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// similarity is 1 − normalised edit distance, after removing white space.
func similarity(a, b string) float64 {
	ra := []rune(strings.Join(strings.Fields(a), ""))
	rb := []rune(strings.Join(strings.Fields(b), ""))
	if len(ra) == 0 && len(rb) == 0 {
		return 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return 1 - float64(prev[len(rb)])/float64(max(len(ra), len(rb)))
}
