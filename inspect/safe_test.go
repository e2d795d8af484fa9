package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// TestReportRefusesImagesOutsideTheFolder: an extraction folder whose images are symlinks to
// a file outside it (or whose bytes are not the recorded image) gets a report without those
// files' bytes; each refusal is logged naming the file and counted. A symlink that stays
// inside the folder is followed.
func TestReportRefusesImagesOutsideTheFolder(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "extract")
	figs := writeSynthetic(t, dir, 6, 1, 2, 0)
	secret := []byte("root:x:0:0:root:/root:/bin/bash\n")
	secretPath := filepath.Join(base, "passwd")
	if err := os.WriteFile(secretPath, secret, 0o644); err != nil {
		t.Fatal(err)
	}
	img := func(id string) string { return filepath.Join(dir, "images", id+".png") }
	replace := func(id string, fn func(p string) error) {
		t.Helper()
		if err := os.Remove(img(id)); err != nil {
			t.Fatal(err)
		}
		if err := fn(img(id)); err != nil {
			t.Fatal(err)
		}
	}
	replace(figs[0].ID, func(p string) error { return os.Symlink(secretPath, p) })                     // out of the folder
	replace(figs[1].ID, func(p string) error { return os.WriteFile(p, secret, 0o644) })                // not an image
	replace(figs[2].ID, func(p string) error { return os.Symlink(filepath.Base(img(figs[3].ID)), p) }) // inside: fine
	// A sample whose image is a symlink out of the folder, and one whose image is fine.
	if err := os.MkdirAll(filepath.Join(dir, "samples"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secretPath, filepath.Join(dir, "samples", "bad.png")); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(img(figs[4].ID))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "samples", "good.png"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range []shards.Sample{
		{ID: "s-bad", FigureID: figs[0].ID, Task: "mcq", Problem: "Which?", Answer: "A", Images: []shards.SampleImage{{Path: "samples/bad.png", Format: "png"}}},
		{ID: "s-good", FigureID: figs[4].ID, Task: "mcq", Problem: "Which?", Answer: "B", Images: []shards.SampleImage{{Path: "samples/good.png", Format: "png"}}},
	} {
		b, _ := json.Marshal(s)
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(filepath.Join(dir, "samples.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	out := filepath.Join(base, "report")
	sum, err := Build(context.Background(), Options{Dir: out, Jobs: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, src)
	if err != nil {
		t.Fatal(err)
	}
	if sum.BadImages != 3 {
		t.Errorf("BadImages %d, want 3 (two figures, one sample); log:\n%s", sum.BadImages, logs.String())
	}
	for _, name := range []string{figs[0].ID + ".png", figs[1].ID + ".png", "bad.png"} {
		if !strings.Contains(logs.String(), name) {
			t.Errorf("no warning names %s; log:\n%s", name, logs.String())
		}
	}
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, secret) {
			t.Errorf("the report holds the outside file's bytes in %s", p)
		}
		return nil
	})
	if b, err := os.ReadFile(filepath.Join(out, "images", figs[2].ID+".png")); err != nil || len(b) == 0 {
		t.Errorf("the crop behind a symlink inside the folder was not copied: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "samples", "s-good-0.png")); err != nil {
		t.Errorf("the good sample image was not copied: %v", err)
	}
}
