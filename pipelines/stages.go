package pipelines

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for figure images
	_ "image/png"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/internal/quality"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

// Counter names (namespace "eosin"). The progress line and the summary read them.
const (
	metricNS         = "eosin"
	cDocsFound       = "docs_found"
	cDocsSkipped     = "docs_skipped"
	cDocsDuplicate   = "docs_duplicate"
	cDocsProcessed   = "docs_processed"
	cDocsRejected    = "docs_rejected"
	cPagesDone       = "pages_done"
	cPagesRejected   = "pages_rejected"
	cFiguresFound    = "figures_found"
	cFiguresFiltered = "figures_filtered"
	cFiguresDup      = "figures_duplicate"
	cFiguresKept     = "figures_kept"
	cRejects         = "rejects"
	cBytesRead       = "bytes_read"
	cRangesQueued    = "ranges_queued" // page ranges the layout step handed to rendering/OCR
	cRangesDone      = "ranges_done"
	cDocsResumed     = "docs_resumed"   // documents whose layout came from the staging of a killed build
	cRangesResumed   = "ranges_resumed" // page ranges whose rendering came from staging
)

var (
	mDocsFound       = beam.NewCounter(metricNS, cDocsFound)
	mDocsSkipped     = beam.NewCounter(metricNS, cDocsSkipped)
	mDocsDuplicate   = beam.NewCounter(metricNS, cDocsDuplicate)
	mDocsProcessed   = beam.NewCounter(metricNS, cDocsProcessed)
	mDocsRejected    = beam.NewCounter(metricNS, cDocsRejected)
	mPagesDone       = beam.NewCounter(metricNS, cPagesDone)
	mPagesRejected   = beam.NewCounter(metricNS, cPagesRejected)
	mFiguresFound    = beam.NewCounter(metricNS, cFiguresFound)
	mFiguresFiltered = beam.NewCounter(metricNS, cFiguresFiltered)
	mFiguresDup      = beam.NewCounter(metricNS, cFiguresDup)
	mFiguresKept     = beam.NewCounter(metricNS, cFiguresKept)
	mRejects         = beam.NewCounter(metricNS, cRejects)
	mBytesRead       = beam.NewCounter(metricNS, cBytesRead)
	mRangesQueued    = beam.NewCounter(metricNS, cRangesQueued)
	mRangesDone      = beam.NewCounter(metricNS, cRangesDone)
	mDocsResumed     = beam.NewCounter(metricNS, cDocsResumed)
	mRangesResumed   = beam.NewCounter(metricNS, cRangesResumed)
)

func init() {
	register.DoFn3x1[context.Context, string, func(docRef), error](&matchFn{})
	register.DoFn4x0[context.Context, docRef, func(string, docItem), func(shards.Reject)](&fingerprintFn{})
	register.DoFn7x0[context.Context, string, func(*docItem) bool, func(*bool) bool, func(workItem), func(shards.Reject), func([]byte)](&pickDocFn{})
	register.DoFn6x1[context.Context, workItem, func(rangeItem), func(shards.Reject), func(docResult), func(figItem), error](&layoutFn{})
	register.DoFn5x1[context.Context, rangeItem, func(figItem), func(shards.Reject), func(rangeResult), error](&renderFn{})
	register.DoFn5x0[context.Context, figItem, func(figItem), func(dedupItem), func(shards.Reject)](&filterFn{})
	register.DoFn5x0[context.Context, int, func(*dedupItem) bool, func(string, decision), func([]byte)](&dedupFn{})
	register.DoFn6x0[context.Context, string, func(*figItem) bool, func(*decision) bool, func(figItem), func(shards.Reject)](&joinFn{})
	register.Function1x2(idOfFig)
	register.Function1x1(reprocessMarker)
	register.Function1x2(shaKey)
	register.Emitter1[docRef]()
	register.Emitter1[string]()
	register.Emitter2[string, docItem]()
	register.Emitter2[string, decision]()
	register.Emitter1[shards.Reject]()
	register.Emitter1[workItem]()
	register.Emitter1[figItem]()
	register.Emitter1[dedupItem]()
	register.Emitter1[docResult]()
	register.Emitter1[rangeItem]()
	register.Emitter1[rangeResult]()
	register.Emitter1[[]byte]()
	register.Iter1[docItem]()
	register.Iter1[bool]()
	register.Iter1[dedupItem]()
	register.Iter1[figItem]()
	register.Iter1[decision]()
}

