package inspect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

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
	Documents     int // distinct source documents (figures and rejects)
	Pages         int // distinct pages with figures
	Figures       int
	Samples       int
	Rejects       int
	MissingImages int // figures whose crop was not found
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
	start := time.Now()
	if err := b.readSources(ctx, sources); err != nil {
		return nil, err
	}
	if err := b.copies.close(); err != nil {
		return nil, err
	}
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
	key    string
	SHA    string `json:"sha,omitempty"`
	Title  string `json:"title,omitempty"`
	URI    string `json:"uri,omitempty"`
	Source string `json:"source,omitempty"` // the input it came from

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
	figs              []figJSON
	texts             []string
	fdoc              []int
	flagIdx           map[string]int
	flagNames         []string
	flagMembers       [][]int
	figByID           map[string]int
	pageRefs          map[pageRef]string
	ocrUsed           int
	ocrConf           float64
	ocrConfN          int
	subfigs           int
	withSub           int
	kinds             map[string]int
	imgSources        map[string]int

	samples    []sampleJSON
	tasks      map[string]int
	kept       int
	scoreVals  map[string][]float64
	verdictWhy map[string]int

	rejects   []rejectJSON
	byReason  map[string]int
	byStage   map[string]int
	byKind    map[string]int
	dedup     int
	manifests []manifestJSON
	sources   []string

	pages  map[string]pageJSON
	start  time.Time
	copies *pool
	bytes  counter
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
		pageRefs:   map[pageRef]string{},
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

