package pipelines

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/scan"
	"github.com/eosinlab/eosin/ocr"
	"github.com/eosinlab/eosin/shards"
)

// scannedPages runs the scanned-page path (Tesseract through package ocr, figure finding in
// layout/scan) for layout's Scanned hook. The OCR engine is created on the first scanned
// page, so that born-digital corpora never load Tesseract; if it cannot be created, each
// scanned page becomes a reject (layout reports "ocr_failed" with the error).
type scannedPages struct {
	langs []string
	dpi   int

	once    sync.Once
	pool    *ocr.Pool
	scanner *scan.Scanner
	err     error
}

func newScannedPages(langs string, dpi int) *scannedPages {
	var ls []string
	for _, l := range strings.FieldsFunc(langs, func(r rune) bool { return r == '+' || r == ',' }) {
		ls = append(ls, strings.TrimSpace(l))
	}
	return &scannedPages{langs: ls, dpi: dpi}
}

// figures has the signature of layout.ScannedFunc.
func (s *scannedPages) figures(ctx context.Context, doc *extract.Document, page int) ([]shards.Figure, error) {
	s.once.Do(func() {
		s.pool, s.err = ocr.NewPool(ocr.Config{Languages: s.langs, Size: 1})
		if s.err == nil {
			s.scanner = scan.New(s.pool, scan.Options{DPI: s.dpi, Tables: true})
		}
	})
	if s.err != nil {
		return nil, fmt.Errorf("ocr engine: %w", s.err)
	}
	return s.scanner.Figures(ctx, doc, page)
}

func (s *scannedPages) close() {
	if s.pool != nil {
		s.pool.Close()
	}
}
