package extract

import (
	"context"
	"os"
	"testing"
)

func TestDebugGlyphs(t *testing.T) {
	path := os.Getenv("DEBUG_PDF")
	if path == "" {
		t.Skip()
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	p, _ := d.readPageGlyphs(context.Background(), 2)
	lo, hi := 505.0, 530.0
	d.mu.Unlock()
	for _, g := range p {
		if g.oy > lo && g.oy < hi && g.ox > 380 && g.ox < 410 {
			t.Logf("%q %.2f %.2f-%.2f size %.3f font %s", g.text, g.ox, g.box.X0, g.box.X1, g.size, g.font.base)
		}
	}
}
