package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func TestGraphics(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []Graphic
	}{
		{"re f", "10 20 30 40 re f", []Graphic{{BBox: Rect{10, 732, 40, 772}, Op: "f"}}},
		{"white fill", "1 g 10 20 30 40 re f 1 1 1 rg 10 20 30 40 re f* 0 0 0 0 k 10 20 30 40 re F", []Graphic{
			{BBox: Rect{10, 732, 40, 772}, Op: "f", White: true}, {BBox: Rect{10, 732, 40, 772}, Op: "f*", White: true},
			{BBox: Rect{10, 732, 40, 772}, Op: "F", White: true}}},
		{"white via cs/sc", "/DeviceRGB cs 1 1 1 sc 10 20 30 40 re f 0.5 g 10 20 30 40 re f", []Graphic{
			{BBox: Rect{10, 732, 40, 772}, Op: "f", White: true}, {BBox: Rect{10, 732, 40, 772}, Op: "f"}}},
		{"background", "1 g 0 0 612 792 re f", []Graphic{{BBox: Rect{0, 0, 612, 792}, Op: "f", White: true, Background: true}}},
		{"stroke widens by half the line width", "2 w 10 10 m 100 10 l S", []Graphic{{BBox: Rect{9, 781, 101, 783}, Op: "S"}}},
		{"curves and closepath", "10 10 m 20 30 40 50 60 10 c h 70 10 80 20 v 85 2 90 5 y b", []Graphic{{BBox: Rect{9.5, 741.5, 90.5, 790.5}, Op: "b"}}},
		{"clip W n", "0 0 50 50 re W n 10 10 100 100 re f", []Graphic{{BBox: Rect{10, 742, 50, 782}, Op: "f"}}},
		{"q Q restores clip", "q 0 0 50 50 re W n Q 10 10 100 100 re B", []Graphic{{BBox: Rect{9.5, 681.5, 110.5, 782.5}, Op: "B"}}},
		{"cm transforms paths", "2 0 0 2 100 100 cm 0 0 10 10 re f", []Graphic{{BBox: Rect{100, 672, 120, 692}, Op: "f"}}},
		{"sh fills the clip", "q 10 10 20 20 re W n /Sh0 sh Q", []Graphic{{BBox: Rect{10, 762, 30, 782}, Op: "sh"}}},
		{"n paints nothing", "10 10 20 20 re n", nil},
		{"fully clipped", "0 0 5 5 re W n 100 100 10 10 re f", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b pdfBuilder
			p := mustPage(t, b.document(testPage{content: tc.content}), 1)
			if len(p.Graphics) != len(tc.want) {
				t.Fatalf("graphics %+v, want %+v", p.Graphics, tc.want)
			}
			for i, w := range tc.want {
				g := p.Graphics[i]
				if !nearRect(g.BBox, w.BBox, 1e-6) || g.Op != w.Op || g.White != w.White || g.Background != w.Background {
					t.Errorf("graphic %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestForms(t *testing.T) {
	var b pdfBuilder
	inner := b.stream("/Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << "+helvetica+" >>",
		[]byte("0 0 10 10 re f BT /F1 10 Tf 0 20 Td (inside) Tj ET"))
	outer := b.stream(fmt.Sprintf("/Type /XObject /Subtype /Form /BBox [0 0 50 15] /Matrix [1 0 0 1 100 100] /Resources << /XObject << /Fi %d 0 R >> >>", inner),
		[]byte("0 0 1000 1000 re f /Fi Do"))
	p := mustPage(t, b.document(testPage{content: "/Fo Do", resources: fmt.Sprintf("/XObject << /Fo %d 0 R >>", outer)}), 1)
	want := []Rect{{100, 677, 150, 692}, {100, 682, 110, 692}}
	if len(p.Graphics) != 2 || !nearRect(p.Graphics[0].BBox, want[0], 1e-6) || !nearRect(p.Graphics[1].BBox, want[1], 1e-6) {
		t.Errorf("graphics %+v, want boxes %v (clipped to the outer form's BBox)", p.Graphics, want)
	}
	// The word inside the nested form is read with the form's own font resources.
	if len(p.Words) != 1 || p.Words[0].Text != "inside" || !near(p.Words[0].BBox.X0, 100, 1e-6) {
		t.Errorf("words %+v", p.Words)
	}
}

func TestImages(t *testing.T) {
	var b pdfBuilder
	rgb := []byte{255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}
	imRGB := b.flate("/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceRGB /BitsPerComponent 8", rgb)
	var jb bytes.Buffer
	src := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for i := range src.Pix {
		src.Pix[i] = byte(i)
	}
	if err := jpeg.Encode(&jb, src, nil); err != nil {
		t.Fatal(err)
	}
	imJPEG := b.stream("/Type /XObject /Subtype /Image /Width 16 /Height 8 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode", jb.Bytes())
	smask := b.flate("/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8", []byte{0, 64, 128, 255})
	imIdx := b.flate(fmt.Sprintf("/Type /XObject /Subtype /Image /Width 4 /Height 1 /ColorSpace [/Indexed /DeviceRGB 1 <FF000000FF00>] /BitsPerComponent 1 /SMask %d 0 R", smask), []byte{0xA0})
	imCCITT := b.stream("/Type /XObject /Subtype /Image /Width 8 /Height 8 /ImageMask true /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns 8 >>", []byte{0, 0, 0})
	res := fmt.Sprintf("/XObject << /A %d 0 R /J %d 0 R /I %d 0 R /C %d 0 R >>", imRGB, imJPEG, imIdx, imCCITT)
	content := "q 100 0 0 50 10 20 cm /A Do Q q 16 0 0 8 200 200 cm /J Do Q q 40 0 0 10 300 300 cm /I Do Q q 8 0 0 8 0 0 cm /C Do Q " +
		"q 20 0 0 20 400 400 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\xff\x00 EI Q"
	p := mustPage(t, b.document(testPage{content: content, resources: res}), 1)
	if len(p.Images) != 5 {
		t.Fatalf("images %+v", p.Images)
	}
	a := p.Images[0]
	if !nearRect(a.BBox, Rect{10, 722, 110, 772}, 1e-6) || a.Width != 2 || a.Height != 2 || a.Format != "png" || a.Filter != "FlateDecode" || a.Name != "A" {
		t.Errorf("flate image %+v", a)
	}
	img, err := png.Decode(bytes.NewReader(a.Data))
	if err != nil {
		t.Fatalf("png: %v", err)
	}
	if c := color.RGBAModel.Convert(img.At(1, 0)).(color.RGBA); c != (color.RGBA{0, 255, 0, 255}) {
		t.Errorf("pixel (1,0) = %v, want green", c)
	}
	j := p.Images[1]
	if j.Format != "jpeg" || !bytes.Equal(j.Data, jb.Bytes()) || j.Width != 16 {
		t.Errorf("JPEG image not kept byte for byte: %+v", j)
	}
	ix := p.Images[2]
	if !ix.SoftMask || ix.Format != "png" || ix.ColorSpace != "Indexed" {
		t.Errorf("indexed image %+v", ix)
	}
	if pi, err := png.Decode(bytes.NewReader(ix.Data)); err != nil {
		t.Errorf("indexed png: %v", err)
	} else if c := color.RGBAModel.Convert(pi.At(0, 0)).(color.RGBA); c != (color.RGBA{0, 255, 0, 255}) {
		t.Errorf("indexed pixel 0 = %v, want palette entry 1 (green)", c)
	}
	if c := p.Images[3]; !c.NeedsRender || c.Data != nil || c.ColorSpace != "ImageMask" {
		t.Errorf("CCITT image %+v, want NeedsRender", c)
	}
	in := p.Images[4]
	if !in.Inline || in.Width != 2 || in.Format != "png" || !nearRect(in.BBox, Rect{400, 372, 420, 392}, 1e-6) {
		t.Errorf("inline image %+v", in)
	}
	// Without image data, placements are still read.
	p2 := mustPage(t, b.document(testPage{content: content, resources: res}), 1, WithoutImageData())
	if len(p2.Images) != 5 || p2.Images[0].Data != nil || p2.Images[1].Format != "jpeg" {
		t.Errorf("WithoutImageData: %+v", p2.Images)
	}
}

func TestLimitsAndBrokenPages(t *testing.T) {
	var b pdfBuilder
	self := b.reserve()
	b.set(self, fmt.Sprintf("<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /Me %d 0 R >> >> /Length 6 >>\nstream\n/Me Do\nendstream", self))
	bomb := b.flate("", bytes.Repeat([]byte("0 0 m "), 200000))
	corrupt := b.stream("/Filter /FlateDecode", []byte("this is not deflate data"))
	big := b.flate("/Type /XObject /Subtype /Image /Width 1000 /Height 1000 /ColorSpace /DeviceGray /BitsPerComponent 8", make([]byte, 1000*1000))
	pdf := b.document(
		testPage{content: "BT /F1 10 Tf 100 700 Td (fine) Tj ET", resources: helvetica},
		testPage{content: "/Me Do", resources: fmt.Sprintf("/XObject << /Me %d 0 R >>", self)},
		testPage{content: strings.Repeat("0 0 m ", 5000)},
		testPage{rawRef: bomb},
		testPage{rawRef: corrupt},
		testPage{content: "q 10 0 0 10 0 0 cm /Big Do Q", resources: fmt.Sprintf("/XObject << /Big %d 0 R >>", big)},
	)
	d, err := OpenBytes(pdf, WithLimits(Limits{MaxOperators: 4000, MaxStreamBytes: 600000, MaxImagePixels: 10000, MaxFormDepth: 5}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if p, err := d.Page(ctx, 1); err != nil || len(p.Words) != 1 {
		t.Errorf("page 1: %v", err)
	}
	var le *LimitError
	for _, c := range []struct {
		page  int
		limit string
	}{{2, "MaxFormDepth"}, {3, "MaxOperators"}, {4, "MaxStreamBytes"}} {
		_, err := d.Page(ctx, c.page)
		if !errors.Is(err, ErrLimit) || !errors.As(err, &le) || le.Limit != c.limit {
			t.Errorf("page %d: err %v, want a %s limit error", c.page, err, c.limit)
		}
	}
	if _, err := d.Page(ctx, 5); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "page 5") {
		t.Errorf("page 5 (corrupt stream): %v, want ErrCorrupt naming the page", err)
	}
	p, err := d.Page(ctx, 6)
	if err != nil || len(p.Images) != 1 || !p.Images[0].NeedsRender || p.Images[0].Data != nil || len(p.Warnings) == 0 {
		t.Errorf("page 6 (image over MaxImagePixels): %v %+v", err, p)
	}
	if _, err := d.Page(ctx, 7); !errors.Is(err, ErrPageRange) {
		t.Errorf("page 7: %v", err)
	}
	// After the broken pages, page 1 still reads.
	if _, err := d.Page(ctx, 1); err != nil {
		t.Errorf("page 1 again: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := OpenBytes([]byte("hello, not a pdf")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage: %v", err)
	}
	var b pdfBuilder
	pdf := b.document(testPage{content: "BT /F1 10 Tf 100 700 Td (x) Tj ET", resources: helvetica})
	if _, err := OpenBytes(pdf[:len(pdf)/2]); err != nil && !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v, want success (repaired) or ErrCorrupt", err)
	}
}
