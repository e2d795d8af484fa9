package ocr

import (
	"bytes"
	"image"
	"image/draw"
	"testing"
)

// FromImage's fast path for YCbCr images (what image/jpeg decodes colour JPEGs to) gives the
// same pixels as the generic conversion through the colour model.
func TestFromImageYCbCr(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422} {
		src := image.NewYCbCr(image.Rect(3, 5, 70, 41), ratio)
		for i := range src.Y {
			src.Y[i] = uint8(i * 7)
		}
		for i := range src.Cb {
			src.Cb[i], src.Cr[i] = uint8(i*13), uint8(255-i*5)
		}
		rgba := image.NewRGBA(src.Bounds())
		draw.Draw(rgba, rgba.Bounds(), src, src.Bounds().Min, draw.Src)
		enc := func(im image.Image) []byte {
			t.Helper()
			img, err := FromImage(im, 150)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			b, err := img.Encode(PNM)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if got, want := enc(src), enc(rgba); !bytes.Equal(got, want) {
			t.Errorf("subsampling %v: YCbCr pixels differ from the colour-model conversion", ratio)
		}
	}
}
