// Package ocr runs Tesseract on page images: a pool of engines reused across pages (one engine
// per goroutine at a time), recognition of whole pages or only of given regions, layout
// analysis with block types (text, caption, image, table, separator, …) and orientation
// detection. Recognition goes through gosseract; layout analysis, orientation detection and
// image handling go through a small cgo bridge to the Tesseract and Leptonica C APIs, which
// gosseract does not expose.
package ocr

// #include <stdlib.h>
// #include "bridge.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/otiai10/gosseract/v2"
)

// PSM is Tesseract's page segmentation mode.
type PSM int

// Page segmentation modes (Tesseract's numbering).
const (
	PSMOSDOnly        PSM = 0  // orientation and script detection only
	PSMAutoOSD        PSM = 1  // automatic segmentation with orientation detection
	PSMAutoOnly       PSM = 2  // automatic segmentation, no recognition
	PSMAuto           PSM = 3  // fully automatic segmentation (the default)
	PSMSingleColumn   PSM = 4  // one column of text of variable sizes
	PSMSingleBlockVer PSM = 5  // one uniform block of vertical text
	PSMSingleBlock    PSM = 6  // one uniform block of text
	PSMSingleLine     PSM = 7  // one text line
	PSMSingleWord     PSM = 8  // one word
	PSMSparseText     PSM = 11 // as much text as possible, in no order
	PSMRawLine        PSM = 13 // one text line, bypassing Tesseract's hacks
)

// Config configures a Pool.
type Config struct {
	// Languages to recognise, e.g. ["eng"] (default) or ["eng", "deu"].
	Languages []string
	// TessdataPrefix is the directory holding the *.traineddata files; empty uses Tesseract's
	// default (TESSDATA_PREFIX or the compiled-in path).
	TessdataPrefix string
	// Size is the number of engines (default 1). Use one per worker goroutine.
	Size int
	// Variables are extra Tesseract parameters set on every recognition engine.
	Variables map[string]string
	// NoOSD disables orientation detection (it needs osd.traineddata).
	NoOSD bool
}

// Pool hands out engines; an engine is used by one goroutine at a time and reused.
type Pool struct {
	cfg    Config
	idle   chan *Engine
	slots  chan struct{} // one token per engine that may still be created
	mu     sync.Mutex
	all    []*Engine
	closed bool
}

// NewPool checks the configuration and returns a pool. Engines start lazily, on first use.
// Before the first engine starts it makes sure OMP_THREAD_LIMIT is set (see ThreadLimit).
func NewPool(cfg Config) (*Pool, error) {
	if len(cfg.Languages) == 0 {
		cfg.Languages = []string{"eng"}
	}
	if cfg.Size <= 0 {
		cfg.Size = 1
	}
	if err := checkLanguages(cfg); err != nil {
		return nil, err
	}
	limitThreads()
	p := &Pool{cfg: cfg, idle: make(chan *Engine, cfg.Size), slots: make(chan struct{}, cfg.Size)}
	for range cfg.Size {
		p.slots <- struct{}{}
	}
	return p, nil
}

// tessdataDir returns the directory that holds the models.
func tessdataDir(cfg Config) string {
	if cfg.TessdataPrefix != "" {
		return cfg.TessdataPrefix
	}
	if env := os.Getenv("TESSDATA_PREFIX"); env != "" {
		return env
	}
	return C.GoString(C.eo_default_datapath())
}

func checkLanguages(cfg Config) error {
	dir := tessdataDir(cfg)
	for _, l := range cfg.Languages {
		if l == "" || strings.ContainsAny(l, "/+") {
			return fmt.Errorf("ocr: bad language name %q", l)
		}
		if _, err := os.Stat(filepath.Join(dir, l+".traineddata")); err != nil {
			return fmt.Errorf("ocr: language %q not installed in %s (apt-get install tesseract-ocr-%s, or set the tessdata path): %w", l, dir, l, err)
		}
	}
	return nil
}

// limitThreads warns when Tesseract's OpenMP may use more than one thread (see threads.go).
func limitThreads() {
	if n := ThreadLimit(); n > 1 {
		slog.Warn("ocr: Tesseract may use several OpenMP threads per engine, which is slow on small machines; start the program with OMP_THREAD_LIMIT=1 in its environment",
			"omp_thread_limit", n)
	}
}

// ThreadLimit reports the OpenMP thread limit Tesseract runs under (0 when it was built
// without OpenMP). OpenMP reads OMP_THREAD_LIMIT when the process starts, so the package
// restarts a process that lacks it (see the package's init in threads.go).
func ThreadLimit() int { return int(C.eo_thread_limit()) }

// Do runs f with an engine of the pool, waiting for one to be free.
func (p *Pool) Do(ctx context.Context, f func(*Engine) error) error {
	e, err := p.get(ctx)
	if err != nil {
		return err
	}
	defer p.put(e)
	return f(e)
}

