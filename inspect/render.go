package inspect

import (
	"context"
	"fmt"
	"image"

	"github.com/eosinlab/eosin/extract"
)

// ExtractRenderer renders source pages with the extract package (MuPDF), in the same page
// space as the figure boxes.
type ExtractRenderer struct{}

// OpenDocument opens a PDF with extract.Open.
func (ExtractRenderer) OpenDocument(path string) (PageDocument, error) {
	d, err := extract.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return extractDoc{d}, nil
}

type extractDoc struct{ d *extract.Document }

// RenderPage renders the whole page.
func (e extractDoc) RenderPage(ctx context.Context, page int, dpi float64) (image.Image, error) {
	return e.d.Render(ctx, page, dpi, extract.Rect{})
}

// Close closes the document.
func (e extractDoc) Close() error { return e.d.Close() }
