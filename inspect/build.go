package inspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/eosinlab/eosin/internal/safefile"
	"github.com/eosinlab/eosin/shards"
)

// Options configure a report build.
type Options struct {
	// Dir is the report directory to write (created; files of an earlier report there are
	// overwritten, others are left alone).
	Dir string
	// Title heads the report; default "eosin report".
	Title string
	// ChunkSize is the number of records per data file; default 1000.
	ChunkSize int
	// PageDPI is the resolution of page thumbnails; default 96.
	PageDPI float64
	// Renderer draws source pages for the page views; nil leaves pages out (the report says
	// so beside every figure).
	Renderer PageRenderer
	// SourceRoots are extra directories searched for documents whose URI is a relative path.
	SourceRoots []string
	// Jobs bounds parallel work (image copies, page renders); default the number of CPUs.
	Jobs int
	// Generated is the time printed in the report; zero means now.
	Generated time.Time
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
}

// Summary tells what a build wrote.
type Summary struct {
	Documents     int // distinct source documents (listed by the inputs, or named by figures and rejects)
	Pages         int // distinct pages with figures
	Figures       int
	Samples       int
	Rejects       int
	MissingImages int // figures whose crop was not found (or refused: see BadImages)
	// BadImages counts image files and bytes refused: a symlink leading out of the input
	// folder, not a regular file, or bytes unlike the recorded image (format magic bytes,
	// sha256). Each is logged as a warning naming the file.
	BadImages     int
	PagesRendered int // page thumbnails written
	PagesMissing  int // pages with figures whose source could not be rendered
	Bytes         int64
}

