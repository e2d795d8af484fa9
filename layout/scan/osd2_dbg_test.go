package scan_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/eosinlab/eosin/ocr"
)

func TestDbgOSDTime(t *testing.T) {
	if os.Getenv("DBG_OSD") == "" {
		t.Skip()
	}
	for _, p := range simulatedPages(t) {
		img, _ := ocr.DecodeImage(p.jpeg, 200)
		testPool(t).Do(context.Background(), func(e *ocr.Engine) error {
			for _, s := range []float64{1, 0.5} {
				im := img
				if s != 1 {
					im, _ = img.Scale(s)
				}
				for q := 0; q < 4; q += 1 {
					r, _ := im.Rotate(q)
					st := time.Now()
					o, err := e.DetectOrientation(context.Background(), r)
					t.Logf("%s scale %v turned %d: %+v %v %v", p.name, s, q*90, o, err, time.Since(st))
				}
			}
			return nil
		})
	}
}
