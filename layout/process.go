// Package layout finds figures and tables with their captions in born-digital PDF pages:
// caption openings told apart from body-text mentions by formatting, caption blocks grown over
// their lines, figure regions proposed beside each caption from the page's vector graphics,
// images and figure text, the best non-overlapping set chosen per page, multi-panel figures
// split into sub-figures, and body-text sentences citing each figure attached. ProcessDocument
// turns one PDF into shards.Figure records and rejects; Run does it for many documents and
// writes an output directory. Scanned pages go to an optional hook (Options.Scanned).
package layout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"sort"
	"strconv"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/internal/quality"
	"github.com/eosinlab/eosin/layout/caption"
	"github.com/eosinlab/eosin/shards"
)

// ScannedFunc extracts the figures of a scanned page (one page image, no usable text layer),
// typically with OCR. It returns the page's figures with their image bytes and captions.
type ScannedFunc func(ctx context.Context, doc *extract.Document, page int) ([]shards.Figure, error)

// Options configure ProcessDocument.
type Options struct {
	// DPI is the resolution of rendered crops (default 200).
	DPI int
	// Render crops each figure region to a PNG (Figure.ImageBytes) and keeps the native bytes
	// of single-image figures (Figure.Original). Without it only the records are produced.
	Render bool
	// Tables includes table records (Kind "table"); tables are always detected so that they
	// never pass as figures.
	Tables bool
	// Scanned handles scanned pages; nil means such pages are rejected with reason
	// "scanned_page" and no OCR is tried.
	Scanned ScannedFunc
	// URI names the document in records (default: the path).
	URI string
	// DeferScanned leaves scanned pages alone: no OCR, no reject; their numbers are returned
	// in Result.Scanned so that a later step (e.g. a page-range worker) can run the Scanned
	// hook on them. It takes precedence over Scanned.
	DeferScanned bool
	// Trace, when set, sees every step of the page layout as boxes on the page (see
	// TraceSteps); eval tools draw them.
	Trace TraceFunc
}

// Figure is one extracted figure or table: the record, plus the embedded image's native bytes
// when the figure is exactly one embedded image.
type Figure struct {
	shards.Figure
	// Original holds the native bytes of the single embedded image the figure consists of.
	Original *Original `json:"-"`
}

// Original is an embedded image's native encoding.
type Original struct {
	Ext  string // file extension without the dot: jpg, png, jp2
	Data []byte
}

// Scanned-page detection thresholds.
const (
	// streamPagesMin: documents with more pages than this are laid out streaming (compact
	// lines in memory, pages read again when needed) instead of keeping their pages.
	streamPagesMin = 300
	// scannedImageCover: a page whose largest image covers this share of it, and whose text
	// is absent or invisible, is a scanned page.
	scannedImageCover = 0.7
	// maxIDHex is the length of figure ids in hex digits.
	maxIDHex = 24
)

// Result is what one document gave.
type Result struct {
	Figures []Figure
	Rejects []shards.Reject
	Pages   int    // pages in the document
	SHA256  string // of the document's bytes
	// Doc is the document as figure records name it (sha256, URI, title, DOI).
	Doc shards.Doc
	// Scanned lists the scanned pages left for later (Options.DeferScanned), ascending.
	Scanned []int
}

// ProcessDocument opens the PDF at path and extracts its figures. A document that cannot be
// opened returns an error and a document reject; broken pages become page rejects and the
// other pages are still processed. A document without captions yields no figures and no error.
func ProcessDocument(ctx context.Context, path string, opts Options) ([]Figure, []shards.Reject, error) {
	r, err := ExtractFile(ctx, path, opts)
	return r.Figures, r.Rejects, err
}

// ExtractFile is ProcessDocument returning the whole Result.
func ExtractFile(ctx context.Context, path string, opts Options) (Result, error) {
	if opts.URI == "" {
		opts.URI = path
	}
	var eopts []extract.Option
	if !opts.Render {
		eopts = append(eopts, extract.WithoutImageData())
	}
	doc, err := extract.Open(path, eopts...)
	if err != nil {
		return Result{Rejects: []shards.Reject{{Stage: "extract", Kind: "document", URI: opts.URI, Reason: reasonFor(err), Detail: err.Error()}}}, err
	}
	defer doc.Close()
	return Process(ctx, doc, opts)
}