func (p *Pool) get(ctx context.Context) (*Engine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case e := <-p.idle:
		return e, nil
	default:
	}
	select {
	case e := <-p.idle:
		return e, nil
	case <-p.slots:
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return nil, errors.New("ocr: pool is closed")
		}
		e, err := newEngine(p.cfg)
		if err != nil {
			p.slots <- struct{}{}
			return nil, err
		}
		p.mu.Lock()
		p.all = append(p.all, e)
		p.mu.Unlock()
		return e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Pool) put(e *Engine) { p.idle <- e }

// Close ends every engine. Call it when no Do is running.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	for _, e := range p.all {
		errs = append(errs, e.close())
	}
	p.all = nil
	return errors.Join(errs...)
}

// Engine is one Tesseract instance for recognition (through gosseract) plus one for layout
// analysis and orientation detection (through the C bridge). It is not safe for concurrent use.
type Engine struct {
	cfg    Config
	client *gosseract.Client
	an     *C.eo_analyser
	hasOSD bool
}

func newEngine(cfg Config) (*Engine, error) {
	c := gosseract.NewClient()
	if err := c.SetLanguage(cfg.Languages...); err != nil {
		c.Close()
		return nil, fmt.Errorf("ocr: %w", err)
	}
	if cfg.TessdataPrefix != "" {
		if err := c.SetTessdataPrefix(cfg.TessdataPrefix); err != nil {
			c.Close()
			return nil, fmt.Errorf("ocr: %w", err)
		}
	}
	_ = c.DisableOutput()
	for k, v := range cfg.Variables {
		_ = c.SetVariable(gosseract.SettableVariable(k), v)
	}
	// gosseract initialises Tesseract lazily, on the first recognition, and Tesseract's Init
	// resets the page segmentation mode; initialise now so that the mode of every call holds.
	if err := c.SetImageFromBytes(blankPBM); err != nil {
		c.Close()
		return nil, fmt.Errorf("ocr: %w", err)
	}
	if _, err := c.Text(); err != nil {
		c.Close()
		return nil, fmt.Errorf("ocr: start Tesseract (languages %v): %w", cfg.Languages, err)
	}
	e := &Engine{cfg: cfg, client: c}
	var dp *C.char
	if cfg.TessdataPrefix != "" {
		dp = C.CString(cfg.TessdataPrefix)
		defer C.free(unsafe.Pointer(dp))
	}
	var hasOSD C.int
	var errbuf [256]C.char
	want := C.int(1)
	if cfg.NoOSD {
		want = 0
	}
	e.an = C.eo_analyser_new(dp, want, &hasOSD, &errbuf[0], C.int(len(errbuf)))
	if e.an == nil {
		c.Close()
		return nil, fmt.Errorf("ocr: layout engine: %s", C.GoString(&errbuf[0]))
	}
	e.hasOSD = hasOSD != 0
	return e, nil
}

// blankPBM is an 8×8 white image.
var blankPBM = append([]byte("P4\n8 8\n"), make([]byte, 8)...)

func (e *Engine) close() error {
	C.eo_analyser_free(e.an)
	e.an = nil
	return e.client.Close()
}

// Recognize reads the text of the whole image with the given segmentation mode. With layout,
// the page's non-text blocks (images, separators) are added from layout analysis and text
// blocks take its finer types (table, equation, vertical text) where boxes agree.
func (e *Engine) Recognize(ctx context.Context, img *Image, psm PSM, layout bool) (*Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := e.recognize(img, psm)
	if err != nil {
		return nil, err
	}
	if layout {
		lp, err := e.Layout(ctx, img, psm)
		if err != nil {
			return nil, err
		}
		mergeLayout(p, lp)
	}
	return p, nil
}

// RecognizeRegions reads only the given rectangles of the image (e.g. caption candidates),
// each as one page segmented with psm; boxes in the results are in image coordinates.
// A region outside the image gives an empty page.
func (e *Engine) RecognizeRegions(ctx context.Context, img *Image, regions []image.Rectangle, psm PSM) ([]*Page, error) {
	out := make([]*Page, len(regions))
	const border = 10
	for i, r := range regions {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r = r.Intersect(img.Bounds())
		if r.Dx() < 4 || r.Dy() < 4 {
			out[i] = &Page{Width: r.Dx(), Height: r.Dy()}
			continue
		}
		c, err := img.Crop(r, border)
		if err != nil {
			return nil, fmt.Errorf("region %d %v: %w", i, r, err)
		}
		p, err := e.recognize(c, psm)
		c.Close()
		if err != nil {
			return nil, fmt.Errorf("region %d %v: %w", i, r, err)
		}
		p.translate(r.Min.Sub(image.Pt(border, border)))
		p.Width, p.Height = r.Dx(), r.Dy()
		out[i] = p
	}
	return out, nil
}

