package shards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// sharedData returns ../../shared/data/<sub>; without it the test is skipped, or fails on CI.
func sharedData(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", sub)
	if _, err := os.Stat(dir); err != nil {
		missing(t, "shared test data %s: %v", dir, err)
	}
	return dir
}

// missing skips the test, or fails it when CI is set (a missing tool or file is a failure there).
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("missing on CI: "+format, args...)
	}
	t.Skipf("missing: "+format+" (run make deps)", args...)
}

// needTool returns the path of a program or skips (fails on CI).
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "program %s", name)
	}
	return p
}

type cocoSamples struct {
	Images []struct {
		FileName string `json:"file_name"`
		ID       int    `json:"id"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
	} `json:"images"`
	Annotations []struct {
		ImageID    int       `json:"image_id"`
		CategoryID int       `json:"category_id"`
		BBox       []float64 `json:"bbox"`
		ID         int       `json:"id"`
	} `json:"annotations"`
}

// pubLayNetPages returns the real page JPEGs of the shared PubLayNet sample, by file name.
func pubLayNetPages(t testing.TB) (names []string, pages map[string][]byte) {
	t.Helper()
	dir := sharedData(t, "publaynet")
	ents, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil || len(ents) == 0 {
		missing(t, "PubLayNet JPEGs in %s", dir)
	}
	pages = map[string][]byte{}
	for _, p := range ents {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(p))
		pages[filepath.Base(p)] = b
	}
	return names, pages
}

// realFigures builds figure records from the PubLayNet annotations: each annotated figure is
// cropped from its page and stored as PNG (like a rendered crop); pages without a figure
// annotation contribute the page JPEG itself (like an embedded image).
func realFigures(t testing.TB, max int) []*Figure {
	t.Helper()
	sharedData(t, "publaynet") // skips (or fails on CI) before the cache is built
	figureCache.once.Do(func() { figureCache.figs = buildFigures(t, 40) })
	if len(figureCache.figs) == 0 {
		t.Fatal("no figures built from PubLayNet")
	}
	if max > len(figureCache.figs) {
		max = len(figureCache.figs)
	}
	return figureCache.figs[:max]
}

// figureCache holds the figures built once per test binary (PNG encoding is slow).
var figureCache struct {
	once sync.Once
	figs []*Figure
}

func buildFigures(t testing.TB, max int) []*Figure {
	t.Helper()
	dir := sharedData(t, "publaynet")
	raw, err := os.ReadFile(filepath.Join(dir, "samples.json"))
	if err != nil {
		missing(t, "%v", err)
	}
	var coco cocoSamples
	if err := json.Unmarshal(raw, &coco); err != nil {
		t.Fatal(err)
	}
	var out []*Figure
	for _, im := range coco.Images {
		if len(out) >= max {
			break
		}
		page, err := os.ReadFile(filepath.Join(dir, im.FileName))
		if err != nil {
			t.Fatal(err)
		}
		docSHA := fmt.Sprintf("%064x", im.ID)
		var decoded image.Image
		n := 0
		for _, a := range coco.Annotations {
			if a.ImageID != im.ID || a.CategoryID != 5 || len(out) >= max {
				continue
			}
			if decoded == nil {
				if decoded, err = jpeg.Decode(bytes.NewReader(page)); err != nil {
					t.Fatal(err)
				}
			}
			r := image.Rect(int(a.BBox[0]), int(a.BBox[1]), int(a.BBox[0]+a.BBox[2]), int(a.BBox[1]+a.BBox[3]))
			crop := decoded.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(r)
			var buf bytes.Buffer
			if err := png.Encode(&buf, crop); err != nil {
				t.Fatal(err)
			}
			n++
			out = append(out, &Figure{
				ID: fmt.Sprintf("f%d_%d", im.ID, n), Doc: Doc{SHA256: docSHA, URI: "pmc/" + im.FileName, Title: "Ünïcode “title” <&>"},
				Page: 1, PageSize: Size{Width: float64(im.Width), Height: float64(im.Height)},
				BBox: Box{a.BBox[0], a.BBox[1], a.BBox[0] + a.BBox[2], a.BBox[1] + a.BBox[3]}, Label: fmt.Sprintf("Figure %d", n),
				Caption:    fmt.Sprintf("Figure %d. Section of tissue (×40, 5 µm); β-cells → arrows, 😀 \"quoted\".", n),
				SubFigures: []SubFigure{{Label: "(A)", BBox: Box{1, 2, 3, 4}}},
				Image:      ImageInfo{Format: "png", Width: r.Dx(), Height: r.Dy(), Source: "rendered", DPI: 72},
				OCR:        OCRInfo{Used: true, MeanConfidence: 91.5},
				Quality:    Quality{Flags: []string{"small"}},
				ImageBytes: buf.Bytes(),
			})
		}
		if n == 0 && len(out) < max {
			out = append(out, &Figure{
				ID: fmt.Sprintf("p%d", im.ID), Doc: Doc{SHA256: docSHA, URI: "pmc/" + im.FileName},
				Page: 1, Label: "Plate 1", Caption: "Whole page " + im.FileName,
				Image:      ImageInfo{Format: "jpeg", Width: im.Width, Height: im.Height, Source: "embedded"},
				ImageBytes: page,
			})
		}
	}
	return out
}

// samplesFrom builds SFT samples over the figures: alternately one and two images.
func samplesFrom(figs []*Figure) []*Sample {
	var out []*Sample
	for i, f := range figs {
		s := &Sample{
			ID: "s_" + f.ID, FigureID: f.ID, Task: "mcq",
			Images:  []SampleImage{{Format: f.Image.Format, Bytes: f.ImageBytes}},
			Problem: "What does " + f.Label + " show?", Options: []string{"A) tissue", "B) bone"}, Answer: "A",
			Messages: []Message{
				{Role: "system", Content: "You are a pathologist."},
				{Role: "user", Content: "<image>What does " + f.Label + " show? A) tissue B) bone"},
				{Role: "assistant", Content: "<think>The caption says tissue.</think><answer>A</answer>"},
			},
			Generator: Generator{Model: "qwen", Params: map[string]any{"temperature": 0.7}},
			Scores:    map[string]float64{"format": 1, "accuracy": 1},
			Verdict:   Verdict{Keep: true},
		}
		if i%2 == 1 && i > 0 {
			prev := figs[i-1]
			s.Images = append(s.Images, SampleImage{Format: prev.Image.Format, Path: "other.img", Bytes: prev.ImageBytes})
			s.Messages[1].Content = "<image><image>Compare the two figures."
		}
		out = append(out, s)
	}
	return out
}

// sameRecord compares a record read back with the original (JSON form and image bytes).
func sameRecord(t testing.TB, want any, got *Record) {
	t.Helper()
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Fatalf("record differs:\nwant %s\ngot  %s", wj, gj)
	}
	switch w := want.(type) {
	case *Figure:
		if !bytes.Equal(w.ImageBytes, got.Figure.ImageBytes) {
			t.Fatalf("figure %s: image bytes differ (%d vs %d)", w.ID, len(w.ImageBytes), len(got.Figure.ImageBytes))
		}
	case *Sample:
		for i := range w.Images {
			if !bytes.Equal(w.Images[i].Bytes, got.Sample.Images[i].Bytes) {
				t.Fatalf("sample %s image %d: bytes differ", w.ID, i)
			}
		}
	}
}
