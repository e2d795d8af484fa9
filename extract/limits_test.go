package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestPageCountFromTree: a /Count that lies does not size anything; the leaves are counted.
func TestPageCountFromTree(t *testing.T) {
	for _, tc := range []struct {
		name  string
		count int
		pages int
		max   int
		want  int
		err   string // reject reason, "" for none
		// render is the reject reason of rendering page 1, "" when it renders: MuPDF sizes
		// its page map by the root's /Count, so a lie beyond MaxPages is never handed to it.
		render string
	}{
		{"honest", 0, 3, 0, 3, "", ""},
		{"count 2e9", 2_000_000_000, 1, 0, 1, "", "limit_pages"},
		{"count 1e6", 1_000_000, 2, 0, 2, "", "limit_pages"},
		{"count lies within MaxPages", 50, 2, 0, 2, "", ""},
		{"over MaxPages", 0, 5, 4, 0, "limit_pages", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b pdfBuilder
			pagesObj := b.reserve()
			var kids strings.Builder
			for range tc.pages {
				c := b.stream("", []byte("BT /F1 10 Tf 72 700 Td (x) Tj ET"))
				fmt.Fprintf(&kids, "%d 0 R ", b.add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>", pagesObj, c)))
			}
			count := tc.count
			if count == 0 {
				count = tc.pages
			}
			b.set(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), count))
			pdf := b.bytes(b.add(fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj)), 0)
			d, err := OpenBytes(pdf, WithLimits(Limits{MaxPages: tc.max}))
			if tc.err != "" {
				if got := LimitReason(err); got != tc.err {
					t.Fatalf("open: %v (reason %q), want %s", err, got, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.NumPages() != tc.want {
				t.Errorf("NumPages = %d, want %d", d.NumPages(), tc.want)
			}
			_, err = d.Render(context.Background(), 1, 36, Rect{})
			if got := LimitReason(err); got != tc.render || (tc.render == "" && err != nil) {
				t.Errorf("render: %v (reason %q), want %q", err, got, tc.render)
			}
		})
	}
}

// TestRenderLimit: the render size is checked before MuPDF is called (a 14400 pt page at
// 200 dpi is 1.6 Gpx, which made MuPDF abort the process), and UserUnit scales the dpi so
// that a render keeps dpi/72 pixels per point of page space.
func TestRenderLimit(t *testing.T) {
	for _, tc := range []struct {
		name, box, extra string
		dpi              float64
		w, h             int    // wanted render size
		reason           string // wanted LimitReason
	}{
		{"letter", "[0 0 612 792]", "", 72, 612, 792, ""},
		{"huge MediaBox", "[0 0 14400 14400]", "", 200, 0, 0, "limit_pixels"},
		{"UserUnit 100", "[0 0 612 792]", "/UserUnit 100", 72, 612, 792, ""},
		{"UserUnit nan", "[0 0 612 792]", "/UserUnit nan", 72, 612, 792, ""},
		{"int32 overflow", "[0 0 14400 14400]", "", 2400, 0, 0, "limit_pixels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b pdfBuilder
			pagesObj := b.reserve()
			c := b.stream("", []byte("0 0 1 rg 10 10 100 100 re f"))
			pg := b.add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox %s /Contents %d 0 R %s >>", pagesObj, tc.box, c, tc.extra))
			b.set(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", pg))
			d, err := OpenBytes(b.bytes(b.add(fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj)), 0))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			img, err := d.Render(context.Background(), 1, tc.dpi, Rect{})
			if tc.reason != "" {
				if got := LimitReason(err); got != tc.reason || !errors.Is(err, ErrLimit) {
					t.Fatalf("render: %v (reason %q), want %s", err, got, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("render %v, want %d × %d", b, tc.w, tc.h)
			}
		})
	}
}

// TestDecodeLimits: a content stream over MaxContentBytes and a document over its total
// decompression budget fail their pages with the limit's reason; the stream is never held
// whole.
func TestDecodeLimits(t *testing.T) {
	zeros := make([]byte, 3<<20)
	var b pdfBuilder
	var pages []testPage
	for range 4 {
		pages = append(pages, testPage{rawRef: b.flate("", zeros)})
	}
	pdf := b.document(pages...)
	for _, tc := range []struct {
		name    string
		limits  Limits
		reasons []string // per page
	}{
		{"content", Limits{MaxContentBytes: 1 << 20}, []string{"limit_stream", "limit_stream", "limit_stream", "limit_stream"}},
		// Budget: MaxDocumentBytes + 64 × file size (the file is ~20 KB: 1.3 MB more).
		{"document", Limits{MaxDocumentBytes: 5 << 20}, []string{"", "limit_document", "limit_document", "limit_document"}},
		{"none", Limits{}, []string{"", "", "", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := OpenBytes(pdf, WithLimits(tc.limits))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			for i, want := range tc.reasons {
				_, err := d.Page(context.Background(), i+1)
				if got := LimitReason(err); got != want {
					t.Errorf("page %d: %v (reason %q), want %q", i+1, err, got, want)
				}
			}
		})
	}
}