// reprocessMarker announces to dedup that a document is being processed.
func reprocessMarker(w workItem) dedupItem { return dedupItem{Doc: w.SHA256, Marker: true} }

// idOfFig keys a figure by its ID.
func idOfFig(f figItem) (string, figItem) { return f.ID, f }

// shaKey is the identity on strings, as a named function for registration.
func shaKey(s string) (string, bool) { return s, true }

// matchFn expands one input (file, directory, glob, s3:// prefix) into document URIs.
type matchFn struct {
	S3     S3Settings `json:"s3"`
	stores *stores
}

func (f *matchFn) Setup()    { f.stores = newStores(f.S3) }
func (f *matchFn) Teardown() { f.stores.close() }

func (f *matchFn) ProcessElement(ctx context.Context, input string, emit func(docRef)) error {
	refs, err := f.stores.match(ctx, input)
	if err != nil {
		return fmt.Errorf("match %s: %w", input, err)
	}
	for _, r := range refs {
		mDocsFound.Inc(ctx, 1)
		emit(r)
	}
	return nil
}

// fingerprintFn computes a document's sha256 (streaming; the bytes stay on the worker).
type fingerprintFn struct {
	S3     S3Settings `json:"s3"`
	stores *stores
}

func (f *fingerprintFn) Setup()    { f.stores = newStores(f.S3) }
func (f *fingerprintFn) Teardown() { f.stores.close() }

func (f *fingerprintFn) ProcessElement(ctx context.Context, d docRef, emit func(string, docItem), reject func(shards.Reject)) {
	if d.Package {
		sum, size, err := fingerprintPackage(ctx, f.stores, d.URI)
		if err != nil {
			mDocsRejected.Inc(ctx, 1)
			reject(shards.Reject{Stage: "ingest", Kind: "document", URI: d.URI, Reason: packageReason(err), Detail: err.Error()})
			return
		}
		emit(sum, docItem{URI: d.URI, SHA256: sum, Size: size, Package: true})
		return
	}
	sum, size, err := f.stores.fingerprint(ctx, d.URI)
	if err != nil {
		mDocsRejected.Inc(ctx, 1)
		reject(shards.Reject{Stage: "ingest", Kind: "document", URI: d.URI, Reason: "unreadable", Detail: err.Error()})
		return
	}
	emit(sum, docItem{URI: d.URI, SHA256: sum, Size: size})
}

// pickDocFn sees every copy of one document (by sha256) together with whether an earlier
// version already holds it: done documents are skipped, copies beyond the first (smallest
// URI, article packages before plain PDFs: the XML states the captions) are rejected as
// duplicates, the rest becomes work.
type pickDocFn struct{}

func (f *pickDocFn) ProcessElement(ctx context.Context, sha string, copies func(*docItem) bool, done func(*bool) bool, emit func(workItem), reject func(shards.Reject), part func([]byte)) {
	var items []docItem
	var d docItem
	for copies(&d) {
		items = append(items, d)
	}
	if len(items) == 0 {
		return // committed earlier, not among this build's inputs
	}
	slices.SortFunc(items, func(a, b docItem) int {
		if a.Package != b.Package {
			if a.Package {
				return -1
			}
			return 1
		}
		return strings.Compare(a.URI, b.URI)
	})
	var b bool
	isDone := false
	for done(&b) {
		isDone = true
	}
	if isDone {
		mDocsSkipped.Inc(ctx, int64(len(items)))
		b, _ := json.Marshal(commitPart{Skipped: len(items)})
		part(b)
		return
	}
	if len(items) > 1 {
		b, _ := json.Marshal(commitPart{Duplicates: len(items) - 1})
		part(b)
	}
	for _, dup := range items[1:] {
		mDocsDuplicate.Inc(ctx, 1)
		reject(shards.Reject{Stage: "ingest", Kind: "document", URI: dup.URI, DocSHA: sha, Reason: "duplicate_document", Detail: "same sha256 as " + items[0].URI})
	}
	emit(workItem{URI: items[0].URI, SHA256: sha, Package: items[0].Package})
}