func (e *Engine) recognize(img *Image, psm PSM) (*Page, error) {
	// PNM keeps the pixels exactly and is the cheapest form to hand over.
	data, err := img.Encode(PNM)
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	dpi := img.DPI()
	if dpi <= 0 {
		dpi = 300
	}
	if err := e.client.SetVariable("user_defined_dpi", strconv.Itoa(dpi)); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	if err := e.client.SetImageFromBytes(data); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	if err := e.client.SetPageSegMode(gosseract.PageSegMode(psm)); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	h, err := e.client.HOCRText()
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	p, err := ParseHOCR(strings.NewReader(h))
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	p.Width, p.Height = img.Bounds().Dx(), img.Bounds().Dy()
	return p, nil
}

// Layout runs Tesseract's layout analysis only (no recognition): blocks with their types and
// the boxes of their text lines. It is much faster than Recognize.
func (e *Engine) Layout(ctx context.Context, img *Image, psm PSM) (*Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &Page{Width: img.Bounds().Dx(), Height: img.Bounds().Dy()}
	err := img.use(func(pix *C.eo_pix) error {
		var recs *C.eo_layout_rec
		n := int(C.eo_layout(e.an, pix, C.int(psm), &recs))
		if n < 0 {
			return errors.New("ocr: layout analysis failed")
		}
		if recs == nil {
			return nil
		}
		defer C.eo_free(unsafe.Pointer(recs))
		for _, r := range unsafe.Slice(recs, n) {
			bbox := image.Rect(int(r.bl), int(r.bt), int(r.br), int(r.bb))
			if r.block_start != 0 || len(p.Blocks) == 0 {
				p.Blocks = append(p.Blocks, Block{Type: BlockType(r.block_type), Box: bbox})
			}
			b := &p.Blocks[len(p.Blocks)-1]
			if r.has_line != 0 && BlockType(r.block_type).IsText() {
				b.Lines = append(b.Lines, Line{Box: image.Rect(int(r.ll), int(r.lt), int(r.lr), int(r.lb))})
			}
		}
		return nil
	})
	return p, err
}

// mergeLayout completes p (from hOCR) with the layout analysis lp of the same image: hOCR
// already has the image and separator blocks but not their finer types, nor tables,
// equations or vertical text. Blocks are matched by box overlap.
func mergeLayout(p, lp *Page) {
	for _, lb := range lp.Blocks {
		if lb.Type == BlockText {
			continue
		}
		found := false
		for i := range p.Blocks {
			b := &p.Blocks[i]
			if b.Type.IsText() != lb.Type.IsText() || iou(b.Box, lb.Box) < 0.5 {
				continue
			}
			found = true
			if b.Type == BlockText || !b.Type.IsText() {
				b.Type = lb.Type
			}
		}
		if !found && !lb.Type.IsText() {
			p.Blocks = append(p.Blocks, Block{Type: lb.Type, Box: lb.Box})
		}
	}
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	return ia / (float64(a.Dx()*a.Dy()) + float64(b.Dx()*b.Dy()) - ia)
}

// Orientation is the result of orientation detection.
type Orientation struct {
	// Rotate is the clockwise rotation in degrees (0, 90, 180 or 270) that turns the image
	// upright.
	Rotate     int     `json:"rotate"`
	Confidence float64 `json:"confidence"`
	Script     string  `json:"script,omitempty"`
	ScriptConf float64 `json:"script_confidence,omitempty"`
}

// ErrNoOSD is returned when orientation detection is unavailable (osd.traineddata missing or
// disabled).
var ErrNoOSD = errors.New("orientation detection unavailable (osd.traineddata)")

// DetectOrientation finds how the page is turned. Pages with too little text give an error.
func (e *Engine) DetectOrientation(ctx context.Context, img *Image) (Orientation, error) {
	if err := ctx.Err(); err != nil {
		return Orientation{}, err
	}
	if !e.hasOSD {
		return Orientation{}, ErrNoOSD
	}
	var o Orientation
	err := img.use(func(pix *C.eo_pix) error {
		var deg C.int
		var oc, sc C.float
		var script [64]C.char
		rc := C.eo_osd(e.an, pix, &deg, &oc, &script[0], C.int(len(script)), &sc)
		if rc != 0 {
			return errors.New("ocr: orientation detection failed (too little text?)")
		}
		o = Orientation{Rotate: osdRotation(int(deg)), Confidence: float64(oc),
			Script: C.GoString(&script[0]), ScriptConf: float64(sc)}
		return nil
	})
	return o, err
}

// Upright detects the orientation and returns the image turned upright (the same image when
// it already is, or when detection is unsure: confidence below minConf).
func (e *Engine) Upright(ctx context.Context, img *Image, minConf float64) (*Image, Orientation, error) {
	o, err := e.DetectOrientation(ctx, img)
	if err != nil {
		return img, o, err
	}
	if o.Rotate == 0 || o.Confidence < minConf {
		return img, o, nil
	}
	r, err := img.Rotate(o.Rotate / 90)
	if err != nil {
		return img, o, err
	}
	return r, o, nil
}

// osdRotation converts Tesseract's orientation (the clockwise angle by which the page content
// is turned) into the clockwise rotation that undoes it.
func osdRotation(deg int) int {
	return ((360-deg)%360 + 360) % 360
}