// readSources reads figures of every source first (samples link to them by id), then
// samples, then rejects.
func (b *builder) readSources(ctx context.Context, sources []Source) error {
	for _, src := range sources {
		b.sources = append(b.sources, src.Name())
		if m := src.Manifest(); m != nil {
			b.manifests = append(b.manifests, manifestJSON{Source: src.Name(), Manifest: *m})
		}
	}
	for _, src := range sources {
		err := src.Figures(ctx, func(it FigureItem) error { return b.addFigure(ctx, src, it) })
		if err != nil {
			return fmt.Errorf("figures of %s: %w", src.Name(), err)
		}
	}
	if err := b.flushFigures(); err != nil {
		return err
	}
	if err := b.flushTexts(); err != nil {
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
	for _, src := range sources {
		if err := src.Rejects(ctx, func(r shards.Reject) error { return b.addReject(src, r) }); err != nil {
			return fmt.Errorf("rejects of %s: %w", src.Name(), err)
		}
	}
	return b.flushRejects()
}

// doc returns the index of a document, adding it when new.
func (b *builder) doc(src Source, d shards.Doc) int {
	key := d.SHA256
	if key == "" {
		key = "uri:" + d.URI
	}
	if i, ok := b.docKey[key]; ok {
		ds := b.docs[i]
		if ds.Title == "" {
			ds.Title = d.Title
		}
		if ds.URI == "" && d.URI != "" {
			ds.URI = d.URI
			b.docURI[d.URI] = i
		}
		return i
	}
	i := len(b.docs)
	b.docs = append(b.docs, &docStat{key: key, SHA: d.SHA256, Title: d.Title, URI: d.URI, Source: src.Name(),
		baseDir: src.BaseDir(), pages: map[int]bool{}})
	b.docKey[key] = i
	if d.URI != "" {
		if _, ok := b.docURI[d.URI]; !ok {
			b.docURI[d.URI] = i
		}
	}
	return i
}

// figJSON is a figure as the report's scripts read it.
type figJSON struct {
	I       int        `json:"i"`
	ID      string     `json:"id"`
	Kind    string     `json:"kind,omitempty"`
	Doc     int        `json:"doc"`
	Page    int        `json:"page"`
	PS      [2]float64 `json:"ps"`
	BBox    [4]float64 `json:"bbox"`
	CB      [4]float64 `json:"cb"`
	Label   string     `json:"label,omitempty"`
	Caption string     `json:"caption,omitempty"`
	Sub     []subJSON  `json:"sub,omitempty"`
	Men     []string   `json:"men,omitempty"`
	Img     string     `json:"img,omitempty"`
	IW      int        `json:"iw,omitempty"`
	IH      int        `json:"ih,omitempty"`
	Fmt     string     `json:"fmt,omitempty"`
	Src     string     `json:"src,omitempty"`
	DPI     int        `json:"dpi,omitempty"`
	OCR     bool       `json:"ocr,omitempty"`
	Conf    float64    `json:"conf,omitempty"`
	PHash   string     `json:"phash,omitempty"`
	Flags   []string   `json:"flags,omitempty"`
	PK      string     `json:"pk,omitempty"`
}

type subJSON struct {
	Label   string     `json:"label,omitempty"`
	BBox    [4]float64 `json:"bbox"`
	Caption string     `json:"caption,omitempty"`
}

// maxMentions and maxText bound what a figure carries into the report.
const (
	maxMentions = 5
	maxText     = 4000
)

func (b *builder) addFigure(ctx context.Context, src Source, it FigureItem) error {
	f := it.Figure
	i := b.nfig
	b.nfig++
	if b.nfig%20000 == 0 {
		el := time.Since(b.start)
		b.opts.Logger.Info("inspect: reading figures", "figures", b.nfig, "rate", fmt.Sprintf("%.0f/s", float64(b.nfig)/el.Seconds()))
	}
	d := b.doc(src, f.Doc)
	ds := b.docs[d]
	ds.Figures++
	if !ds.pages[f.Page] {
		ds.pages[f.Page] = true
		ds.Pages++
	}
	ref := pageRef{d, f.Page}
	pk, ok := b.pageRefs[ref]
	if !ok {
		pk = fmt.Sprintf("%s-p%04d", docSlug(ds), f.Page)
		b.pageRefs[ref] = pk
	}
	fj := figJSON{
		I: i, ID: f.ID, Kind: f.Kind, Doc: d, Page: f.Page,
		PS:   [2]float64{round2(f.PageSize.Width), round2(f.PageSize.Height)},
		BBox: roundBox(f.BBox), CB: roundBox(f.CaptionBox),
		Label: f.Label, Caption: clip(f.Caption, maxText),
		IW: f.Image.Width, IH: f.Image.Height, Fmt: f.Image.Format, Src: f.Image.Source, DPI: f.Image.DPI,
		OCR: f.OCR.Used, Conf: round2(f.OCR.MeanConfidence), PHash: f.PHash, Flags: f.Quality.Flags, PK: pk,
	}
	if f.Kind != "" {
		b.kinds[f.Kind]++
	} else {
		b.kinds["figure"]++
	}
	if f.Image.Source != "" {
		b.imgSources[f.Image.Source]++
	}
	text := []string{f.ID, f.Label, f.Caption}
	for _, s := range f.SubFigures {
		fj.Sub = append(fj.Sub, subJSON{Label: s.Label, BBox: roundBox(s.BBox), Caption: clip(s.Caption, maxText)})
		text = append(text, s.Label, s.Caption)
	}
	if len(f.SubFigures) > 0 {
		b.withSub++
		b.subfigs += len(f.SubFigures)
	}
	for k, m := range f.Mentions {
		if k == maxMentions {
			break
		}
		fj.Men = append(fj.Men, clip(m, 600))
	}
	if f.OCR.Used {
		b.ocrUsed++
		ds.OCR++
		if f.OCR.MeanConfidence > 0 {
			b.ocrConf += f.OCR.MeanConfidence
			b.ocrConfN++
		}
	}
	if len(f.Quality.Flags) > 0 {
		ds.Flagged++
		seen := map[string]bool{}
		for _, fl := range f.Quality.Flags {
			if seen[fl] {
				continue
			}
			seen[fl] = true
			k, ok := b.flagIdx[fl]
			if !ok {
				k = len(b.flagNames)
				b.flagIdx[fl] = k
				b.flagNames = append(b.flagNames, fl)
				b.flagMembers = append(b.flagMembers, nil)
			}
			b.flagMembers[k] = append(b.flagMembers[k], i)
		}
	}
	if _, dup := b.figByID[f.ID]; !dup && f.ID != "" {
		b.figByID[f.ID] = i
	}
	// The crop: bytes carried by the record, or a file beside the records.
	name := imageName(f.ID, i, f.Image.Format, it.ImagePath)
	switch {
	case name == "":
		b.sum.MissingImages++
	case len(f.ImageBytes) > 0:
		fj.Img = "images/" + name
		data := f.ImageBytes
		dst := filepath.Join(b.opts.Dir, "images", name)
		if err := b.copies.do(ctx, func() error { return b.writeFile(dst, data) }); err != nil {
			return err
		}
	case it.ImagePath != "":
		fj.Img = "images/" + name
		srcPath, dst := it.ImagePath, filepath.Join(b.opts.Dir, "images", name)
		if err := b.copies.do(ctx, func() error { return b.copyFile(dst, srcPath) }); err != nil {
			return err
		}
	default:
		b.sum.MissingImages++
	}
	b.figs = append(b.figs, fj)
	b.texts = append(b.texts, searchText(text...))
	b.fdoc = append(b.fdoc, d)
	if len(b.texts) == b.textChunk() {
		if err := b.flushTexts(); err != nil {
			return err
		}
	}
	if len(b.figs) == b.opts.ChunkSize {
		return b.flushFigures()
	}
	return nil
}

// textChunk is the number of figures per search-text file: search reads them all, so they
// are larger than the record chunks (fewer scripts to load).
func (b *builder) textChunk() int { return 10 * b.opts.ChunkSize }

func (b *builder) flushTexts() error {
	if len(b.texts) == 0 {
		return nil
	}
	if err := b.writeData("text", (b.nfig-1)/b.textChunk(), b.texts); err != nil {
		return err
	}
	b.texts = b.texts[:0]
	return nil
}

// SearchText is the text a figure's search matches against: its id, label, caption and
// sub-figure labels and captions, lower-cased, white space collapsed. A query matches a
// figure when every white-space separated term of the lower-cased query is a substring.
func SearchText(f shards.Figure) string {
	text := []string{f.ID, f.Label, f.Caption}
	for _, s := range f.SubFigures {
		text = append(text, s.Label, s.Caption)
	}
	return searchText(text...)
}

func searchText(parts ...string) string {
	var sb strings.Builder
	for _, p := range parts {
		for _, w := range strings.Fields(strings.ToLower(p)) {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(w)
		}
	}
	return sb.String()
}

// imageName is the file name of figure i's crop in images/, or "" when its format is not one
// browsers show (JPEG 2000, TIFF): such a figure is listed without a crop.
func imageName(id string, i int, format, path string) string {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if ext == "" {
		ext = strings.ToLower(format)
	}
	switch ext {
	case "", "png":
		ext = "png"
	case "jpg", "jpeg", "webp", "gif":
	default:
		return ""
	}
	if safeName(id) {
		return id + "." + ext
	}
	h := sha256.Sum256([]byte(id))
	return fmt.Sprintf("f%d-%s.%s", i, hex.EncodeToString(h[:6]), ext)
}

func docSlug(d *docStat) string {
	if len(d.SHA) >= 16 && safeName(d.SHA) {
		return d.SHA[:16]
	}
	h := sha256.Sum256([]byte(d.key))
	return hex.EncodeToString(h[:8])
}

func (b *builder) flushFigures() error {
	if len(b.figs) == 0 {
		return nil
	}
	n := (b.nfig - 1) / b.opts.ChunkSize
	if err := b.writeData("figures", n, b.figs); err != nil {
		return err
	}
	b.figs = b.figs[:0]
	return nil
}

// sampleJSON is a chain-of-thought sample as the report's scripts read it.
type sampleJSON struct {
	I       int                `json:"i"`
	ID      string             `json:"id"`
	Fig     int                `json:"fig"`
	FigID   string             `json:"figId,omitempty"`
	Task    string             `json:"task,omitempty"`
	Problem string             `json:"problem,omitempty"`
	Options []string           `json:"options,omitempty"`
	Answer  string             `json:"answer,omitempty"`
	Think   string             `json:"think,omitempty"`
	Final   string             `json:"final,omitempty"`
	Msgs    []shards.Message   `json:"msgs,omitempty"`
	Scores  map[string]float64 `json:"scores,omitempty"`
	Keep    bool               `json:"keep"`
	Reasons []string           `json:"reasons,omitempty"`
	Model   string             `json:"model,omitempty"`
	Imgs    []string           `json:"imgs,omitempty"`
}

func (b *builder) addSample(ctx context.Context, it SampleItem) error {
	s := it.Sample
	i := b.nsamp
	b.nsamp++
	sj := sampleJSON{I: i, ID: s.ID, Fig: -1, FigID: s.FigureID, Task: s.Task, Problem: clip(s.Problem, maxText),
		Options: s.Options, Answer: clip(s.Answer, maxText), Scores: s.Scores, Keep: s.Verdict.Keep,
		Reasons: s.Verdict.Reasons, Model: s.Generator.Model}
	if fi, ok := b.figByID[s.FigureID]; ok {
		sj.Fig = fi
	}
	// The last assistant turn holds <think>…</think><answer>…</answer>; earlier turns are
	// shown as the conversation.
	last := -1
	for k := len(s.Messages) - 1; k >= 0; k-- {
		if s.Messages[k].Role == "assistant" {
			last = k
			break
		}
	}
	for k, m := range s.Messages {
		if k == last {
			think, final := SplitReasoning(m.Content)
			sj.Think, sj.Final = clip(think, 4*maxText), clip(final, maxText)
			continue
		}
		sj.Msgs = append(sj.Msgs, shards.Message{Role: m.Role, Content: clip(m.Content, maxText)})
	}
	for k, im := range s.Images {
		ext := strings.ToLower(im.Format)
		if ext == "" {
			ext = strings.TrimPrefix(strings.ToLower(filepath.Ext(im.Path)), ".")
		}
		if ext == "" {
			ext = "png"
		}
		name := fmt.Sprintf("s%d-%d.%s", i, k, ext)
		if safeName(s.ID) {
			name = fmt.Sprintf("%s-%d.%s", s.ID, k, ext)
		}
		dst := filepath.Join(b.opts.Dir, "samples", name)
		switch {
		case len(im.Bytes) > 0:
			data := im.Bytes
			if err := b.copies.do(ctx, func() error { return b.writeFile(dst, data) }); err != nil {
				return err
			}
		case k < len(it.ImagePaths) && it.ImagePaths[k] != "":
			if _, err := os.Stat(it.ImagePaths[k]); err != nil {
				continue
			}
			p := it.ImagePaths[k]
			if err := b.copies.do(ctx, func() error { return b.copyFile(dst, p) }); err != nil {
				return err
			}
		default:
			continue
		}
		sj.Imgs = append(sj.Imgs, "samples/"+name)
	}
	if s.Task != "" {
		b.tasks[s.Task]++
	} else {
		b.tasks["(none)"]++
	}
	if s.Verdict.Keep {
		b.kept++
	}
	for _, r := range s.Verdict.Reasons {
		b.verdictWhy[r]++
	}
	for k, v := range s.Scores {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			b.scoreVals[k] = append(b.scoreVals[k], v)
		}
	}
	b.samples = append(b.samples, sj)
	if len(b.samples) == b.opts.ChunkSize {
		return b.flushSamples()
	}
	return nil
}

