// Package extract reads born-digital PDF pages exactly: for each page the words with their
// boxes, fonts and sizes (grouped into lines), every image placement with its original encoded
// bytes, and the bounding box of every painted vector path. It parses with pdfcpu and runs its
// own content-stream interpreter; rendering pages or regions to pixels goes through MuPDF
// (go-fitz, built with -tags extlib against Debian's libmupdf).
//
// All boxes are in page space: PDF points, origin at the top-left corner of the visible page
// (CropBox), y downwards, page rotation applied (see Rect).
package extract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// Limits bound the work and memory spent on one document. A page that exceeds one fails with a
// *LimitError (errors.Is(err, ErrLimit)); the other pages still read.
type Limits struct {
	// MaxStreamBytes is the largest decompressed size of one stream (content, image, font, CMap).
	MaxStreamBytes int64
	// MaxContentBytes is a tighter bound for content, form, font and CMap streams (and a
	// page's content streams together), which are interpreted, not just copied: a bomb of
	// operators costs several times its size.
	MaxContentBytes int64
	// MaxDocumentBytes bounds the bytes decompressed for one document in all (every read
	// of a page counts): the budget is MaxDocumentBytes plus 64 times the file's size, so
	// that long documents always fit and decompression bombs do not. Once spent, every
	// further page fails with this limit.
	MaxDocumentBytes int64
	// MaxImagePixels is the largest width × height of an image whose bytes are decoded.
	MaxImagePixels int64
	// MaxRenderPixels is the largest width × height of a page render (Render); it is checked
	// before MuPDF is called, with the page's UserUnit applied.
	MaxRenderPixels int64
	// MaxPages is the most pages a document may have, counted in its page tree (the /Count
	// entries are not trusted). A larger document fails to open with this limit.
	MaxPages int
	// MaxOperators is the largest number of content-stream operators run for one page,
	// Form XObjects included.
	MaxOperators int
	// MaxFormDepth is the deepest nesting of Form XObjects followed.
	MaxFormDepth int
}

// DefaultLimits are generous for real documents and small enough to stop hostile ones.
func DefaultLimits() Limits {
	return Limits{
		MaxStreamBytes:   256 << 20,
		MaxContentBytes:  64 << 20,
		MaxDocumentBytes: 1 << 30,
		MaxImagePixels:   48 << 20,
		MaxRenderPixels:  64 << 20,
		MaxPages:         100_000,
		MaxOperators:     2_000_000,
		MaxFormDepth:     12,
	}
}

type config struct {
	limits    Limits
	password  string
	imageData bool
}

// Option configures Open and OpenBytes.
type Option func(*config)

// WithLimits replaces DefaultLimits; zero fields keep their default.
func WithLimits(l Limits) Option {
	return func(c *config) {
		d := DefaultLimits()
		if l.MaxStreamBytes > 0 {
			d.MaxStreamBytes = l.MaxStreamBytes
		}
		if l.MaxImagePixels > 0 {
			d.MaxImagePixels = l.MaxImagePixels
		}
		if l.MaxContentBytes > 0 {
			d.MaxContentBytes = l.MaxContentBytes
		}
		if l.MaxDocumentBytes > 0 {
			d.MaxDocumentBytes = l.MaxDocumentBytes
		}
		if l.MaxRenderPixels > 0 {
			d.MaxRenderPixels = l.MaxRenderPixels
		}
		if l.MaxPages > 0 {
			d.MaxPages = l.MaxPages
		}
		if l.MaxOperators > 0 {
			d.MaxOperators = l.MaxOperators
		}
		if l.MaxFormDepth > 0 {
			d.MaxFormDepth = l.MaxFormDepth
		}
		c.limits = d
	}
}

// WithPassword opens an encrypted document with this user (or owner) password.
func WithPassword(pw string) Option { return func(c *config) { c.password = pw } }

// WithoutImageData makes Page leave Image.Data empty (placements, sizes and filters are still
// read). It saves the PNG re-encoding when only the geometry is needed.
func WithoutImageData() Option { return func(c *config) { c.imageData = false } }

// Document is an open PDF. Its methods are safe for concurrent use; pages of one document are
// read one at a time (pdfcpu's object model and MuPDF's document are not goroutine-safe).
type Document struct {
	path string
	data []byte
	sum  [32]byte
	cfg  config

	mu    sync.Mutex // guards pdf and fonts
	pdf   *model.Context
	fonts map[fontKey]*font

	panics bool // tests (fuzzing): let panics through instead of turning them into errors

	decoded int64 // bytes decompressed so far (MaxDocumentBytes); guarded by mu

	renderMu sync.Mutex // guards fz
	fz       renderer

	// declaredPages is the /Count of the page tree's root: what MuPDF sizes its page map by.
	declaredPages int
}