// Build reads every source and writes a static HTML report to opts.Dir: index.html, assets/,
// data/*.js (records in chunks, loaded on demand), images/ (figure crops), pages/ (page
// thumbnails) and samples/ (sample images).
func Build(ctx context.Context, opts Options, sources ...Source) (*Summary, error) {
	if opts.Dir == "" {
		return nil, errors.New("inspect: no report directory given")
	}
	if len(sources) == 0 {
		return nil, errors.New("inspect: no input given")
	}
	if opts.Title == "" {
		opts.Title = "eosin report"
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 1000
	}
	if opts.PageDPI <= 0 {
		opts.PageDPI = 96
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	if opts.Generated.IsZero() {
		opts.Generated = time.Now()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	for _, d := range []string{"", "assets", "data", "images", "pages", "samples"} {
		if err := os.MkdirAll(filepath.Join(opts.Dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("create report directory: %w", err)
		}
	}
	b := newBuilder(opts)
	defer b.copies.close()
	defer b.closeSpills()
	start := time.Now()
	if err := b.readSources(ctx, sources); err != nil {
		return nil, err
	}
	if err := b.copies.close(); err != nil {
		return nil, err
	}
	b.sum.BadImages = int(b.badImages.Load())
	opts.Logger.Info("inspect: records read", "figures", b.nfig, "samples", b.nsamp, "rejects", b.nrej, "elapsed", time.Since(start).Round(time.Millisecond))
	if err := b.renderPages(ctx); err != nil {
		return nil, err
	}
	if err := b.writeIndex(); err != nil {
		return nil, err
	}
	if err := writeAssets(opts.Dir, opts.Title); err != nil {
		return nil, err
	}
	b.sum.Documents = len(b.docs)
	b.sum.Pages = len(b.pageRefs)
	b.sum.Figures, b.sum.Samples, b.sum.Rejects = b.nfig, b.nsamp, b.nrej
	b.sum.Bytes = b.bytes.Load()
	opts.Logger.Info("inspect: report written", "dir", opts.Dir, "figures", b.nfig, "pages", b.sum.PagesRendered, "elapsed", time.Since(start).Round(time.Millisecond))
	return &b.sum, nil
}

// docStat gathers what the report says about one source document.
type docStat struct {
	key string
	// ID names the document in links and filters: its sha256, else its URI.
	ID      string `json:"id"`
	SHA     string `json:"sha,omitempty"`
	Title   string `json:"title,omitempty"`
	URI     string `json:"uri,omitempty"`
	Journal string `json:"journal,omitempty"`
	Source  string `json:"source,omitempty"` // the input it came from

	Figures  int            `json:"figures"`
	Pages    int            `json:"pages"`
	OCR      int            `json:"ocr"`
	Flagged  int            `json:"flagged"`
	Rejects  int            `json:"rejects"`
	Dedup    int            `json:"dedup"`
	Reasons  map[string]int `json:"reasons,omitempty"`
	Rendered int            `json:"rendered"`
	Note     string         `json:"note,omitempty"` // why pages were not rendered

	baseDir string
	pages   map[int]bool
}

type pageRef struct {
	doc, page int
}

type builder struct {
	opts Options
	sum  Summary

	docs   []*docStat
	docKey map[string]int // sha256 or URI → index
	docURI map[string]int

	nfig, nsamp, nrej int
	// Figures and rejects are spilled to disk as they are read (figSpill, rejSpill), with a
	// sort key each, and written into data files in report order once all are read.
	figSpill    *spill
	figRefs     []spillRef
	figKeys     []orderKey
	rejSpill    *spill
	rejRefs     []spillRef
	rejKeys     []orderKey
	figs        []figJSON
	texts       []string
	fdoc        []int
	flagIdx     map[string]int
	flagNames   []string
	flagMembers [][]int
	figByID     map[string]int
	pageRefs    map[pageRef]bool
	ocrUsed     int
	ocrConf     float64
	ocrConfN    int
	subfigs     int
	withSub     int
	kinds       map[string]int
	imgSources  map[string]int

	samples    []sampleJSON
	tasks      map[string]int
	kept       int
	scoreVals  map[string][]float64
	verdictWhy map[string]int

	rejects    []rejectJSON
	byReason   map[string]int
	byStage    map[string]int
	byKind     map[string]int
	dedup      int
	manifests  []manifestJSON
	agreements []agreementJSON
	sources    []string

	pages  map[string]pageJSON
	start  time.Time
	copies *pool
	bytes  counter
	// badImages counts refused images (the copy pool's goroutines add to it).
	badImages counter
}

type counter struct {
	mu sync.Mutex
	n  int64
}

func (c *counter) Add(n int64) { c.mu.Lock(); c.n += n; c.mu.Unlock() }
func (c *counter) Load() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func newBuilder(opts Options) *builder {
	return &builder{
		opts:       opts,
		docKey:     map[string]int{},
		docURI:     map[string]int{},
		flagIdx:    map[string]int{},
		figByID:    map[string]int{},
		pageRefs:   map[pageRef]bool{},
		kinds:      map[string]int{},
		imgSources: map[string]int{},
		tasks:      map[string]int{},
		scoreVals:  map[string][]float64{},
		verdictWhy: map[string]int{},
		byReason:   map[string]int{},
		byStage:    map[string]int{},
		byKind:     map[string]int{},
		pages:      map[string]pageJSON{},
		copies:     newPool(opts.Jobs),
		start:      time.Now(),
	}
}

// readSources reads what every source says about itself (manifest, agreement report), the
// figures and rejects of every source (spilled), then the documents the sources list; it puts
// documents and figures in report order and writes the figures, then reads the samples (they
// link to figures by id) and writes the rejects.
func (b *builder) readSources(ctx context.Context, sources []Source) error {
	var err error
	if b.figSpill, err = newSpill(b.opts.Dir, "figures"); err != nil {
		return err
	}
	if b.rejSpill, err = newSpill(b.opts.Dir, "rejects"); err != nil {
		return err
	}
	for _, src := range sources {
		b.sources = append(b.sources, src.Name())
		if m := src.Manifest(); m != nil {
			b.manifests = append(b.manifests, manifestJSON{Source: src.Name(), Manifest: *m})
		}
		a, err := src.Agreement()
		if err != nil {
			b.opts.Logger.Warn("inspect: agreement report left out", "source", src.Name(), "err", err)
		} else if a != nil && a.Total.Articles > 0 {
			b.agreements = append(b.agreements, agreementJSON{Source: src.Name(), Metric: a.Metric, Total: a.Total, Journals: a.Journals})
		}
	}
	for _, src := range sources {
		err := src.Figures(ctx, func(it FigureItem) error { return b.addFigure(ctx, src, it) })
		if err != nil {
			return fmt.Errorf("figures of %s: %w", src.Name(), err)
		}
	}
	for _, src := range sources {
		if err := src.Rejects(ctx, func(r shards.Reject) error { return b.addReject(src, r) }); err != nil {
			return fmt.Errorf("rejects of %s: %w", src.Name(), err)
		}
	}
	// Listed documents come last: by then figures and rejects have tied each sha256 to its
	// URI, so a document listed by URI in one input and by sha256 in another is one entry.
	for _, src := range sources {
		if err := src.Documents(ctx, func(d shards.Doc) error { b.doc(src, d); return nil }); err != nil {
			return fmt.Errorf("documents of %s: %w", src.Name(), err)
		}
	}
	perm := b.orderDocs()
	if err := b.writeFigures(perm); err != nil {
		return err
	}
	for _, src := range sources {
		if err := src.Samples(ctx, func(it SampleItem) error { return b.addSample(ctx, it) }); err != nil {
			return fmt.Errorf("samples of %s: %w", src.Name(), err)
		}
	}
	if err := b.flushSamples(); err != nil {
		return err
	}
	return b.writeRejects(perm)
}

func (b *builder) closeSpills() {
	b.figSpill.close()
	b.rejSpill.close()
}

// doc returns the index of a document, adding it when new. A document is known by its
// sha256, else by its URI; a document first known by URI alone takes the sha256 a later
// record gives it.
func (b *builder) doc(src Source, d shards.Doc) int {
	key := d.SHA256
	if key == "" {
		key = "uri:" + d.URI
	}
	i, ok := b.docKey[key]
	if !ok && d.URI != "" {
		if j, found := b.docURI[d.URI]; found && (d.SHA256 == "" || b.docs[j].SHA == "") {
			i, ok = j, true
			if d.SHA256 != "" {
				ds := b.docs[j]
				ds.SHA, ds.key = d.SHA256, d.SHA256
				b.docKey[key] = j
			}
		}
	}
	if ok {
		ds := b.docs[i]
		if ds.Title == "" {
			ds.Title = d.Title
		}
		if ds.Journal == "" {
			ds.Journal = d.Journal
		}
		if ds.URI == "" && d.URI != "" {
			ds.URI = d.URI
			if _, taken := b.docURI[d.URI]; !taken {
				b.docURI[d.URI] = i
			}
		}
		return i
	}
	i = len(b.docs)
	b.docs = append(b.docs, &docStat{key: key, SHA: d.SHA256, Title: d.Title, URI: d.URI, Journal: d.Journal, Source: src.Name(),
		baseDir: src.BaseDir(), pages: map[int]bool{}})
	b.docKey[key] = i
	if d.URI != "" {
		if _, ok := b.docURI[d.URI]; !ok {
			b.docURI[d.URI] = i
		}
	}
	return i
}

// orderDocs puts the documents in report order (docLess), gives each its ID, and returns
// the new index of each old one.
func (b *builder) orderDocs() []int {
	idx := make([]int, len(b.docs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return docLess(b.docs[idx[i]], b.docs[idx[j]]) })
	perm := make([]int, len(b.docs))
	docs := make([]*docStat, len(b.docs))
	for nw, old := range idx {
		perm[old] = nw
		docs[nw] = b.docs[old]
		docs[nw].ID = docID(docs[nw])
	}
	b.docs = docs
	for k, v := range b.docKey {
		b.docKey[k] = perm[v]
	}
	for k, v := range b.docURI {
		b.docURI[k] = perm[v]
	}
	refs := make(map[pageRef]bool, len(b.pageRefs))
	for r := range b.pageRefs {
		refs[pageRef{perm[r.doc], r.page}] = true
	}
	b.pageRefs = refs
	return perm
}

// writeData writes data/<kind>-NNNN.js, a script handing v to the report's loader.
func (b *builder) writeData(kind string, n int, v any) error {
	name := fmt.Sprintf("%s-%04d.js", kind, n)
	if err := b.writeScript(name, kind, n, v); err != nil {
		return fmt.Errorf("write %s chunk %d: %w", kind, n, err)
	}
	return nil
}

func (b *builder) writeScript(name, kind string, n int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(b.opts.Dir, "data", name))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "EOSIN.put(%q,%d,", kind, n)
	if err == nil {
		_, err = f.Write(body)
	}
	if err == nil {
		_, err = f.WriteString(");\n")
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	b.bytes.Add(int64(len(body)))
	return err
}

func (b *builder) writeFile(dst string, data []byte) error {
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	b.bytes.Add(int64(len(data)))
	return nil
}

// maxImageBytes bounds one image file copied into the report.
const maxImageBytes = 256 << 20

// copyImage copies the image file src into the report at dst, reading it only inside root
// (default: src's directory; no symlink may lead out of it, and it must be a regular file) and
// only when its bytes are an image of the format its extension names, hashing to sha256hex
// when that is given. A refused image is logged and counted (BadImages), not an error.
func (b *builder) copyImage(dst, root, src, sha256hex string) error {
	if root == "" {
		root = filepath.Dir(src)
	}
	rel, err := filepath.Rel(root, src)
	if err != nil {
		b.badImage(fmt.Errorf("%s: %w", src, err))
		return nil
	}
	data, err := safefile.ReadFile(root, filepath.ToSlash(rel), maxImageBytes)
	if err == nil {
		err = safefile.CheckImage(src, data, filepath.Ext(src), sha256hex)
	}
	if err != nil {
		b.badImage(err)
		return nil
	}
	return b.writeFile(dst, data)
}

// badImage logs a refused image (err names it) and counts it.
func (b *builder) badImage(err error) {
	b.badImages.Add(1)
	b.opts.Logger.Warn("inspect: image skipped", "err", err)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(c byte) bool { return c&0xC0 != 0x80 }

func round2(v float64) float64 { return math.Round(v*100) / 100 }
func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

func roundBox(b shards.Box) [4]float64 {
	return [4]float64{round2(b[0]), round2(b[1]), round2(b[2]), round2(b[3])}
}