// reasonFor maps an extract error to a short reject reason.
func reasonFor(err error) string {
	switch {
	case errors.Is(err, extract.ErrEncrypted):
		return "encrypted"
	case errors.Is(err, extract.ErrLimit):
		return extract.LimitReason(err)
	case errors.Is(err, extract.ErrCorrupt):
		return "corrupt"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	return "unreadable"
}

// Process extracts the figures of an open document (see ProcessDocument).
// A panic in a document-wide step becomes the document's reject (reason "panic") and a
// *PanicError; a panic on one page becomes that page's reject and the other pages go on.
func Process(ctx context.Context, doc *extract.Document, opts Options) (r Result, err error) {
	r = Result{Pages: doc.NumPages(), SHA256: doc.SHA256(), Doc: docOf(doc, opts.URI)}
	defer func() {
		if x := recover(); x != nil {
			pe := newPanicError(opts.URI, 0, x)
			r.Figures, r.Scanned, r.Rejects, err = nil, nil, []shards.Reject{pe.reject(r.SHA256)}, pe
		}
	}()
	r.Figures, r.Rejects, r.Scanned, err = process(ctx, doc, opts)
	if err == nil && len(r.Figures) == 0 && len(r.Scanned) == 0 && len(r.Rejects) == 0 {
		// Nothing came of the document and nothing went wrong on a page: one record says so,
		// so that every input is accounted for among the rejects.
		what := "figure"
		if opts.Tables {
			what = "figure or table"
		}
		r.Rejects = []shards.Reject{{Stage: "layout", Kind: "document", URI: opts.URI, DocSHA: r.SHA256, Reason: "no_figures",
			Detail: fmt.Sprintf("no captioned %s in %d pages", what, r.Pages)}}
	}
	return r, err
}

// docOf is the document part of figure records.
func docOf(doc *extract.Document, uri string) shards.Doc {
	md := doc.Metadata()
	return shards.Doc{SHA256: doc.SHA256(), URI: uri, Title: md.Title, DOI: md.DOI}
}

func process(ctx context.Context, doc *extract.Document, opts Options) ([]Figure, []shards.Reject, []int, error) {
	if opts.DPI <= 0 {
		opts.DPI = 200
	}
	sha := doc.SHA256()
	d := docOf(doc, opts.URI)
	var rejects []shards.Reject
	var deferred []int
	var out []Figure
	n := doc.NumPages()
	// Only each page's lines (without their words, see compactLines), painted boxes and
	// size are kept from this first pass; pages are read again when needed (see stubPage).
	zero := newZeroWords()
	// A short document (a paper, most textbooks) keeps its pages: reading every page once is
	// the fast path. A long book keeps only compact lines and reads pages again when needed,
	// so that its memory stays flat.
	streaming := n > streamPagesMin
	pages := make([]*extract.Page, n)
	lines := make([][]tline, n)
	painted := make([][]extract.Rect, n)
	pageWidth := 0.0
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return out, rejects, deferred, err
		}
		p, err := doc.Page(ctx, i+1)
		if err != nil {
			rejects = append(rejects, shards.Reject{Stage: "extract", Kind: "page", URI: opts.URI, DocSHA: sha, Page: i + 1, Reason: reasonFor(err), Detail: err.Error()})
			continue
		}
		if isScanned(p) {
			if opts.DeferScanned {
				deferred = append(deferred, i+1)
				continue
			}
			if opts.Scanned == nil {
				rejects = append(rejects, shards.Reject{Stage: "layout", Kind: "page", URI: opts.URI, DocSHA: sha, Page: i + 1, Reason: "scanned_page", Detail: "page is one image without a visible text layer; no OCR hook configured"})
				continue
			}
			figs, err := opts.Scanned(ctx, doc, i+1)
			if err != nil {
				rejects = append(rejects, shards.Reject{Stage: "ocr", Kind: "page", URI: opts.URI, DocSHA: sha, Page: i + 1, Reason: ocrReason(err), Detail: err.Error()})
				continue
			}
			for _, f := range figs {
				f.Doc = d
				out = append(out, Figure{Figure: f})
			}
			continue
		}
		if err := safely(opts.URI, i+1, func() {
			lines[i] = pageLines(p)
			if streaming {
				lines[i] = zero.compact(lines[i], false)
			}
			painted[i], _ = paintedBoxes(p)
		}); err != nil {
			lines[i], painted[i] = nil, nil
			rejects = append(rejects, err.(*PanicError).reject(sha))
			continue
		}
		pages[i] = p
		if streaming {
			pages[i] = stubPage(p)
		}
		if pageWidth == 0 {
			pageWidth = p.Width
		}
	}
	st := computeStats(lines, pageWidth)
	heights, widths := make([]float64, n), make([]float64, n)
	for i := range lines {
		if pages[i] != nil && streaming {
			// Merging fragments across the column gutter needs the words: the page is read
			// again, and only caption lines keep their words.
			full, err := fullLines(ctx, doc, i+1, nil, st)
			if err != nil {
				rejects = append(rejects, pageReject(opts.URI, sha, i+1, err))
				pages[i], lines[i], painted[i] = nil, nil, nil
				continue
			}
			lines[i] = zero.compact(full, true)
		} else {
			lines[i] = finishLines(lines[i], st.columns)
		}
		if pages[i] != nil {
			heights[i], widths[i] = pages[i].Height, pages[i].Width
		}
	}
	markFurniture(lines, heights, widths)
	furnitureBoxes := furnitureGraphics(painted, heights)
	cands := findCandidates(lines, painted, st)
	byPage := map[int][]candidate{}
	for _, c := range cands {
		byPage[c.page] = append(byPage[c.page], c)
	}
	mentions := mentionIndex{}
	type pending struct {
		fig   Figure
		page  int
		score float64
		key   groupKey
	}
	var found []pending
	reader := pageReader{doc: doc}
	for i, p := range pages {
		if p == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, rejects, deferred, err
		}
		if streaming && (len(byPage[i]) > 0 || opts.Trace != nil) {
			// Captions on this page (or a tracer watching): the whole page is needed again,
			// and its lines with their words.
			full, err := reader.page(ctx, i+1)
			if err == nil {
				lines[i], err = withWords(ctx, doc, full, lines[i], st)
			}
			if err != nil {
				rejects = append(rejects, pageReject(opts.URI, sha, i+1, err))
				pages[i] = nil
				continue
			}
			p = full
		}
		var figs []pageFigure
		var fails []string
		if err := safely(opts.URI, i+1, func() {
			pm := &pageModel{page: p, lines: lines[i], tracer: opts.Trace, furniture: furnitureBoxes[i]}
			figs, fails = layoutPage(pm, byPage[i], st)
			if i+1 < len(lines) && pages[i+1] != nil {
				for k := range figs {
					continueCaption(pm, &figs[k], lines[i+1], st)
				}
			}
			mentions.addText(bodyText(pm, st.columns))
		}); err != nil {
			rejects = append(rejects, err.(*PanicError).reject(sha))
			pages[i] = nil
			continue
		}
		for _, f := range fails {
			rejects = append(rejects, shards.Reject{Stage: "layout", Kind: "figure", URI: opts.URI, DocSHA: sha, Page: i + 1, Reason: "no_region", Detail: f})
		}
		for k, pf := range figs {
			rec := shards.Figure{
				ID:         figureID(sha, i+1, k),
				Kind:       string(pf.kind),
				Doc:        d,
				Page:       i + 1,
				PageSize:   shards.Size{Width: round2(p.Width), Height: round2(p.Height)},
				BBox:       toBox(pf.region),
				CaptionBox: toBox(pf.block.box),
				Label:      pf.block.cand.m.Label,
				Caption:    pf.text,
				SubFigures: pf.panels,
				Quality:    shards.Quality{Flags: pf.flags},
			}
			found = append(found, pending{Figure{Figure: rec}, i, pf.score, groupKey{pf.kind, rec.Label}})
		}
		if streaming || len(figs) == 0 {
			pages[i] = nil // a short document keeps the pages it will crop from
		}
	}
	reader.last = nil
	// A label found twice (a mention that passed the filters and also got a region) keeps the
	// best-scored region.
	best := map[groupKey]int{}
	for i, f := range found {
		if j, ok := best[f.key]; !ok || f.score > found[j].score {
			best[f.key] = i
		}
	}
	crop := cropper{doc: doc, dpi: opts.DPI}
	for i, f := range found {
		if best[f.key] != i {
			rejects = append(rejects, shards.Reject{Stage: "layout", Kind: "figure", URI: opts.URI, DocSHA: sha, Page: f.fig.Page, ID: f.fig.ID, Reason: "duplicate_label", Detail: f.fig.Label})
			continue
		}
		if f.key.kind == caption.Table && !opts.Tables {
			continue
		}
		fig := f.fig
		fig.Mentions = mentions[fig.Label]
		if opts.Render {
			// The page with its image bytes, for the native bytes of single-image figures.
			p, err := pages[f.page], error(nil)
			if p == nil {
				p, err = reader.page(ctx, f.page+1)
			}
			if err != nil {
				rejects = append(rejects, shards.Reject{Stage: "extract", Kind: "page", URI: opts.URI, DocSHA: sha, Page: f.page + 1, Reason: reasonFor(err), Detail: err.Error()})
				continue
			}
			if r := crop.crop(ctx, p, &fig); r != nil {
				rejects = append(rejects, *r)
				continue
			}
		}
		out = append(out, fig)
	}
	// Scanned-page figures were added while reading; keep everything in page order (a stable
	// sort keeps the caption order within a page).
	sort.SliceStable(out, func(i, j int) bool { return out[i].Page < out[j].Page })
	return out, rejects, deferred, nil
}

