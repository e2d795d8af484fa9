package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

func encrypt(t *testing.T, pdf []byte, userPW, ownerPW string) []byte {
	t.Helper()
	model.ConfigPath = "disable"
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(pdf), &out, model.NewAESConfiguration(userPW, ownerPW, 256)); err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	return out.Bytes()
}

func TestEncryption(t *testing.T) {
	var b pdfBuilder
	plain := b.document(testPage{content: "BT /F1 10 Tf 100 700 Td (secret) Tj ET", resources: helvetica})
	tests := []struct {
		name     string
		userPW   string
		password string
		wantErr  error
	}{
		{"empty user password opens", "", "", nil},
		{"user password needed", "letmein", "", ErrEncrypted},
		{"user password given", "letmein", "letmein", nil},
		{"wrong password", "letmein", "nope", ErrEncrypted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := encrypt(t, plain, tc.userPW, "owner-secret")
			if bytes.Contains(enc, []byte("(secret)")) {
				t.Fatal("content not encrypted")
			}
			d, err := OpenBytes(enc, WithPassword(tc.password))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := d.Page(context.Background(), 1)
			if err != nil || len(p.Words) != 1 || p.Words[0].Text != "secret" {
				t.Fatalf("page: %v %q", err, wordTexts(p))
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	var b pdfBuilder
	xmp := b.stream("/Type /Metadata /Subtype /XML", []byte(`<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Histology of the Liver</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>A. Author</rdf:li><rdf:li>B. Author</rdf:li></rdf:Seq></dc:creator>
<prism:doi>10.1000/xyz123</prism:doi>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`))
	info := b.add("<< /Title (Old title) /Author (Someone) /Producer (pdfTeX-1.40) /Subject (see doi:10.5555/other) >>")
	pagesObj := b.reserve()
	content := b.stream("", []byte("BT ET"))
	page := b.add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 100 100] /Contents %d 0 R >>", pagesObj, content))
	b.set(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", page))
	root := b.add(fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R /Metadata %d 0 R >>", pagesObj, xmp))
	d, err := OpenBytes(b.bytes(root, info))
	if err != nil {
		t.Fatal(err)
	}
	m := d.Metadata()
	want := Metadata{Title: "Histology of the Liver", Author: "A. Author; B. Author", Subject: "see doi:10.5555/other",
		DOI: "10.1000/xyz123", Producer: "pdfTeX-1.40", Pages: 1}
	if m != want {
		t.Errorf("metadata %+v\nwant %+v", m, want)
	}
	if len(d.SHA256()) != 64 {
		t.Errorf("sha256 %q", d.SHA256())
	}
}

func TestRender(t *testing.T) {
	var b pdfBuilder
	d, err := OpenBytes(b.document(testPage{content: "0 0 0 rg 72 648 144 72 re f", extra: "/Rotate 0"}))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	img, err := d.Render(ctx, 1, 72, Rect{})
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 612 || r.Dy() != 792 {
		t.Fatalf("page image %v, want 612×792 at 72 dpi", r)
	}
	// The rectangle is at x 72..216, y 72..144 in page space (top-left origin).
	dark := func(x, y int) bool {
		c := color.GrayModel.Convert(img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y)).(color.Gray)
		return c.Y < 64
	}
	if !dark(100, 100) || dark(50, 50) || dark(300, 100) {
		t.Errorf("rendered pixels do not show the rectangle where it is drawn")
	}
	region, err := d.Render(ctx, 1, 144, Rect{72, 72, 216, 144})
	if err != nil {
		t.Fatal(err)
	}
	if r := region.Bounds(); r.Dx() != 288 || r.Dy() != 144 {
		t.Errorf("region image %v, want 288×144 at 144 dpi", r)
	}
	if c := color.GrayModel.Convert(region.At(144, 72)).(color.Gray); c.Y > 64 {
		t.Errorf("region is not the black rectangle: %v", c)
	}
	if _, err := d.Render(ctx, 2, 72, Rect{}); !errors.Is(err, ErrPageRange) {
		t.Errorf("page 2: %v", err)
	}
}

// TestConcurrentUse reads and renders pages of one real document from several goroutines.
func TestConcurrentUse(t *testing.T) {
	var doc corpusDoc
	for _, c := range corpus(t) {
		if c.short() == "r-bioc-deseq/DESeq.pdf" {
			doc = c
		}
	}
	if doc.path == "" {
		missing(t, "DESeq.pdf not in the corpus")
	}
	d := openCorpus(t, doc)
	defer d.Close()
	want, err := d.Page(context.Background(), 3)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		go func() {
			p, err := d.Page(context.Background(), 3)
			if err == nil && len(p.Words) != len(want.Words) {
				err = fmt.Errorf("%d words, want %d", len(p.Words), len(want.Words))
			}
			errs <- err
		}()
		go func() {
			_, err := d.Render(context.Background(), 1+g, 36, Rect{})
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
