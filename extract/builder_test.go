package extract

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"testing"
)

// pdfBuilder writes small PDFs for tests: numbered objects, streams and a cross-reference
// table, so that every operator and font kind can be tried on an exact input.
type pdfBuilder struct {
	objs [][]byte
}

// add appends an object and returns its number.
func (b *pdfBuilder) add(body string) int {
	b.objs = append(b.objs, []byte(body))
	return len(b.objs)
}

// reserve returns the number of an object filled later with set.
func (b *pdfBuilder) reserve() int { return b.add("null") }

func (b *pdfBuilder) set(n int, body string) { b.objs[n-1] = []byte(body) }

// stream adds a stream object with the given extra dictionary entries.
func (b *pdfBuilder) stream(dict string, data []byte) int {
	var o bytes.Buffer
	fmt.Fprintf(&o, "<< %s /Length %d >>\nstream\n", dict, len(data))
	o.Write(data)
	o.WriteString("\nendstream")
	b.objs = append(b.objs, o.Bytes())
	return len(b.objs)
}

// flate adds a FlateDecode stream.
func (b *pdfBuilder) flate(dict string, data []byte) int {
	return b.stream(dict+" /Filter /FlateDecode", deflate(data))
}

func deflate(data []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(data)
	w.Close()
	return z.Bytes()
}

// bytes serialises the document with the given catalog and optional Info object.
func (b *pdfBuilder) bytes(root, info int) []byte {
	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(b.objs))
	for i, o := range b.objs {
		offs[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n", i+1)
		out.Write(o)
		out.WriteString("\nendobj\n")
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(b.objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root %d 0 R", len(b.objs)+1, root)
	if info > 0 {
		fmt.Fprintf(&out, " /Info %d 0 R", info)
	}
	fmt.Fprintf(&out, " >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return out.Bytes()
}

// testPage describes one page of a generated document.
type testPage struct {
	content   string
	resources string // the inside of the Resources dictionary
	extra     string // more page dictionary entries (/Rotate, /CropBox, …)
	rawRef    int    // if set, the page's Contents object (instead of content)
}

// document writes a PDF with the given pages (each on a 612 × 792 MediaBox).
func (b *pdfBuilder) document(pages ...testPage) []byte {
	pagesObj := b.reserve()
	var kids bytes.Buffer
	for _, p := range pages {
		c := p.rawRef
		if c == 0 {
			c = b.stream("", []byte(p.content))
		}
		pg := b.add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << %s >> /Contents %d 0 R %s >>",
			pagesObj, p.resources, c, p.extra))
		fmt.Fprintf(&kids, "%d 0 R ", pg)
	}
	b.set(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), len(pages)))
	root := b.add(fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj))
	return b.bytes(root, 0)
}

// helvetica is a resource string with /F1 = Helvetica (standard 14, WinAnsi).
const helvetica = "/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >> >>"

// mustPage opens a generated document and reads one page.
func mustPage(t *testing.T, pdf []byte, n int, opts ...Option) *Page {
	t.Helper()
	d, err := OpenBytes(pdf, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer d.Close()
	p, err := d.Page(context.Background(), n)
	if err != nil {
		t.Fatalf("page %d: %v", n, err)
	}
	return p
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }

func nearRect(a, b Rect, tol float64) bool {
	return near(a.X0, b.X0, tol) && near(a.Y0, b.Y0, tol) && near(a.X1, b.X1, tol) && near(a.Y1, b.Y1, tol)
}

func wordTexts(p *Page) []string {
	var s []string
	for _, w := range p.Words {
		s = append(s, w.Text)
	}
	return s
}