// cropper renders figure crops page by page, keeping the last rendered page.
type cropper struct {
	doc     *extract.Document
	dpi     int
	page    int
	pageImg image.Image
}

// crop renders fig's region from its page (rendering the page unless it is the last one) and
// fills in the image fields; p is the extracted page (with image data) or nil. A failure is
// returned as the reject that records it.
func (c *cropper) crop(ctx context.Context, p *extract.Page, fig *Figure) *shards.Reject {
	if c.page != fig.Page || c.pageImg == nil {
		img, err := c.doc.Render(ctx, fig.Page, float64(c.dpi), extract.Rect{})
		if err != nil {
			return &shards.Reject{Stage: "layout", Kind: "page", URI: fig.Doc.URI, DocSHA: fig.Doc.SHA256, Page: fig.Page, Reason: renderReason(err), Detail: err.Error()}
		}
		c.page, c.pageImg = fig.Page, img
	}
	if err := renderFigure(c.pageImg, p, fig, c.dpi); err != nil {
		return &shards.Reject{Stage: "layout", Kind: "figure", URI: fig.Doc.URI, DocSHA: fig.Doc.SHA256, Page: fig.Page, ID: fig.ID, Reason: "render_failed", Detail: err.Error()}
	}
	return nil
}

// RenderFigures renders the crops of figures that Process found without rendering
// (Options.Render false), on doc opened with image data: the second half of a build that
// lays out whole documents cheaply and renders page ranges elsewhere. It returns the rendered
// figures in input order and a reject for each one that could not be rendered. The result
// equals what Process with Render gives for the same figures.
func RenderFigures(ctx context.Context, doc *extract.Document, figs []Figure, dpi int) ([]Figure, []shards.Reject, error) {
	if dpi <= 0 {
		dpi = 200
	}
	crop := cropper{doc: doc, dpi: dpi}
	var out []Figure
	var rejects []shards.Reject
	var page *extract.Page
	for _, fig := range figs {
		if err := ctx.Err(); err != nil {
			return out, rejects, err
		}
		if page == nil || page.Number != fig.Page {
			p, err := doc.Page(ctx, fig.Page)
			if err != nil {
				rejects = append(rejects, shards.Reject{Stage: "extract", Kind: "page", URI: fig.Doc.URI, DocSHA: fig.Doc.SHA256, Page: fig.Page, Reason: reasonFor(err), Detail: err.Error()})
				continue
			}
			page = p
		}
		if r := crop.crop(ctx, page, &fig); r != nil {
			rejects = append(rejects, *r)
			continue
		}
		out = append(out, fig)
	}
	return out, rejects, nil
}