// layoutFn lays one document out: it reads the document on the worker (without image data),
// finds its figures with extract + layout, and cuts the pages that need rendering or OCR into
// page ranges of at most PagesPerRange such pages. Pages without figures need no more work.
// An article package is processed whole here (packageDocument): its figures, images
// included, leave on the figure output.
type layoutFn struct {
	S3            S3Settings `json:"s3"`
	OCR           bool       `json:"ocr"`
	PagesPerRange int        `json:"pages_per_range"`
	DPI           int        `json:"dpi"`
	Stage         stage      `json:"stage"`
	stores        *stores
}

func (f *layoutFn) Setup() { f.stores = newStores(f.S3) }
func (f *layoutFn) Teardown() {
	f.stores.close()
	f.Stage.close()
}

func (f *layoutFn) ProcessElement(ctx context.Context, w workItem, emit func(rangeItem), reject func(shards.Reject), result func(docResult), figure func(figItem)) (err error) {
	defer recoverDocument(ctx, w, reject, result, &err)
	var res docResult
	if w.Package {
		key := f.Stage.packageKey(w.SHA256)
		var sp stagedPackage
		if f.Stage.load(ctx, key, &sp) {
			resumePackage(ctx, sp, figure, reject)
			result(sp.Result)
			return nil
		}
		res, err = packageDocument(ctx, f.stores, w, f.DPI,
			func(it figItem) { sp.Figures = append(sp.Figures, it); figure(it) },
			func(r shards.Reject) { sp.Rejects = append(sp.Rejects, r); reject(r) })
		if err == nil {
			sp.Result = res
			f.Stage.save(ctx, key, sp)
		}
	} else {
		key := f.Stage.layoutKey(w.SHA256)
		var sl stagedLayout
		if f.Stage.load(ctx, key, &sl) {
			resumeLayout(ctx, sl, emit, reject)
			result(sl.Result)
			return nil
		}
		res, err = layoutDocument(ctx, f.stores, w, f.OCR, f.PagesPerRange,
			func(r rangeItem) { sl.Ranges = append(sl.Ranges, r); emit(r) },
			func(r shards.Reject) { sl.Rejects = append(sl.Rejects, r); reject(r) })
		if err == nil {
			sl.Result = res
			f.Stage.save(ctx, key, sl)
		}
	}
	if err != nil {
		return err
	}
	result(res)
	return nil
}

// renderFn does the expensive half of a page range: it renders the figure crops (keeping the
// native bytes of single embedded images) and finds the figures of scanned pages with OCR.
type renderFn struct {
	S3           S3Settings `json:"s3"`
	DPI          int        `json:"dpi"`
	OCRLanguages string     `json:"ocr_languages"`
	Stage        stage      `json:"stage"`
	stores       *stores
	scanned      *scannedPages
}

func (f *renderFn) Setup() {
	f.stores = newStores(f.S3)
	f.scanned = newScannedPages(f.OCRLanguages, f.DPI)
}

func (f *renderFn) Teardown() {
	f.stores.close()
	f.scanned.close()
	f.Stage.close()
}

