package scan_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/ocr"
)

// imagePDF writes a one-page PDF whose page is one DCT (JPEG) image holding data, which need
// not be a valid JPEG.
func imagePDF(data []byte, w, h int) []byte {
	var buf bytes.Buffer
	var offs []int
	obj := func(body string, stream []byte) {
		offs = append(offs, buf.Len())
		fmt.Fprintf(&buf, "%d 0 obj\n%s", len(offs), body)
		if stream != nil {
			buf.WriteString("\nstream\n")
			buf.Write(stream)
			buf.WriteString("\nendstream")
		}
		buf.WriteString("\nendobj\n")
	}
	buf.WriteString("%PDF-1.4\n")
	content := []byte("q 612 0 0 792 0 0 cm /Im0 Do Q")
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", nil)
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>", nil)
	obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>", w, h, len(data)), data)
	obj(fmt.Sprintf("<< /Length %d >>", len(content)), content)
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&buf, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return buf.Bytes()
}

func jpegOf(t *testing.T, g *image.Gray) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, g, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBadPages: an unreadable page image, an empty page and a page of pure noise give an
// error or no figures, never a crash.
func TestBadPages(t *testing.T) {
	const w, h = 1224, 1584 // letter at 144 dpi
	blank := image.NewGray(image.Rect(0, 0, w, h))
	for i := range blank.Pix {
		blank.Pix[i] = 255
	}
	noise := image.NewGray(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.IntN(256))
	}
	tests := []struct {
		name string
		pdf  []byte
	}{
		{"unreadable image", imagePDF([]byte("\xff\xd8\xff\xe0 this is not a JPEG stream at all"), w, h)},
		{"truncated jpeg", imagePDF(jpegOf(t, noise)[:2000], w, h)},
		{"empty page", imagePDF(jpegOf(t, blank), w, h)},
		{"pure noise", imagePDF(jpegOf(t, noise), w, h)},
	}
	sc := scan.New(testPool(t), scan.Options{})
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "page.pdf")
			if err := os.WriteFile(path, tt.pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			doc, err := extract.Open(path)
			if err != nil {
				t.Logf("%s: rejected when opened: %v", tt.name, err)
				return
			}
			figs, err := sc.Figures(ctx, doc, 1)
			t.Logf("%s: %d figures, error %v", tt.name, len(figs), err)
			if err == nil && len(figs) > 0 {
				t.Errorf("%s: %d figures found, e.g. %q", tt.name, len(figs), figs[0].Label)
			}
		})
	}
	if _, err := sc.Analyze(ctx, mustImage(t, image.NewGray(image.Rect(0, 0, 8, 8)))); err == nil {
		t.Error("an 8×8 page image was analysed without error")
	}
}

func mustImage(t *testing.T, g *image.Gray) *ocr.Image {
	t.Helper()
	im, err := ocr.FromImage(g, 72)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.Close)
	return im
}

// TestTurnedPage: a simulated scan page turned by 90, 180 and 270 degrees is turned back and
// gives the same figures and captions as the upright page, with boxes mapped back onto the
// turned input.
func TestTurnedPage(t *testing.T) {
	if _, err := exec.LookPath("img2pdf"); err != nil {
		need(t, "/usr/bin/img2pdf")
	}
	page := simulatedPages(t)[0]
	sc := scan.New(testPool(t), scan.Options{})
	ctx := context.Background()
	img, err := ocr.DecodeImage(page.jpeg, 200)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	up, err := sc.Analyze(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	if len(up.Figures) == 0 {
		t.Fatalf("%s: no figure found upright", page.name)
	}
	want := up.Figures[0]
	for q := 1; q <= 3; q++ {
		turned, err := img.Rotate(q)
		if err != nil {
			t.Fatal(err)
		}
		res, err := sc.Analyze(ctx, turned)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s turned %d°: rotated back %d° (OSD conf %.1f), %d figures", page.name, q*90, res.Rotated, res.Orientation.Confidence, len(res.Figures))
		if res.Rotated != (4-q)%4*90 {
			t.Errorf("turned %d°: rotated by %d°", q*90, res.Rotated)
		}
		if len(res.Figures) == 0 {
			t.Errorf("turned %d°: no figure", q*90)
			res.Close()
			continue
		}
		got := res.Figures[0]
		if got.Label != want.Label || got.Caption != want.Caption {
			t.Errorf("turned %d°: %s %q, upright %s %q", q*90, got.Label, got.Caption, want.Label, want.Caption)
		}
		// The box on the turned input, turned back by hand, must land on the upright box.
		in := res.ToInput(got.Box)
		back := rotateBox(in, turned.Bounds(), (4-q)%4)
		if v := iou(back, up.ToInput(want.Box)); v < 0.8 {
			t.Errorf("turned %d°: box %v on the input maps to %v upright, want ≈ %v (IoU %.2f)", q*90, in, back, up.ToInput(want.Box), v)
		}
		res.Close()
		turned.Close()
	}
}

// rotateBox turns a box of an image with bounds b clockwise by q quarters.
func rotateBox(r, b image.Rectangle, q int) image.Rectangle {
	W, H := b.Dx(), b.Dy()
	for range q {
		// (x, y) → (H − y, x) for a clockwise quarter turn; the image becomes H × W.
		r = image.Rect(H-r.Max.Y, r.Min.X, H-r.Min.Y, r.Max.X)
		W, H = H, W
	}
	return r
}
