package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/eosinlab/eosin/extract"
)

// newPDFCmd is `eosin pdf`: tools for looking at what eosin reads from one PDF.
func newPDFCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pdf",
		Short: "Inspect PDFs the way eosin reads them",
	}
	cmd.AddCommand(newPDFDumpCmd())
	return cmd
}

func newPDFDumpCmd() *cobra.Command {
	var page int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "dump FILE",
		Short: "Print the words, images and vector graphics extract sees on each page",
		Long: `dump prints what the extract package reads from a PDF: for every page its size, each
word with its box (points, origin top-left) and font, each image placement with its pixel size
and filter, and each painted vector path's box. With --json it prints one JSON object per page,
one per line.`,
		Example: `  eosin pdf dump paper.pdf --page 3
  eosin pdf dump paper.pdf --json | jq '.words | length'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := extract.Open(args[0])
			if err != nil {
				return err
			}
			defer doc.Close()
			first, last := 1, doc.NumPages()
			if page != 0 {
				if page < 1 || page > doc.NumPages() {
					return flagErrorf("--page %d: the document has %d pages", page, doc.NumPages())
				}
				first, last = page, page
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			if !asJSON {
				m := doc.Metadata()
				fmt.Fprintf(w, "file %s\nsha256 %s\npages %d\ntitle %q\nauthor %q\ndoi %q\nproducer %q\n",
					args[0], doc.SHA256(), m.Pages, m.Title, m.Author, m.DOI, m.Producer)
			}
			failed := 0
			for n := first; n <= last; n++ {
				p, err := doc.Page(cmd.Context(), n)
				if err != nil {
					failed++
					if asJSON {
						b, _ := json.Marshal(map[string]any{"page": n, "error": err.Error()})
						fmt.Fprintf(w, "%s\n", b)
					} else {
						fmt.Fprintf(w, "\npage %d: error: %v\n", n, err)
					}
					continue
				}
				if asJSON {
					if err := writePageJSON(w, p); err != nil {
						return err
					}
					continue
				}
				writePageText(w, p)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d pages could not be read", failed, last-first+1)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&page, "page", 0, "only this page (1-based); default all pages")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per page, one per line")
	return cmd
}

type jsonWord struct {
	Text   string       `json:"text"`
	BBox   extract.Rect `json:"bbox"`
	Font   string       `json:"font"`
	Size   float64      `json:"size"`
	Bold   bool         `json:"bold"`
	Italic bool         `json:"italic"`
	Render int          `json:"render_mode,omitempty"`
}

type jsonImage struct {
	BBox   extract.Rect `json:"bbox"`
	Width  int          `json:"width"`
	Height int          `json:"height"`
	Filter string       `json:"filter"`
	Format string       `json:"format,omitempty"`
	Inline bool         `json:"inline,omitempty"`
}

type jsonGraphic struct {
	BBox       extract.Rect `json:"bbox"`
	Op         string       `json:"op,omitempty"`
	White      bool         `json:"white,omitempty"`
	Background bool         `json:"background,omitempty"`
}

type jsonPage struct {
	Page     int           `json:"page"`
	Width    float64       `json:"width"`
	Height   float64       `json:"height"`
	Words    []jsonWord    `json:"words"`
	Images   []jsonImage   `json:"images"`
	Graphics []jsonGraphic `json:"graphics"`
	Warnings []string      `json:"warnings,omitempty"`
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func writePageJSON(w io.Writer, p *extract.Page) error {
	jp := jsonPage{Page: p.Number, Width: round2(p.Width), Height: round2(p.Height),
		Words: []jsonWord{}, Images: []jsonImage{}, Graphics: []jsonGraphic{}, Warnings: p.Warnings}
	for _, x := range p.Words {
		jp.Words = append(jp.Words, jsonWord{x.Text, x.BBox, x.Font, round2(x.Size), x.Bold, x.Italic, x.RenderMode})
	}
	for _, x := range p.Images {
		jp.Images = append(jp.Images, jsonImage{x.BBox, x.Width, x.Height, x.Filter, x.Format, x.Inline})
	}
	for _, x := range p.Graphics {
		jp.Graphics = append(jp.Graphics, jsonGraphic{x.BBox, x.Op, x.White, x.Background})
	}
	b, err := json.Marshal(jp)
	if err != nil {
		return fmt.Errorf("page %d: %w", p.Number, err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func box(r extract.Rect) string {
	return fmt.Sprintf("[%7.2f %7.2f %7.2f %7.2f]", r.X0, r.Y0, r.X1, r.Y1)
}

func writePageText(w io.Writer, p *extract.Page) {
	fmt.Fprintf(w, "\npage %d  %.2f × %.2f pt  rotation %d  %d words, %d lines, %d images, %d graphics\n",
		p.Number, p.Width, p.Height, p.Rotation, len(p.Words), len(p.Lines), len(p.Images), len(p.Graphics))
	for _, m := range p.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", m)
	}
	for _, l := range p.Lines {
		fmt.Fprintf(w, "  line %s %5.2fpt %s%s  %q\n", box(l.BBox), l.Size, l.Font, map[bool]string{true: " bold"}[l.Bold], l.Text)
		for _, wi := range l.Words {
			x := p.Words[wi]
			style := ""
			if x.Bold {
				style += " bold"
			}
			if x.Italic {
				style += " italic"
			}
			if x.Invisible() {
				style += " invisible"
			}
			fmt.Fprintf(w, "    word %s %5.2fpt %s%s  %q\n", box(x.BBox), x.Size, x.Font, style, x.Text)
		}
	}
	for _, im := range p.Images {
		fmt.Fprintf(w, "  image %s %d×%d %s bpc=%d filter=%s format=%s%s%s\n", box(im.BBox), im.Width, im.Height,
			im.ColorSpace, im.BitsPerComponent, im.Filter, im.Format,
			map[bool]string{true: " needs-render"}[im.NeedsRender], map[bool]string{true: " inline"}[im.Inline])
	}
	for _, g := range p.Graphics {
		flags := ""
		if g.White {
			flags += " white"
		}
		if g.Background {
			flags += " background"
		}
		fmt.Fprintf(w, "  graphic %s %s%s\n", box(g.BBox), g.Op, flags)
	}
}
