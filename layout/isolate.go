package layout

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/layout/caption"
	"github.com/eosinlab/eosin/shards"
)

// PanicError is a panic met while processing one document, caught so that the document (or
// only its page) becomes a reject and the other documents go on. Page is 0 when the panic
// happened in a document-wide step.
type PanicError struct {
	URI   string
	Page  int
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	if e.Page > 0 {
		return fmt.Sprintf("%s page %d: panic: %v (at %s)", e.URI, e.Page, e.Value, panicSite(e.Stack))
	}
	return fmt.Sprintf("%s: panic: %v (at %s)", e.URI, e.Value, panicSite(e.Stack))
}

// reject is the reject recording the panic (reason "panic").
func (e *PanicError) reject(sha string) shards.Reject {
	kind := "document"
	if e.Page > 0 {
		kind = "page"
	}
	return shards.Reject{Stage: "layout", Kind: kind, URI: e.URI, DocSHA: sha, Page: e.Page, Reason: "panic", Detail: e.Error()}
}

// newPanicError builds the error for a recovered value and logs the whole stack once.
func newPanicError(uri string, page int, r any) *PanicError {
	e := &PanicError{URI: uri, Page: page, Value: r, Stack: debug.Stack()}
	slog.Error("layout: recovered from a panic", "uri", uri, "page", page, "panic", fmt.Sprint(r), "stack", string(e.Stack))
	return e
}

// panicSite is the first frame of a panic's stack inside this module that is not the
// recovering code itself: function and file:line.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i := 0; i+1 < len(lines); i++ {
		fn := lines[i]
		if !strings.HasPrefix(fn, "github.com/eosinlab/eosin/") || strings.Contains(fn, "layout.safely") ||
			strings.Contains(fn, "layout.newPanicError") || strings.Contains(fn, "layout.Process.func") ||
			strings.Contains(fn, "layout.extractIsolated.func") {
			continue
		}
		loc := strings.TrimSpace(lines[i+1])
		if j := strings.LastIndex(loc, " +0x"); j > 0 {
			loc = loc[:j]
		}
		if j := strings.Index(loc, "/eosin/"); j >= 0 {
			loc = loc[j+len("/eosin/"):]
		}
		if j := strings.LastIndex(fn, "("); j > 0 {
			fn = fn[:j]
		}
		return strings.TrimPrefix(fn, "github.com/eosinlab/eosin/") + " " + loc
	}
	return "unknown"
}

// safely runs one page's step; a panic becomes a *PanicError naming the page.
func safely(uri string, page int, f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = newPanicError(uri, page, r)
		}
	}()
	f()
	return nil
}

// extractIsolated is ExtractFile for Run: whatever happens inside, one document gives one
// Result and never takes the run down.
func extractIsolated(ctx context.Context, path string, opts Options) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			pe := newPanicError(opts.URI, 0, r)
			res, err = Result{Rejects: []shards.Reject{pe.reject(res.SHA256)}}, pe
		}
	}()
	return ExtractFile(ctx, path, opts)
}

// stubPage keeps what later steps need of a page once its lines and painted boxes are taken:
// its number and size. The page itself is read again when it is laid out or rendered, so
// that a document's memory is its lines, not its pages.
func stubPage(p *extract.Page) *extract.Page {
	return &extract.Page{Number: p.Number, Width: p.Width, Height: p.Height, Rotation: p.Rotation}
}

// pageReader reads pages again for layout and cropping, keeping the last one.
type pageReader struct {
	doc  *extract.Document
	last *extract.Page
}

func (r *pageReader) page(ctx context.Context, n int) (*extract.Page, error) {
	if r.last != nil && r.last.Number == n {
		return r.last, nil
	}
	p, err := r.doc.Page(ctx, n)
	if err != nil {
		return nil, err
	}
	r.last = p
	return p, nil
}

// renderReason is the reject reason of a failed render: the limit's (limit_pixels for a
// page too large to render) or render_failed.
func renderReason(err error) string {
	if r := extract.LimitReason(err); r != "" {
		return r
	}
	return "render_failed"
}

// ocrReason is the reject reason of a scanned page that failed: the limit's or ocr_failed.
func ocrReason(err error) string {
	if r := extract.LimitReason(err); r != "" {
		return r
	}
	return "ocr_failed"
}

// zeroWords stands in for the words of lines kept without them: a line keeps the number of
// its words (document statistics count them) as a slice of one shared, never written array of
// zero words. Only caption lines (findCandidates reads their first word's font) keep theirs;
// a page laid out with captions gets its words back from a second read (withWords).
type zeroWords struct{ buf []extract.Word }

func newZeroWords() *zeroWords { return &zeroWords{buf: make([]extract.Word, 256)} }

func (z *zeroWords) get(n int) []extract.Word {
	if n > len(z.buf) {
		z.buf = make([]extract.Word, max(n, 2*len(z.buf)))
	}
	return z.buf[:n:n] // full slice: an append reallocates instead of writing here
}

// compact copies lines without their words, keeping those of caption lines when captions.
func (z *zeroWords) compact(ls []tline, captions bool) []tline {
	if len(ls) == 0 {
		return nil
	}
	out := make([]tline, len(ls))
	for i, l := range ls {
		if captions {
			if _, ok := caption.MatchLine(l.text); ok {
				l.words = slices.Clip(l.words)
				out[i] = l
				continue
			}
		}
		l.words = z.get(len(l.words))
		out[i] = l
	}
	return out
}

// fullLines reads page n again and returns its finished lines with their words.
func fullLines(ctx context.Context, doc *extract.Document, n int, p *extract.Page, st docStats) ([]tline, error) {
	if p == nil {
		var err error
		if p, err = doc.Page(ctx, n); err != nil {
			return nil, err
		}
	}
	var ls []tline
	err := safely(doc.Path(), n, func() { ls = finishLines(pageLines(p), st.columns) })
	return ls, err
}

// withWords gives the compact lines of page p their words back, from a second read of the
// page; every other field (furniture marks, roles) stays as the document-wide steps set it.
func withWords(ctx context.Context, doc *extract.Document, p *extract.Page, compact []tline, st docStats) ([]tline, error) {
	full, err := fullLines(ctx, doc, p.Number, p, st)
	if err != nil {
		return nil, err
	}
	if len(full) != len(compact) {
		return nil, fmt.Errorf("page %d: %d lines on a second read, %d on the first", p.Number, len(full), len(compact))
	}
	out := make([]tline, len(compact))
	for i, l := range compact {
		l.words = full[i].words
		out[i] = l
	}
	return out, nil
}

// pageReject records a page that could not be read again (or panicked doing so).
func pageReject(uri, sha string, n int, err error) shards.Reject {
	if pe, ok := err.(*PanicError); ok {
		pe.URI = uri
		return pe.reject(sha)
	}
	return shards.Reject{Stage: "extract", Kind: "page", URI: uri, DocSHA: sha, Page: n, Reason: reasonFor(err), Detail: err.Error()}
}
