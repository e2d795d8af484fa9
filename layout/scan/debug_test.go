package scan_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/ocr"
	"github.com/eosinlab/eosin/layout/scan/simscan"
)

func TestDebugPage(t *testing.T) {
	src := os.Getenv("DBG_PDF")
	if src == "" {
		t.Skip()
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	n, _ := strconv.Atoi(os.Getenv("DBG_PAGE"))
	ctx := context.Background()
	sc := scan.New(testPool(t), scan.Options{})
	var img *ocr.Image
	if strings.HasSuffix(src, ".jpg") {
		data, _ := os.ReadFile(src)
		img, _ = ocr.DecodeImage(data, 72)
	} else {
		out := "/tmp/dbg.pdf"
		if _, err := simscan.Make(ctx, src, []int{n}, 200, 42, out); err != nil {
			t.Fatal(err)
		}
		doc, err := extract.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		pi, err := sc.LoadPage(ctx, doc, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = pi.Image
	}
	res, err := sc.Analyze(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("orientation %+v rotated %d, ocr regions %d", res.Orientation, res.Rotated, res.OCRRegions)
	for _, b := range res.Layout.Blocks {
		t.Logf("   %s %v lines=%d", b.Type, b.Box, len(b.Lines))
	}
	for _, f := range res.Figures {
		t.Logf("FIG %s %v cap %v %q", f.Label, f.Box, f.CaptionBox, f.Caption)
	}
	for _, r := range res.Regions {
		t.Logf("REGION %v", r)
	}
}