// figureID is a stable id: the hash of document sha256, page and index on the page, in hex.
func figureID(sha string, page, index int) string {
	h := sha256.Sum256([]byte(sha + "/" + strconv.Itoa(page) + "/" + strconv.Itoa(index)))
	return hex.EncodeToString(h[:])[:maxIDHex]
}

// isScanned reports a page that is one big image with no visible text.
func isScanned(p *extract.Page) bool {
	area := p.Width * p.Height
	if area <= 0 {
		return false
	}
	visible := 0
	for _, w := range p.Words {
		if !w.Invisible() {
			visible++
		}
	}
	if visible > 3 {
		return false
	}
	for _, im := range p.Images {
		if im.BBox.Intersect(extract.Rect{X1: p.Width, Y1: p.Height}).Area() >= scannedImageCover*area {
			return true
		}
	}
	return false
}

// pageFigure is a figure found on a page before it becomes a record.
type pageFigure struct {
	kind   caption.Kind
	block  captionBlock
	text   string
	region extract.Rect
	prop   proposal
	panels []shards.SubFigure
	flags  []string
	score  float64
}

// layoutPage grows the captions of a page, builds its figure blobs, proposes and assigns
// regions. It returns the figures in caption order and a description of each caption left
// without a region.
func layoutPage(pm *pageModel, cands []candidate, st docStats) ([]pageFigure, []string) {
	starts := map[int]bool{}
	for _, c := range cands {
		starts[c.line] = true
	}
	if len(cands) == 0 {
		markSmallText(pm, st)
		pm.traceAll(nil, nil, nil)
		return nil, nil
	}
	painted, _ := paintedBoxes(pm.page)
	var blocks []captionBlock
	isCaption := map[int]bool{}
	var grown []captionBlock
	inBlock := map[int]int{} // line → index of the block that took it as a continuation
	for _, c := range cands {
		blk := growCaption(pm.lines, c, st, starts, painted)
		for _, l := range blk.lines[1:] {
			inBlock[l] = len(grown)
		}
		grown = append(grown, blk)
	}
	for i, blk := range grown {
		if j, ok := inBlock[blk.lines[0]]; ok && j != i {
			continue // an opening that wrapped into another caption
		}
		blocks = append(blocks, blk)
		for _, l := range blk.lines {
			isCaption[l] = true
			pm.lines[l].role = roleCaption
		}
	}
	capBoxes := make([]extract.Rect, len(blocks))
	for i, b := range blocks {
		capBoxes[i] = b.box
	}
	if continueInFrameColumns(pm, blocks, isCaption, st) {
		for i, b := range blocks {
			capBoxes[i] = b.box
		}
	}
	buildBlobs(pm, st, isCaption, capBoxes)
	if len(blocks) == 0 {
		return nil, nil
	}
	props := make([][]proposal, len(blocks))
	for i, b := range blocks {
		others := append(append([]extract.Rect(nil), capBoxes[:i]...), capBoxes[i+1:]...)
		props[i] = proposals(pm, b, others, st, b.cand.m.Kind)
	}
	props = splitNested(pm, props, blocks, st)
	choice := assign(props, capBoxes)
	var figs []pageFigure
	defer func() { pm.traceAll(blocks, props, figs) }()
	var fails []string
	order := make([]int, len(blocks))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := blocks[order[a]].box, blocks[order[b]].box
		if math.Abs(x.Y0-y.Y0) > 2 {
			return x.Y0 < y.Y0
		}
		return x.X0 < y.X0
	})
	for _, i := range order {
		blk := blocks[i]
		if choice[i] < 0 {
			fails = append(fails, blk.cand.m.Label+": "+truncate(blk.text, 80))
			continue
		}
		p := props[i][choice[i]]
		region := inflate(p.box, 1).Intersect(extract.Rect{X1: pm.page.Width, Y1: pm.page.Height})
		text := captionText(blk)
		f := pageFigure{kind: blk.cand.m.Kind, block: blk, text: text, region: region, prop: p, score: p.score}
		f.panels = splitPanels(pm, p, text, region)
		if region.Width() < 72 || region.Height() < 72 {
			f.flags = append(f.flags, "small")
		}
		if len(caption.Normalize(text)) < 12 {
			f.flags = append(f.flags, "short_caption")
		}
		if p.dir == dirLeft || p.dir == dirRight {
			f.flags = append(f.flags, "side_caption")
		}
		figs = append(figs, f)
	}
	return figs, fails
}

