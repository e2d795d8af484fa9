package inspect

import (
	"context"
	"image"

	"github.com/gen2brain/go-fitz"

	_ "github.com/eosinlab/eosin/extract" // MuPDF link flags
)

// fitzRenderer renders pages with go-fitz directly (development only).
type fitzRenderer struct{}

type fitzDoc struct{ d *fitz.Document }

func (fitzRenderer) OpenDocument(path string) (PageDocument, error) {
	d, err := fitz.New(path)
	if err != nil {
		return nil, err
	}
	return fitzDoc{d}, nil
}

func (f fitzDoc) RenderPage(ctx context.Context, page int, dpi float64) (image.Image, error) {
	return f.d.ImageDPI(page-1, dpi)
}

func (f fitzDoc) Close() error { return f.d.Close() }
