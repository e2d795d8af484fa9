package inspect

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eosinlab/eosin/inspect/internal/browser"
)

func TestDevProfile(t *testing.T) {
	dir := os.Getenv("DEV_PROF")
	if dir == "" {
		t.Skip()
	}
	in := filepath.Join(dir, "in")
	if _, err := os.Stat(in); err != nil {
		writeSynthetic(t, in, benchFigures, 200, 50, 1000)
	}
	out := filepath.Join(dir, "report")
	src, _ := OpenDir(in)
	if _, err := Build(context.Background(), Options{Dir: out}, src); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	br, err := browser.Launch(ctx, "chromium", 1440, 960)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	for k := 0; k < 3; k++ {
		br.Navigate(ctx, "about:blank")
		br.Navigate(ctx, fileURL(filepath.Join(out, "index.html")))
		br.WaitFor(ctx, `document.documentElement.dataset.state === 'ready'`, time.Minute)
		var v any
		if err := br.Eval(ctx, `(async () => { const t0 = performance.now(), r0 = EOSIN.routes; location.hash = '#figures?q=kidney+biopsy';
		while (EOSIN.routes === r0 || document.documentElement.dataset.state !== 'ready') await new Promise(r => setTimeout(r, 5));
		return [performance.now() - t0, +document.getElementById('result').dataset.count]; })()`, &v); err != nil {
			t.Fatal(err)
		}
		t.Logf("search: %v", v)
	}
}
