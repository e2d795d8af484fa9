package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/eosinlab/eosin/ocr"
)

func TestDbgOSD(t *testing.T) {
	if os.Getenv("DBG_OSD") == "" {
		t.Skip()
	}
	dir := shared(t, "publaynet")
	for _, f := range []string{"PMC3654277_00006.jpg", "PMC4527132_00004.jpg", "PMC4954804_00001.jpg", "PMC3777717_00006.jpg"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		img, _ := ocr.DecodeImage(data, 72)
		testPool(t).Do(context.Background(), func(e *ocr.Engine) error {
			for _, s := range []float64{1, 2, 3} {
				im := img
				if s != 1 {
					im, _ = img.Scale(s)
				}
				o, err := e.DetectOrientation(context.Background(), im)
				t.Logf("%s scale %v: %+v %v", f, s, o, err)
				if o.Rotate != 0 {
					r, _ := im.Rotate(o.Rotate / 90)
					o2, err := e.DetectOrientation(context.Background(), r)
					t.Logf("    turned: %+v %v", o2, err)
				}
			}
			return nil
		})
	}
}