var disableConfigOnce sync.Once

// Open reads the PDF file at path. See OpenBytes.
func Open(path string, opts ...Option) (*Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	d, err := OpenBytes(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	d.path = path
	return d, nil
}

// OpenBytes parses a PDF held in memory (relaxed validation). A document encrypted with an
// empty user password is decrypted; any other encryption fails with ErrEncrypted. A file that
// cannot be parsed fails with ErrCorrupt.
func OpenBytes(data []byte, opts ...Option) (doc *Document, err error) {
	cfg := config{limits: DefaultLimits(), imageData: true}
	for _, o := range opts {
		o(&cfg)
	}
	// pdfcpu would otherwise create a configuration directory in the user's home.
	disableConfigOnce.Do(func() {
		if model.ConfigPath == "default" || model.ConfigPath == "" {
			model.ConfigPath = "disable"
		}
	})
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("%w: parser panic: %v", ErrCorrupt, r)
		}
	}()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.UserPW = cfg.password
	conf.OwnerPW = cfg.password
	conf.Offline = true
	conf.Limits.MaxDecodeBytes = cfg.limits.MaxStreamBytes
	conf.Limits.MaxStreamBytes = cfg.limits.MaxStreamBytes
	if !bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF")) {
		return nil, fmt.Errorf("%w: no %%PDF header", ErrCorrupt)
	}
	ctx, err := pdfcpu.ReadWithContext(context.Background(), bytes.NewReader(data), conf)
	if err != nil {
		return nil, classifyOpenError(err)
	}
	if ctx.XRefTable == nil || ctx.RootDict == nil {
		return nil, fmt.Errorf("%w: no document catalog", ErrCorrupt)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, fmt.Errorf("%w: page tree: %v", ErrCorrupt, err)
	}
	declared := ctx.PageCount
	// The page count comes from the page tree itself: a /Count that lies (two billion
	// pages in a few kilobytes) must not size anything.
	n, err := countPages(ctx, cfg.limits.MaxPages)
	if err != nil {
		return nil, err
	}
	ctx.PageCount = n
	if ctx.PageCount <= 0 {
		return nil, fmt.Errorf("%w: no pages", ErrCorrupt)
	}
	return &Document{
		data:          data,
		sum:           sha256.Sum256(data),
		cfg:           cfg,
		pdf:           ctx,
		fonts:         map[fontKey]*font{},
		declaredPages: declared,
	}, nil
}

func classifyOpenError(err error) error {
	msg := strings.ToLower(err.Error())
	if errors.Is(err, pdfcpu.ErrWrongPassword) || errors.Is(err, pdfcpu.ErrUnsupportedEncryptionFeature) ||
		strings.Contains(msg, "password") || strings.Contains(msg, "encrypt") {
		return fmt.Errorf("%w: %v", ErrEncrypted, err)
	}
	if errors.Is(err, ErrLimit) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

// NumPages is the number of pages.
func (d *Document) NumPages() int { return d.pdf.PageCount }

// SHA256 is the hex SHA-256 of the file's bytes.
func (d *Document) SHA256() string { return hex.EncodeToString(d.sum[:]) }

// Path is the file the document was opened from ("" for OpenBytes).
func (d *Document) Path() string { return d.path }

// Close releases the renderer, if one was opened. The Document must not be used afterwards.
func (d *Document) Close() error {
	d.renderMu.Lock()
	defer d.renderMu.Unlock()
	if d.fz != nil {
		err := d.fz.Close()
		d.fz = nil
		return err
	}
	return nil
}

// Page interprets page n (1-based) and returns its words, lines, images and graphics. A broken
// page fails alone; a page exceeding a limit fails with a *LimitError.
func (d *Document) Page(ctx context.Context, n int) (p *Page, err error) {
	if n < 1 || n > d.NumPages() {
		return nil, fmt.Errorf("page %d of %d: %w", n, d.NumPages(), ErrPageRange)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.panics {
		defer func() {
			if r := recover(); r != nil {
				p, err = nil, fmt.Errorf("page %d: %w: panic: %v", n, ErrCorrupt, r)
			}
		}()
	}
	p, err = d.readPage(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("page %d: %w", n, err)
	}
	return p, nil
}

// deref resolves an indirect reference; broken references become nil. A panic inside
// pdfcpu on a malformed object counts as a broken reference.
func (d *Document) deref(o types.Object) (r types.Object) {
	if o == nil {
		return nil
	}
	if _, ok := o.(types.IndirectRef); !ok {
		return o
	}
	defer func() {
		if recover() != nil {
			r = nil
		}
	}()
	r, err := d.pdf.Dereference(o)
	if err != nil {
		return nil
	}
	return r
}

// decode runs pdfcpu's filter pipeline on sd within the stream limit; pdfcpu panics on
// malformed data become ErrCorrupt.
func (d *Document) decode(sd *types.StreamDict, limit int64, name string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: stream decoder panic: %v", ErrCorrupt, r)
		}
	}()
	budget := d.cfg.limits.MaxDocumentBytes + 64*int64(len(d.data))
	left := budget - d.decoded
	if left <= 0 {
		return &LimitError{Limit: "MaxDocumentBytes", Value: d.decoded, Max: budget}
	}
	docLimit := false
	if left < limit {
		limit, docLimit = left, true
	}
	err = sd.DecodeWithLimit(limit)
	if errors.Is(err, filter.ErrDecodeLimitExceeded) {
		if docLimit {
			d.decoded = budget
			return &LimitError{Limit: "MaxDocumentBytes", Value: budget + 1, Max: budget}
		}
		d.decoded += limit
		return &LimitError{Limit: name, Value: limit + 1, Max: limit}
	}
	d.decoded += int64(len(sd.Content))
	if err != nil {
		return fmt.Errorf("%w: stream: %v", ErrCorrupt, err)
	}
	return nil
}

