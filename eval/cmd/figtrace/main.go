// Command figtrace draws every step of the page layout on the page, one panel per step (text
// roles, graphics, frames, caption blocks, blobs, proposals, chosen figures), so that a missed
// or badly cropped figure can be debugged by looking at it.
//
//	go run ./eval/cmd/figtrace -pdf paper.pdf -pages 3,5 -out /tmp/figtrace
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout"
)

func main() {
	pdf := flag.String("pdf", "", "PDF to trace")
	pages := flag.String("pages", "", "comma-separated pages to draw (default: every traced page)")
	dpi := flag.Float64("dpi", 50, "page rendering resolution")
	out := flag.String("out", filepath.Join(os.TempDir(), "figtrace"), "output directory")
	lines := flag.Bool("lines", false, "print every text line with its role and box")
	flag.Parse()
	printLines = *lines
	if *pdf == "" {
		fmt.Fprintln(os.Stderr, "figtrace: -pdf is required")
		os.Exit(2)
	}
	if err := run(*pdf, *pages, *dpi, *out); err != nil {
		fmt.Fprintln(os.Stderr, "figtrace:", err)
		os.Exit(1)
	}
}

// printLines is set by -lines.
var printLines bool

type step struct {
	name  string
	boxes []layout.TraceBox
}

func run(pdf, pageList string, dpi float64, out string) error {
	want := map[int]bool{}
	for _, s := range strings.Split(pageList, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("-pages: %w", err)
		}
		want[n] = true
	}
	var mu sync.Mutex
	traced := map[int][]step{}
	ctx := context.Background()
	res, err := layout.ExtractFile(ctx, pdf, layout.Options{Tables: true, Trace: func(page int, name string, boxes []layout.TraceBox) {
		if len(want) > 0 && !want[page] {
			return
		}
		mu.Lock()
		traced[page] = append(traced[page], step{name, boxes})
		mu.Unlock()
	}})
	if err != nil {
		return err
	}
	for _, f := range res.Figures {
		fmt.Printf("page %d %s %v: %.80s\n", f.Page, f.Label, f.BBox, f.Caption)
	}
	for _, r := range res.Rejects {
		fmt.Printf("reject page %d %s: %.100s\n", r.Page, r.Reason, r.Detail)
	}
	doc, err := extract.Open(pdf)
	if err != nil {
		return err
	}
	defer doc.Close()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	base := strings.TrimSuffix(filepath.Base(pdf), filepath.Ext(pdf))
	for page, steps := range traced {
		img, err := doc.Render(ctx, page, dpi, extract.Rect{})
		if err != nil {
			return err
		}
		b := img.Bounds()
		cols := 4
		rows := (len(steps) + cols - 1) / cols
		sheet := image.NewRGBA(image.Rect(0, 0, cols*(b.Dx()+6), rows*(b.Dy()+6)))
		draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.Gray{90}), image.Point{}, draw.Src)
		for i, st := range steps {
			panel := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
			draw.Draw(panel, panel.Bounds(), img, b.Min, draw.Src)
			fade(panel)
			s := dpi / 72
			for _, tb := range st.boxes {
				rect(panel, tb.Box, s, colour(tb.Kind), 1)
			}
			at := image.Pt((i%cols)*(b.Dx()+6), (i/cols)*(b.Dy()+6))
			draw.Draw(sheet, panel.Bounds().Add(at), panel, image.Point{}, draw.Src)
		}
		name := filepath.Join(out, fmt.Sprintf("%s-p%02d.png", base, page))
		f, err := os.Create(name)
		if err != nil {
			return err
		}
		if err := png.Encode(f, sheet); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		var names []string
		for _, st := range steps {
			names = append(names, fmt.Sprintf("%s(%d)", st.name, len(st.boxes)))
		}
		fmt.Printf("%s: %s\n", name, strings.Join(names, " "))
		for _, st := range steps {
			if st.name == layout.TraceText && printLines {
				for _, tb := range st.boxes {
					fmt.Printf("  %-7s %6.1f %6.1f %6.1f %6.1f  %s\n", tb.Kind, tb.Box.X0, tb.Box.Y0, tb.Box.X1, tb.Box.Y1, tb.Label)
				}
			}
			if st.name == layout.TraceProposals {
				for _, tb := range st.boxes {
					fmt.Printf("  proposal %s %s %v\n", tb.Kind, tb.Label, tb.Box)
				}
			}
		}
	}
	return nil
}

// fade lightens the page so that the boxes stand out.
func fade(img *image.RGBA) {
	for i := 0; i < len(img.Pix); i += 4 {
		for k := 0; k < 3; k++ {
			img.Pix[i+k] = uint8(160 + int(img.Pix[i+k])*95/255)
		}
	}
}

var palette = map[string]color.RGBA{
	"body": {0, 0, 220, 255}, "caption": {220, 0, 0, 255}, "figure": {0, 160, 0, 255}, "other": {200, 130, 0, 255}, "furniture": {120, 120, 120, 255},
	"graphic": {120, 0, 160, 255}, "frame": {0, 150, 150, 255}, "table": {220, 0, 160, 255}, "blob": {0, 140, 0, 255},
	"above": {220, 0, 0, 255}, "below": {0, 0, 220, 255}, "left": {0, 150, 0, 255}, "right": {200, 130, 0, 255},
}

func colour(kind string) color.RGBA {
	if c, ok := palette[kind]; ok {
		return c
	}
	return color.RGBA{0, 0, 0, 255}
}

func rect(img *image.RGBA, r extract.Rect, s float64, c color.Color, w int) {
	x0, y0, x1, y1 := int(r.X0*s), int(r.Y0*s), int(r.X1*s), int(r.Y1*s)
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