// SplitReasoning splits an assistant turn of the form <think>…</think><answer>…</answer>
// into its reasoning and its final answer. Without the tags, the whole text is the answer.
func SplitReasoning(s string) (think, answer string) {
	rest := s
	if i := strings.Index(rest, "<think>"); i >= 0 {
		body := rest[i+len("<think>"):]
		if j := strings.Index(body, "</think>"); j >= 0 {
			think, rest = body[:j], body[j+len("</think>"):]
		} else {
			think, rest = body, ""
		}
	}
	if i := strings.Index(rest, "<answer>"); i >= 0 {
		body := rest[i+len("<answer>"):]
		if j := strings.Index(body, "</answer>"); j >= 0 {
			body = body[:j]
		}
		return strings.TrimSpace(think), strings.TrimSpace(body)
	}
	return strings.TrimSpace(think), strings.TrimSpace(rest)
}

func (b *builder) flushSamples() error {
	if len(b.samples) == 0 {
		return nil
	}
	if err := b.writeData("samples", (b.nsamp-1)/b.opts.ChunkSize, b.samples); err != nil {
		return err
	}
	b.samples = b.samples[:0]
	return nil
}

// rejectJSON is a reject as the report's scripts read it.
type rejectJSON struct {
	Stage  string `json:"stage,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Doc    int    `json:"doc"`
	URI    string `json:"uri,omitempty"`
	Page   int    `json:"page,omitempty"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// IsDedup reports whether a reject is a duplicate removal.
func IsDedup(r shards.Reject) bool {
	return r.Stage == "dedup" || strings.Contains(strings.ToLower(r.Reason), "dup")
}

func (b *builder) addReject(src Source, r shards.Reject) error {
	b.nrej++
	rj := rejectJSON{Stage: r.Stage, Kind: r.Kind, Doc: -1, URI: r.URI, Page: r.Page, ID: r.ID,
		Reason: r.Reason, Detail: clip(r.Detail, 2000)}
	if rj.Reason == "" {
		rj.Reason = "(no reason)"
	}
	switch {
	case r.DocSHA != "":
		rj.Doc = b.doc(src, shards.Doc{SHA256: r.DocSHA, URI: r.URI})
	case r.URI != "":
		if i, ok := b.docURI[r.URI]; ok {
			rj.Doc = i
		} else if r.Kind == "document" || r.Kind == "page" {
			rj.Doc = b.doc(src, shards.Doc{URI: r.URI})
		}
	}
	if rj.Doc >= 0 {
		ds := b.docs[rj.Doc]
		ds.Rejects++
		if ds.Reasons == nil {
			ds.Reasons = map[string]int{}
		}
		ds.Reasons[rj.Reason]++
		if IsDedup(r) {
			ds.Dedup++
		}
	}
	if IsDedup(r) {
		b.dedup++
	}
	b.byReason[rj.Reason]++
	b.byStage[orNone(r.Stage)]++
	b.byKind[orNone(r.Kind)]++
	b.rejects = append(b.rejects, rj)
	if len(b.rejects) == b.opts.ChunkSize {
		return b.flushRejects()
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (b *builder) flushRejects() error {
	if len(b.rejects) == 0 {
		return nil
	}
	if err := b.writeData("rejects", (b.nrej-1)/b.opts.ChunkSize, b.rejects); err != nil {
		return err
	}
	b.rejects = b.rejects[:0]
	return nil
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

func (b *builder) copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy image: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy image: %w", err)
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy image %s: %w", src, err)
	}
	b.bytes.Add(n)
	return nil
}

type manifestJSON struct {
	Source string `json:"source"`
	Manifest
}

type flagJSON struct {
	Name    string `json:"name"`
	Count   int    `json:"count"`
	Members []int  `json:"members"`
}

type countJSON struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type histJSON struct {
	Name  string    `json:"name"`
	N     int       `json:"n"`
	Mean  float64   `json:"mean"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Edges []float64 `json:"edges"`
	Bins  []int     `json:"bins"`
}

// indexJSON is data/index.js: everything the report shows before any chunk is loaded.
type indexJSON struct {
	Title     string         `json:"title"`
	Generated string         `json:"generated"`
	Sources   []string       `json:"sources"`
	Chunk     int            `json:"chunk"`
	TextChunk int            `json:"textChunk"`
	Totals    map[string]any `json:"totals"`
	Docs      []*docStat     `json:"docs"`
	Flags     []flagJSON     `json:"flags"`
	FDoc      []int          `json:"fdoc"`
	Kinds     []countJSON    `json:"kinds"`
	ImgSrc    []countJSON    `json:"imgSources"`
	Reasons   []countJSON    `json:"reasons"`
	Stages    []countJSON    `json:"stages"`
	RejKinds  []countJSON    `json:"rejectKinds"`
	Tasks     []countJSON    `json:"tasks"`
	Verdicts  []countJSON    `json:"verdictReasons"`
	Scores    []histJSON     `json:"scores"`
	Manifests []manifestJSON `json:"manifests"`
}

func counts(m map[string]int) []countJSON {
	out := make([]countJSON, 0, len(m))
	for k, v := range m {
		out = append(out, countJSON{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func histogram(name string, vals []float64) histJSON {
	h := histJSON{Name: name, N: len(vals)}
	if len(vals) == 0 {
		return h
	}
	h.Min, h.Max = vals[0], vals[0]
	sum := 0.0
	for _, v := range vals {
		h.Min, h.Max = min(h.Min, v), max(h.Max, v)
		sum += v
	}
	h.Mean = round4(sum / float64(len(vals)))
	lo, hi := h.Min, h.Max
	if lo >= 0 && hi <= 1 {
		lo, hi = 0, 1 // rewards in [0, 1]: fixed bins read better
	}
	nb := 10
	if hi == lo {
		nb, hi = 1, lo+1
	}
	h.Bins = make([]int, nb)
	for k := 0; k <= nb; k++ {
		h.Edges = append(h.Edges, round4(lo+(hi-lo)*float64(k)/float64(nb)))
	}
	for _, v := range vals {
		k := int(float64(nb) * (v - lo) / (hi - lo))
		h.Bins[min(max(k, 0), nb-1)]++
	}
	h.Min, h.Max = round4(h.Min), round4(h.Max)
	return h
}

func (b *builder) writeIndex() error {
	flags := make([]flagJSON, len(b.flagNames)) // never nil: the scripts expect arrays
	for k, n := range b.flagNames {
		flags[k] = flagJSON{Name: n, Count: len(b.flagMembers[k]), Members: b.flagMembers[k]}
		if flags[k].Members == nil {
			flags[k].Members = []int{}
		}
	}
	sort.SliceStable(flags, func(i, j int) bool { return flags[i].Count > flags[j].Count })
	scores := []histJSON{}
	names := make([]string, 0, len(b.scoreVals))
	for k := range b.scoreVals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		scores = append(scores, histogram(k, b.scoreVals[k]))
	}
	flagged := 0
	for _, d := range b.docs {
		flagged += d.Flagged
	}
	totals := map[string]any{
		"documents":     len(b.docs),
		"pages":         len(b.pageRefs),
		"figures":       b.nfig,
		"subfigures":    b.subfigs,
		"withSubfig":    b.withSub,
		"ocr":           b.ocrUsed,
		"flagged":       flagged,
		"rejects":       b.nrej,
		"dedup":         b.dedup,
		"samples":       b.nsamp,
		"kept":          b.kept,
		"missingImages": b.sum.MissingImages,
		"pagesRendered": b.sum.PagesRendered,
	}
	if b.nfig > 0 {
		totals["ocrShare"] = round4(float64(b.ocrUsed) / float64(b.nfig))
	}
	if b.ocrConfN > 0 {
		totals["ocrConfidence"] = round2(b.ocrConf / float64(b.ocrConfN))
	}
	idx := indexJSON{
		Title: b.opts.Title, Generated: b.opts.Generated.UTC().Format(time.RFC3339), Sources: b.sources,
		Chunk: b.opts.ChunkSize, TextChunk: b.textChunk(), Totals: totals, Docs: b.docs, Flags: flags, FDoc: b.fdoc,
		Kinds: counts(b.kinds), ImgSrc: counts(b.imgSources), Reasons: counts(b.byReason),
		Stages: counts(b.byStage), RejKinds: counts(b.byKind), Tasks: counts(b.tasks),
		Verdicts: counts(b.verdictWhy), Scores: scores, Manifests: b.manifests,
	}
	if idx.Manifests == nil {
		idx.Manifests = []manifestJSON{}
	}
	if idx.Docs == nil {
		idx.Docs = []*docStat{}
	}
	if idx.FDoc == nil {
		idx.FDoc = []int{}
	}
	if err := b.writeScript("index.js", "index", 0, idx); err != nil {
		return fmt.Errorf("write report index: %w", err)
	}
	if err := b.writeScript("pages.js", "pages", 0, b.pages); err != nil {
		return fmt.Errorf("write page index: %w", err)
	}
	return nil
}

// writeAssets writes index.html and the embedded style sheet and script.
func writeAssets(dir, title string) error {
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if path := filepath.Base(p); path == "index.html" {
			dst = filepath.Join(dir, "index.html")
			data = []byte(strings.ReplaceAll(string(data), "{{TITLE}}", html.EscapeString(title)))
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return fmt.Errorf("write report assets: %w", err)
	}
	return nil
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

// pool runs functions on a bounded number of goroutines and keeps the first error.
type pool struct {
	sem    chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	err error
}

func newPool(n int) *pool { return &pool{sem: make(chan struct{}, max(n, 1))} }

// do runs fn on the pool, waiting for a free slot; it returns an earlier failure, if any.
func (p *pool) do(ctx context.Context, fn func() error) error {
	if err := p.failed(); err != nil {
		return err
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.wg.Add(1)
	go func() {
		defer func() { <-p.sem; p.wg.Done() }()
		if err := fn(); err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
		}
	}()
	return nil
}

func (p *pool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// close waits for the running functions and returns the first error.
func (p *pool) close() error {
	p.wg.Wait()
	return p.failed()
}
