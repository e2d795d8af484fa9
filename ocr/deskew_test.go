package ocr

import (
	"context"
	"image"
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