func (f *renderFn) ProcessElement(ctx context.Context, r rangeItem, emit func(figItem), reject func(shards.Reject), result func(rangeResult)) (err error) {
	defer mRangesDone.Inc(ctx, 1)
	defer recoverRange(ctx, r, reject, result, &err)
	key := f.Stage.rangeKey(r.SHA256, r.First, r.Last)
	var sr stagedRange
	if f.Stage.load(ctx, key, &sr) {
		resumeRange(ctx, sr, emit, reject)
		result(sr.Result)
		return nil
	}
	res, err := renderRange(ctx, f.stores, r, f.DPI, f.scanned,
		func(it figItem) { sr.Figures = append(sr.Figures, it); emit(it) },
		func(x shards.Reject) { sr.Rejects = append(sr.Rejects, x); reject(x) })
	if err != nil {
		return err
	}
	sr.Result = res
	f.Stage.save(ctx, key, sr)
	result(res)
	return nil
}

// rejectReason maps an extract error to a reject reason.
func rejectReason(err error) string {
	switch {
	case errors.Is(err, extract.ErrEncrypted):
		return "encrypted"
	case errors.Is(err, extract.ErrLimit):
		return extract.LimitReason(err)
	case errors.Is(err, extract.ErrCorrupt):
		return "corrupt"
	}
	return "unreadable"
}

// openDocument reads a document on the worker, checks that it is still the fingerprinted one
// and opens it. A failure is returned as the document's reject.
func openDocument(ctx context.Context, st *stores, uri, sha string, opts ...extract.Option) (*extract.Document, *shards.Reject) {
	data, err := st.readAll(ctx, uri)
	if err != nil {
		return nil, &shards.Reject{Stage: "ingest", Kind: "document", URI: uri, DocSHA: sha, Reason: "unreadable", Detail: err.Error()}
	}
	mBytesRead.Inc(ctx, int64(len(data)))
	if got := sha256.Sum256(data); hex.EncodeToString(got[:]) != sha {
		return nil, &shards.Reject{Stage: "ingest", Kind: "document", URI: uri, DocSHA: sha, Reason: "changed", Detail: "the file changed between fingerprinting and extraction"}
	}
	doc, err := extract.OpenBytes(data, opts...)
	if err != nil {
		return nil, &shards.Reject{Stage: "extract", Kind: "document", URI: uri, DocSHA: sha, Reason: rejectReason(err), Detail: err.Error()}
	}
	return doc, nil
}

// countRejects wraps reject for the rejects of one document: each is counted, gets the
// document's sha256 when it has none, and a rejected page also adds to *pagesBad.
func countRejects(ctx context.Context, sha string, pagesBad *int, reject func(shards.Reject)) func(shards.Reject) {
	return func(r shards.Reject) {
		mRejects.Inc(ctx, 1)
		if r.DocSHA == "" {
			r.DocSHA = sha
		}
		if r.Kind == "page" {
			*pagesBad++
			mPagesRejected.Inc(ctx, 1)
		}
		reject(r)
	}
}

// layoutDocument is the body of layoutFn.
func layoutDocument(ctx context.Context, st *stores, w workItem, ocr bool, perRange int, emit func(rangeItem), reject func(shards.Reject)) (docResult, error) {
	res := docResult{SHA256: w.SHA256, URI: w.URI, Status: "ok"}
	rej := countRejects(ctx, w.SHA256, &res.PagesBad, reject)
	doc, r := openDocument(ctx, st, w.URI, w.SHA256, extract.WithoutImageData())
	if r != nil {
		res.Status = "rejected"
		mDocsRejected.Inc(ctx, 1)
		rej(*r)
		return res, nil
	}
	defer doc.Close()
	res.Pages = doc.NumPages()
	// Tables are always detected and emitted so that the table filter counts them. Scanned
	// pages wait for the page-range step when OCR is on; without it layout rejects them.
	lr, err := layout.Process(ctx, doc, layout.Options{Tables: true, URI: w.URI, DeferScanned: ocr})
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("%s: %w", w.URI, err)
		}
		res.Status = "rejected"
		mDocsRejected.Inc(ctx, 1)
		var pe *layout.PanicError
		if !errors.As(err, &pe) { // a recovered panic is already among lr.Rejects
			rej(shards.Reject{Stage: "layout", Kind: "document", URI: w.URI, DocSHA: w.SHA256, Reason: "layout_failed", Detail: err.Error()})
		}
	}
	for _, r := range lr.Rejects {
		rej(r)
	}
	mPagesDone.Inc(ctx, int64(res.Pages))
	mDocsProcessed.Inc(ctx, 1)
	ranges, err := pageRanges(w, lr, perRange)
	if err != nil {
		return res, err
	}
	for _, r := range ranges {
		// A document whose only work is OCR: a range that finds nothing says so (see renderRange).
		r.OnlyScanned = len(lr.Figures) == 0 && len(lr.Rejects) == 0
		mRangesQueued.Inc(ctx, 1)
		emit(r)
	}
	return res, nil
}

