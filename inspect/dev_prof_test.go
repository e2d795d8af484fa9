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
	out := filepath.Join(dir, "report")
	if _, err := os.Stat(out); err != nil {
		in := filepath.Join(dir, "in")
		writeSynthetic(t, in, benchFigures, 200, 50, 1000)
		src, _ := OpenDir(in)
		if _, err := Build(context.Background(), Options{Dir: out}, src); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	br, err := browser.Launch(ctx, "chromium", 1440, 960)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	br.Navigate(ctx, fileURL(filepath.Join(out, "index.html")))
	br.WaitFor(ctx, `document.documentElement.dataset.state === 'ready'`, time.Minute)
	for _, js := range []string{os.Getenv("DEV_JS")} {
		var v any
		if err := br.Eval(ctx, js, &v); err != nil {
			t.Fatal(err)
		}
		t.Logf("%v", v)
	}
}
