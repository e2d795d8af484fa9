package inspect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// synthWords feed the captions of synthetic records.
var synthWords = []string{"histology", "of", "the", "liver", "showing", "portal", "tract", "inflammation",
	"with", "lymphocytes", "H&E", "stain", "magnification", "CT", "scan", "axial", "section", "lesion",
	"arrow", "marks", "necrosis", "kidney", "glomerulus", "biopsy", "immunohistochemistry", "positive",
	"tumour", "cells", "survival", "curve", "patients", "cohort", "treatment", "group", "MRI", "T2"}

// writeSynthetic writes an `eosin extract`-shaped directory with n synthetic figures spread
// over docs documents, nimg distinct crop images (reused, copied per id), rejects and samples.
// It returns the figures written.
func writeSynthetic(t testing.TB, dir string, n, docs, nimg, nsamples int) []shards.Figure {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	imgs := make([][]byte, nimg)
	for k := range imgs {
		imgs[k] = synthPNG(rng, 160+rng.IntN(240), 120+rng.IntN(180))
	}
	ff, err := os.Create(filepath.Join(dir, "figures.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(ff)
	enc := json.NewEncoder(w)
	flags := []string{"small", "low_contrast", "near_duplicate_caption", "no_mentions"}
	var figs []shards.Figure
	for i := range n {
		d := i * docs / n
		page := 1 + (i%(n/docs+1))/3
		capt := ""
		for range 8 + rng.IntN(30) {
			capt += synthWords[rng.IntN(len(synthWords))] + " "
		}
		f := shards.Figure{
			ID:       fmt.Sprintf("d%03dp%04df%02d", d, page, i%3),
			Doc:      shards.Doc{SHA256: fmt.Sprintf("%064x", d+1), URI: fmt.Sprintf("/corpus/book-%03d.pdf", d), Title: fmt.Sprintf("Synthetic atlas %d", d)},
			Page:     page,
			PageSize: shards.Size{Width: 612, Height: 792},
			BBox:     shards.Box{72, 90 + float64(i%3)*220, 540, 260 + float64(i%3)*220},
			Label:    fmt.Sprintf("Figure %d.%d", page, i%3+1),
			Caption:  fmt.Sprintf("Figure %d.%d: %s", page, i%3+1, capt),
			Image:    shards.ImageInfo{Format: "png", Width: 400, Height: 300, Source: "rendered", DPI: 200},
		}
		f.CaptionBox = shards.Box{72, f.BBox[3] + 4, 540, f.BBox[3] + 30}
		if i%7 == 0 {
			f.SubFigures = []shards.SubFigure{{Label: "A", BBox: shards.Box{72, f.BBox[1], 300, f.BBox[3]}, Caption: "left panel"},
				{Label: "B", BBox: shards.Box{310, f.BBox[1], 540, f.BBox[3]}, Caption: "right panel"}}
		}
		if i%5 == 0 {
			f.OCR = shards.OCRInfo{Used: true, MeanConfidence: 80 + float64(i%20)}
		}
		if i%4 == 0 {
			f.Quality.Flags = []string{flags[(i/4)%len(flags)]}
		}
		f.Mentions = []string{"As shown in " + f.Label + ", the " + synthWords[i%len(synthWords)] + " is visible."}
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "images", f.ID+".png"), imgs[i%nimg], 0o644); err != nil {
			t.Fatal(err)
		}
		figs = append(figs, f)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	ff.Close()
	var rej bytes.Buffer
	reasons := []string{"encrypted", "caption_too_short", "no_figure_region", "near_duplicate_image"}
	for i := range n / 50 {
		r := shards.Reject{Stage: "layout", Kind: "figure", DocSHA: fmt.Sprintf("%064x", i%docs+1), Page: 1 + i%9, Reason: reasons[i%len(reasons)], Detail: "synthetic"}
		if r.Reason == "near_duplicate_image" {
			r.Stage = "dedup"
		}
		b, _ := json.Marshal(r)
		rej.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, "rejects.jsonl"), rej.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var smp bytes.Buffer
	for i := range nsamples {
		f := figs[(i*37)%len(figs)]
		s := shards.Sample{ID: fmt.Sprintf("s%06d", i), FigureID: f.ID, Task: []string{"mcq", "description", "reasoning"}[i%3],
			Problem: "Which structure is marked by the arrow in " + f.Label + "?",
			Options: []string{"A. Portal tract", "B. Central vein", "C. Bile duct", "D. Hepatic artery"}, Answer: "A",
			Messages: []shards.Message{{Role: "user", Content: "<image> Which structure is marked by the arrow?"},
				{Role: "assistant", Content: "<think>The caption says the arrow marks the portal tract, which sits at the corner of the lobule.</think><answer>A</answer>"}},
			Generator: shards.Generator{Model: "synthetic"},
			Scores:    map[string]float64{"format": 1, "accuracy": float64(i % 2), "length": rng.Float64()},
			Verdict:   shards.Verdict{Keep: i%2 == 0}}
		if !s.Verdict.Keep {
			s.Verdict.Reasons = []string{"wrong_answer"}
		}
		b, _ := json.Marshal(s)
		smp.Write(append(b, '\n'))
	}
	if nsamples > 0 {
		if err := os.WriteFile(filepath.Join(dir, "samples.jsonl"), smp.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return figs
}

// synthPNG draws a small chart-like picture.
func synthPNG(rng *rand.Rand, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := color.RGBA{250, 250, 250, 255}
	c := color.RGBA{uint8(40 + rng.IntN(150)), uint8(60 + rng.IntN(120)), uint8(120 + rng.IntN(120)), 255}
	for y := range h {
		for x := range w {
			img.Set(x, y, bg)
		}
	}
	nb := 5 + rng.IntN(6)
	for k := range nb {
		bh := 10 + rng.IntN(h-30)
		x0 := 10 + k*(w-20)/nb
		x1 := x0 + (w-20)/nb - 4
		for y := h - 10 - bh; y < h-10; y++ {
			for x := x0; x < x1; x++ {
				img.Set(x, y, c)
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