// pageDict finds page n's dictionary and inherited attributes; pdfcpu panics on a malformed
// page tree become ErrCorrupt.
func (d *Document) pageDict(n int) (pd types.Dict, inh *model.InheritedPageAttrs, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: page tree: %v", ErrCorrupt, r)
		}
	}()
	pd, _, inh, err = d.pdf.PageDict(n, false)
	if err != nil || pd == nil || inh == nil {
		return nil, nil, fmt.Errorf("%w: page dictionary: %v", ErrCorrupt, err)
	}
	return pd, inh, nil
}

func (d *Document) dict(o types.Object) types.Dict {
	switch v := d.deref(o).(type) {
	case types.Dict:
		return v
	case types.StreamDict:
		return v.Dict
	}
	return nil
}

func (d *Document) array(o types.Object) types.Array {
	a, _ := d.deref(o).(types.Array)
	return a
}

func (d *Document) number(o types.Object) (float64, bool) {
	switch v := d.deref(o).(type) {
	case types.Integer:
		return float64(v), true
	case types.Float:
		return float64(v), true
	}
	return 0, false
}

func (d *Document) name(o types.Object) string {
	switch v := d.deref(o).(type) {
	case types.Name:
		return string(v)
	}
	return ""
}

// streamData returns the decoded bytes of a content, form, font or CMap stream, within
// MaxContentBytes (and MaxDocumentBytes).
func (d *Document) streamData(o types.Object) ([]byte, *types.StreamDict, error) {
	if d.cfg.limits.MaxStreamBytes < d.cfg.limits.MaxContentBytes {
		return d.streamDataLimit(o, d.cfg.limits.MaxStreamBytes, "MaxStreamBytes")
	}
	return d.streamDataLimit(o, d.cfg.limits.MaxContentBytes, "MaxContentBytes")
}

// imageData returns the decoded bytes of an image stream, within MaxStreamBytes.
func (d *Document) imageData(o types.Object) ([]byte, *types.StreamDict, error) {
	return d.streamDataLimit(o, d.cfg.limits.MaxStreamBytes, "MaxStreamBytes")
}

func (d *Document) streamDataLimit(o types.Object, limit int64, name string) ([]byte, *types.StreamDict, error) {
	sd, ok := d.deref(o).(types.StreamDict)
	if !ok {
		return nil, nil, fmt.Errorf("%w: not a stream", ErrCorrupt)
	}
	if sd.Content == nil {
		if err := d.decode(&sd, limit, name); err != nil {
			return nil, &sd, err
		}
	}
	if int64(len(sd.Content)) > limit {
		return nil, &sd, &LimitError{Limit: name, Value: int64(len(sd.Content)), Max: limit}
	}
	return sd.Content, &sd, nil
}