// captionText is the caption without its label and separator.
func captionText(blk captionBlock) string {
	m, ok := caption.MatchLine(blk.text)
	if !ok {
		return blk.text
	}
	return m.Rest
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// pngEncoder favours speed: crops are large and written once.
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed}

// renderFigure crops the figure region from the rendered page to PNG bytes, computes its
// perceptual hash and keeps the native bytes of a single embedded image.
func renderFigure(pageImg image.Image, p *extract.Page, fig *Figure, dpi int) error {
	region := extract.Rect{X0: fig.BBox[0], Y0: fig.BBox[1], X1: fig.BBox[2], Y1: fig.BBox[3]}
	if p != nil && fig.Kind != string(caption.Table) {
		capBox := extract.Rect{X0: fig.CaptionBox[0], Y0: fig.CaptionBox[1], X1: fig.CaptionBox[2], Y1: fig.CaptionBox[3]}
		grown := growOverCutInk(pageImg, region, dpi, inkObstacles(p, region, capBox), extract.Rect{X1: p.Width, Y1: p.Height})
		if grown != region {
			region = grown
			fig.BBox = toBox(region)
			fig.Quality.Flags = append(fig.Quality.Flags, "grown_to_ink")
		}
	}
	s := float64(dpi) / 72
	pb := pageImg.Bounds()
	r := image.Rect(int(region.X0*s), int(region.Y0*s), int(math.Ceil(region.X1*s)), int(math.Ceil(region.Y1*s))).
		Add(pb.Min).Intersect(pb)
	if r.Empty() {
		return fmt.Errorf("page %d: region %v outside the page", fig.Page, region)
	}
	img := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(img, img.Bounds(), pageImg, r.Min, draw.Src)
	var buf bytes.Buffer
	if err := pngEncoder.Encode(&buf, img); err != nil {
		return fmt.Errorf("page %d: encode png: %w", fig.Page, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	fig.ImageBytes = buf.Bytes()
	fig.Image = shards.ImageInfo{Format: "png", Width: r.Dx(), Height: r.Dy(), Source: "rendered", DPI: dpi, SHA256: hex.EncodeToString(sum[:])}
	fig.PHash = quality.FormatHash(quality.NewGrey(img).PHash())
	if blank(img) {
		fig.Quality.Flags = append(fig.Quality.Flags, "blank")
	}
	if p != nil {
		fig.Original = singleImage(p, region)
	}
	return nil
}

// singleImage returns the native bytes of the one embedded image a region consists of: exactly
// one image inside, covering most of the region, no other painted graphics of note.
func singleImage(p *extract.Page, region extract.Rect) *Original {
	var im *extract.Image
	for i := range p.Images {
		b := p.Images[i].BBox
		if b.Intersect(region).Area() > 0.5*b.Area() {
			if im != nil {
				return nil
			}
			im = &p.Images[i]
		}
	}
	if im == nil || im.NeedsRender || len(im.Data) == 0 || im.BBox.Area() < 0.6*region.Area() {
		return nil
	}
	for _, g := range p.Graphics {
		if g.White || g.Background {
			continue
		}
		if g.BBox.Intersect(region).Area() > 0.05*region.Area() && im.BBox.Intersect(g.BBox).Area() < 0.9*g.BBox.Area() {
			return nil
		}
	}
	ext := map[string]string{"jpeg": "jpg", "png": "png", "jp2": "jp2"}[im.Format]
	if ext == "" {
		return nil
	}
	return &Original{Ext: ext, Data: im.Data}
}

// blank reports an image with no visible ink (every sampled pixel near white or transparent).
func blank(img image.Image) bool {
	b := img.Bounds()
	stepX, stepY := max(1, b.Dx()/64), max(1, b.Dy()/64)
	for y := b.Min.Y; y < b.Max.Y; y += stepY {
		for x := b.Min.X; x < b.Max.X; x += stepX {
			r, g, bl, a := img.At(x, y).RGBA()
			if a > 0x1000 && (r < 0xf000 || g < 0xf000 || bl < 0xf000) {
				return false
			}
		}
	}
	return true
}