// pageRanges cuts the pages of a laid-out document that need rendering (pages with figures)
// or OCR (scanned pages) into ranges of at most perRange such pages, in page order.
func pageRanges(w workItem, lr layout.Result, perRange int) ([]rangeItem, error) {
	perRange = max(perRange, 1)
	type pageWork struct {
		figs    [][]byte
		scanned bool
	}
	work := map[int]*pageWork{}
	at := func(p int) *pageWork {
		if work[p] == nil {
			work[p] = &pageWork{}
		}
		return work[p]
	}
	for _, fg := range lr.Figures {
		rec, err := json.Marshal(fg.Figure)
		if err != nil {
			return nil, fmt.Errorf("%s page %d: figure %s: %w", w.URI, fg.Page, fg.ID, err)
		}
		at(fg.Page).figs = append(at(fg.Page).figs, rec)
	}
	for _, p := range lr.Scanned {
		at(p).scanned = true
	}
	pages := make([]int, 0, len(work))
	for p := range work {
		pages = append(pages, p)
	}
	slices.Sort(pages)
	var out []rangeItem
	for len(pages) > 0 {
		n := min(perRange, len(pages))
		r := rangeItem{URI: w.URI, SHA256: w.SHA256, First: pages[0], Last: pages[n-1], Doc: lr.Doc}
		for _, p := range pages[:n] {
			r.Figures = append(r.Figures, work[p].figs...)
			if work[p].scanned {
				r.Scanned = append(r.Scanned, p)
			}
		}
		out = append(out, r)
		pages = pages[n:]
	}
	return out, nil
}

// renderRange is the body of renderFn.
func renderRange(ctx context.Context, st *stores, r rangeItem, dpi int, sp *scannedPages, emit func(figItem), reject func(shards.Reject)) (rangeResult, error) {
	var res rangeResult
	rej := countRejects(ctx, r.SHA256, &res.PagesBad, reject)
	doc, x := openDocument(ctx, st, r.URI, r.SHA256)
	if x != nil {
		// The layout step read this document a moment ago: the whole range fails, page by page.
		for _, p := range rangePages(r) {
			rej(shards.Reject{Stage: x.Stage, Kind: "page", URI: r.URI, DocSHA: r.SHA256, Page: p, Reason: x.Reason, Detail: x.Detail})
		}
		return res, nil
	}
	defer doc.Close()
	figs := make([]layout.Figure, 0, len(r.Figures))
	for _, rec := range r.Figures {
		var f layout.Figure
		if err := json.Unmarshal(rec, &f.Figure); err != nil {
			return res, fmt.Errorf("%s pages %d-%d: figure record: %w", r.URI, r.First, r.Last, err)
		}
		figs = append(figs, f)
	}
	rendered, rejects, err := layout.RenderFigures(ctx, doc, figs, dpi)
	if err != nil {
		return res, fmt.Errorf("%s pages %d-%d: %w", r.URI, r.First, r.Last, err)
	}
	for _, x := range rejects {
		rej(x)
	}
	for _, p := range r.Scanned {
		found, err := sp.figures(ctx, doc, p)
		if err != nil {
			if ctx.Err() != nil {
				return res, fmt.Errorf("%s page %d: %w", r.URI, p, err)
			}
			rej(shards.Reject{Stage: "ocr", Kind: "page", URI: r.URI, DocSHA: r.SHA256, Page: p, Reason: reasonOr(err, "ocr_failed"), Detail: err.Error()})
			continue
		}
		for _, f := range found {
			f.Doc = r.Doc
			rendered = append(rendered, layout.Figure{Figure: f})
		}
	}
	if r.OnlyScanned && len(rendered) == 0 && res.PagesBad == 0 {
		rej(shards.Reject{Stage: "ocr", Kind: "document", URI: r.URI, DocSHA: r.SHA256, Page: r.First, Reason: "no_figures",
			Detail: fmt.Sprintf("scanned pages %d-%d: OCR found no captioned figure", r.First, r.Last)})
	}
	for _, fg := range rendered {
		fg.Source = articles.SourceOf(fg.Figure)
		rec, err := json.Marshal(fg.Figure)
		if err != nil {
			return res, fmt.Errorf("%s page %d: figure %s: %w", r.URI, fg.Page, fg.ID, err)
		}
		it := figItem{ID: fg.ID, Record: rec, Image: fg.ImageBytes}
		if fg.Original != nil {
			it.OrigExt, it.Orig = fg.Original.Ext, fg.Original.Data
		}
		res.Figures++
		mFiguresFound.Inc(ctx, 1)
		emit(it)
	}
	return res, nil
}

