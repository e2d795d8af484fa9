// Command figviz draws extracted figures on their pages for people to check by eye: for a
// random (seeded) sample of the records in figures.jsonl it renders the page and draws the
// figure box (red), the caption box (blue) and the sub-figure boxes (green), one PNG per figure.
//
//	go run ./eval/cmd/figviz -figures /tmp/eosin-eval/figures.jsonl -n 30 -out /tmp/figviz
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/shards"
)

func main() {
	figures := flag.String("figures", "/tmp/eosin-eval/figures.jsonl", "figures.jsonl to sample from")
	n := flag.Int("n", 30, "number of figures to draw")
	seed := flag.Uint64("seed", 1, "sampling seed")
	dpi := flag.Float64("dpi", 60, "page rendering resolution")
	out := flag.String("out", filepath.Join(os.TempDir(), "figviz"), "output directory")
	per := flag.Int("per", 1, "pages side by side in one output PNG")
	flag.Parse()
	if err := run(*figures, *n, *seed, *dpi, *out, *per); err != nil {
		fmt.Fprintln(os.Stderr, "figviz:", err)
		os.Exit(1)
	}
}

func run(path string, n int, seed uint64, dpi float64, out string, per int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var figs []shards.Figure
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var fig shards.Figure
		if err := json.Unmarshal(sc.Bytes(), &fig); err != nil {
			return err
		}
		figs = append(figs, fig)
	}
	r := rand.New(rand.NewPCG(seed, seed))
	r.Shuffle(len(figs), func(i, j int) { figs[i], figs[j] = figs[j], figs[i] })
	if n < len(figs) {
		figs = figs[:n]
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var sheet []*image.RGBA
	flush := func(name string) error {
		if len(sheet) == 0 {
			return nil
		}
		w, h := 0, 0
		for _, im := range sheet {
			w += im.Bounds().Dx() + 4
			h = max(h, im.Bounds().Dy())
		}
		all := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(all, all.Bounds(), image.NewUniform(color.Gray{128}), image.Point{}, draw.Src)
		x := 0
		for _, im := range sheet {
			draw.Draw(all, im.Bounds().Add(image.Pt(x, 0)), im, im.Bounds().Min, draw.Src)
			x += im.Bounds().Dx() + 4
		}
		sheet = nil
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		defer f.Close()
		return png.Encode(f, all)
	}
	for i, fig := range figs {
		doc, err := extract.Open(fig.Doc.URI)
		if err != nil {
			return err
		}
		img, err := doc.Render(context.Background(), fig.Page, dpi, extract.Rect{})
		doc.Close()
		if err != nil {
			return err
		}
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
		s := dpi / 72
		box(rgba, fig.BBox, s, color.RGBA{230, 0, 0, 255}, 2)
		box(rgba, fig.CaptionBox, s, color.RGBA{0, 0, 230, 255}, 1)
		for _, sf := range fig.SubFigures {
			box(rgba, sf.BBox, s, color.RGBA{0, 170, 0, 255}, 1)
		}
		sheet = append(sheet, rgba)
		name := filepath.Join(out, fmt.Sprintf("%02d.png", i/per+1))
		if len(sheet) == per || i == len(figs)-1 {
			if err := flush(name); err != nil {
				return err
			}
		}
		fmt.Printf("%s\t%s p%d %s (%d sub-figures): %.70s\n", name, filepath.Base(fig.Doc.URI), fig.Page, fig.Label, len(fig.SubFigures), fig.Caption)
	}
	return nil
}

// box draws a rectangle outline of width w pixels.
func box(img *image.RGBA, b shards.Box, s float64, c color.Color, w int) {
	x0, y0, x1, y1 := int(b[0]*s), int(b[1]*s), int(b[2]*s), int(b[3]*s)
	for k := 0; k < w; k++ {
		for x := x0 - k; x <= x1+k; x++ {
			img.Set(x, y0-k, c)
			img.Set(x, y1+k, c)
		}
		for y := y0 - k; y <= y1+k; y++ {
			img.Set(x0-k, y, c)
			img.Set(x1+k, y, c)
		}
	}
}
