package ocr

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math"
	"testing"
)

// TestDeskew turns a page by a known small angle, checks that Deskew finds the angle that
// undoes it, and that the text of the straightened page reads as well as the original.
func TestDeskew(t *testing.T) {
	img := loadImage(t, "tesseract-testing/phototest.tif")
	ref := "This is a lot of 12 point text to test the ocr code and see if it works on all types of file format."
	pool := sharedPool(t)
	ctx := context.Background()
	for _, deg := range []float64{-2, 1.2} {
		turned, err := img.RotateAngle(deg)
		if err != nil {
			t.Fatal(err)
		}
		straight, angle, err := turned.Deskew()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("turned %.1f°: deskew applied %.2f°", deg, angle)
		if math.Abs(angle+deg) > 0.3 {
			t.Errorf("turned by %.1f°: deskew applied %.2f°, want about %.1f°", deg, angle, -deg)
		}
		// The first text line sits at y 92–122 in the upright page: read it as one line.
		err = pool.Do(ctx, func(e *Engine) error {
			ps, err := e.RecognizeRegions(ctx, straight, []image.Rectangle{image.Rect(30, 86, 620, 128)}, PSMSingleLine)
			if err != nil {
				return err
			}
			got := ps[0].Text()
			if c := cer(ref[:44], got); c > 0.05 {
				t.Errorf("turned %.1f° and straightened: first line %q (CER %.3f)", deg, got, c)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestRotateAngleDirection pins the sense of RotateAngle: positive is clockwise on screen
// (y downwards), so a mark right of the centre moves down.
func TestRotateAngleDirection(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	for y := 98; y < 102; y++ {
		for x := 176; x < 184; x++ {
			g.Pix[y*200+x] = 0
		}
	}
	img, err := FromImage(g, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	r, err := img.RotateAngle(20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := r.Encode(PNG)
	if err != nil {
		t.Fatal(err)
	}
	out, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var sy, n float64
	for y := 0; y < 200; y++ {
		for x := 0; x < 200; x++ {
			if c, _, _, _ := out.At(x, y).RGBA(); c < 0x8000 {
				sy += float64(y)
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("mark lost")
	}
	// 80 px right of the centre turned 20° clockwise: about 80·sin 20° ≈ 27 px lower.
	if cy := sy / n; cy < 120 || cy > 134 {
		t.Errorf("mark centre at y %.1f after turning +20°, want ≈ 127 (clockwise)", cy)
	}
}