// rangePages lists the pages of a range that had work: figure pages and scanned pages.
func rangePages(r rangeItem) []int {
	seen := map[int]bool{}
	var out []int
	for _, rec := range r.Figures {
		var f struct{ Page int }
		if json.Unmarshal(rec, &f) == nil && !seen[f.Page] {
			seen[f.Page] = true
			out = append(out, f.Page)
		}
	}
	for _, p := range r.Scanned {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// filterFn applies the quality filters and computes the perceptual hash of kept figures.
type filterFn struct {
	Params quality.Params `json:"params"`
}

func (f *filterFn) ProcessElement(ctx context.Context, it figItem, keep func(figItem), dd func(dedupItem), reject func(shards.Reject)) {
	out, d, r, ok := filterFigure(it, f.Params)
	if !ok {
		mFiguresFiltered.Inc(ctx, 1)
		mRejects.Inc(ctx, 1)
		reject(r)
		return
	}
	keep(out)
	dd(d)
}

// filterFigure is the plain function under filterFn: decode, check, hash.
func filterFigure(it figItem, p quality.Params) (figItem, dedupItem, shards.Reject, bool) {
	var fig shards.Figure
	if err := json.Unmarshal(it.Record, &fig); err != nil {
		return it, dedupItem{}, shards.Reject{Stage: "filter", Kind: "figure", ID: it.ID, Reason: "bad_record", Detail: err.Error()}, false
	}
	var grey *quality.Grey
	if img, _, err := image.Decode(bytes.NewReader(it.Image)); err == nil {
		grey = quality.NewGrey(img)
	}
	c := quality.Candidate{Kind: fig.Kind, Width: fig.Image.Width, Height: fig.Image.Height, Caption: fig.Caption, Grey: grey}
	if r, ok := p.Check(c); !ok {
		return it, dedupItem{}, shards.Reject{Stage: "filter", Kind: "figure", URI: fig.Doc.URI, DocSHA: fig.Doc.SHA256, Page: fig.Page, ID: fig.ID, Reason: r.Reason, Detail: r.Detail}, false
	}
	h := grey.PHash()
	fig.PHash = quality.FormatHash(h)
	if len(it.Orig) > 0 {
		// The native bytes identify an embedded image exactly, whatever the crop.
		s := sha256.Sum256(it.Orig)
		fig.Image.SHA256 = hex.EncodeToString(s[:])
	} else if fig.Image.SHA256 == "" {
		s := sha256.Sum256(it.Image)
		fig.Image.SHA256 = hex.EncodeToString(s[:])
	}
	rec, err := json.Marshal(fig)
	if err != nil {
		return it, dedupItem{}, shards.Reject{Stage: "filter", Kind: "figure", ID: it.ID, Reason: "bad_record", Detail: err.Error()}, false
	}
	it.Record = rec
	return it, dedupItem{ID: fig.ID, ImageSHA256: fig.Image.SHA256, PHash: h, HasPHash: true, Caption: fig.Caption}, shards.Reject{}, true
}

// dedupFn decides, over all figures at once, which to keep (see quality.Dedup). Its input is
// small (ids, hashes, captions); the image bytes meet the decisions in joinFn.
type dedupFn struct {
	Options quality.Options `json:"options"`
	// Reprocess: every input document is processed again; committed figures of unknown
	// document (index lines written before documents were recorded) leave the decision too.
	Reprocess bool `json:"reprocess"`
}

func (f *dedupFn) ProcessElement(ctx context.Context, _ int, items func(*dedupItem) bool, emit func(string, decision), groups func([]byte)) {
	var in []dedupItem
	again := map[string]bool{}
	var d dedupItem
	for items(&d) {
		if d.Marker {
			again[d.Doc] = true
			continue
		}
		in = append(in, d)
	}
	var all []quality.Item
	for _, d := range in {
		if d.Committed && (again[d.Doc] || (d.Doc == "" && f.Reprocess)) {
			continue // the document is processed again: its old figures are replaced
		}
		all = append(all, quality.Item{ID: d.ID, ImageSHA256: d.ImageSHA256, PHash: d.PHash, HasPHash: d.HasPHash, Caption: d.Caption, Committed: d.Committed})
	}
	res := quality.Dedup(all, f.Options)
	group := map[string]string{}
	for _, g := range res.CaptionGroups {
		for _, id := range g {
			group[id] = g[0]
		}
	}
	committed := map[string]bool{}
	for _, it := range all {
		if it.Committed {
			committed[it.ID] = true
		}
	}
	for _, id := range res.Keep {
		if !committed[id] {
			emit(id, decision{Keep: true, CaptionGroup: group[id]})
		}
	}
	for _, dr := range res.Drops {
		emit(dr.ID, decision{Reason: dr.Reason, DupOf: dr.DupOf, Distance: dr.Distance})
	}
	if len(res.CaptionGroups) > 0 {
		b, _ := json.Marshal(commitPart{Groups: res.CaptionGroups})
		groups(b)
	}
}

// joinFn applies the dedup decision to the figure it belongs to.
type joinFn struct{}

func (f *joinFn) ProcessElement(ctx context.Context, id string, figs func(*figItem) bool, decs func(*decision) bool, keep func(figItem), reject func(shards.Reject)) {
	var d decision
	have := false
	for decs(&d) {
		have = true
	}
	var it figItem
	first := true
	for figs(&it) {
		if !first {
			continue // a figure seen twice (duplicate output of a retried bundle) is written once
		}
		first = false
		if !have {
			// Cannot happen while every filtered figure reaches dedup; never drop silently.
			mRejects.Inc(ctx, 1)
			reject(shards.Reject{Stage: "dedup", Kind: "figure", ID: id, Reason: "no_dedup_decision", Detail: "the figure reached no dedup decision"})
			continue
		}
		if !d.Keep {
			var fig shards.Figure
			_ = json.Unmarshal(it.Record, &fig)
			mFiguresDup.Inc(ctx, 1)
			mRejects.Inc(ctx, 1)
			reject(shards.Reject{Stage: "dedup", Kind: "figure", URI: fig.Doc.URI, DocSHA: fig.Doc.SHA256, Page: fig.Page, ID: id, Reason: d.Reason,
				Detail: fmt.Sprintf("duplicate of %s (Hamming distance %d)", d.DupOf, d.Distance)})
			continue
		}
		if d.CaptionGroup != "" {
			var fig shards.Figure
			if err := json.Unmarshal(it.Record, &fig); err == nil {
				fig.Quality.Flags = append(fig.Quality.Flags, quality.FlagNearDuplicateCaption)
				if rec, err := json.Marshal(fig); err == nil {
					it.Record = rec
				}
			}
		}
		mFiguresKept.Inc(ctx, 1)
		keep(it)
	}
}
