package shards

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/eosinlab/eosin/shards/mds"
	"github.com/eosinlab/eosin/shards/pq"
	"github.com/eosinlab/eosin/shards/storage"
	"github.com/eosinlab/eosin/shards/wds"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrVersionExists is returned (wrapped) when a version is already committed.
var ErrVersionExists = errors.New("version already committed")

// WriteOptions configure a dataset version being written. The zero value writes WebDataset
// shards under a version named after the current UTC time.
type WriteOptions struct {
	// Formats to write (default WebDataset). Every format receives every record.
	Formats []Format
	// Version names the version (default: UTC time, e.g. 20261122T104544Z). Rerunning a
	// failed build with the same version overwrites its shards; a committed version is
	// never overwritten.
	Version string
	// MaxRecords and MaxBytes roll a shard over (defaults 10000 records, 512 MiB; MDS uses
	// MDSSizeLimit instead of MaxBytes).
	MaxRecords int
	MaxBytes   int64
	// Gzip writes WebDataset shards as .tar.gz (plain .tar by default: images are already
	// compressed, and random access needs uncompressed tar).
	Gzip bool
	// ImageExt, when set (e.g. "jpg"), names every WebDataset image member with this extension
	// whatever its format (the bytes are unchanged; image decoders sniff the format). Samples
	// then share one key set, which Hugging Face `datasets` requires, and NeMo Curator (which
	// reads only .jpg members) sees every image. Default: each image's own extension.
	ImageExt string
	// JSONLZstd compresses JSONL shards (.jsonl.zst).
	JSONLZstd bool
	// MDSCompression is "zstd[:level]" (default "zstd:3") or "none".
	MDSCompression string
	// MDSSizeLimit is MDS's size_limit (default 64 MiB).
	MDSSizeLimit int64
	// DataSource and Split fill Parquet's data_source and extra_info.split (defaults "eosin"
	// and "train").
	DataSource, Split string
	// ModTime is the tar member time (default wds.DefaultModTime, for reproducible shards).
	ModTime time.Time
	// Uploads bounds the shards being committed (uploaded) at once (default 2).
	Uploads int
	// S3 configures s3:// prefixes (zero fields come from the environment).
	S3 storage.S3Config
	// ShardTag, when set, goes into every shard name (wds/shard-<tag>-000000.tar,
	// parquet/part-<tag>-000000.parquet, mds/shard.<tag>.00000.mds.zstd,
	// jsonl/part-<tag>-000000.jsonl), so that shards of different versions, which later
	// versions reference, never share a name. Letters, digits, '.', '_' and '-'.
	ShardTag string
}

// Writer writes one version of a dataset. Its methods are safe for concurrent use; records
// are written in call order. Call Commit to publish the version, or Abort to give up.
type Writer struct {
	ctx      context.Context // the Create context: background uploads run under it
	mu       sync.Mutex
	store    storage.Store
	ownStore bool
	version  string
	opts     WriteOptions
	kind     Kind
	sinks    []*sink
	ids      map[string]struct{}
	docs     map[string]struct{}
	rejects  []Reject
	stats    map[string]any
	records  int
	failed   error
	done     bool
	// single makes every sink one shard (WritePart): a record that does not fit fails with
	// errPartFull instead of opening a second shard, whose name belongs to the next part.
	single bool

	bufs *storage.BufferPool // shard buffers, reused from one shard (and writer) to the next

	upWG   sync.WaitGroup
	upSem  chan struct{}
	upMu   sync.Mutex
	upErr  error
	shards []ShardInfo
}

// Create starts a new version under prefix (a directory or s3://bucket/prefix). It fails
// with ErrVersionExists if the version is already committed. Shards are uploaded in the
// background under ctx: cancelling it makes the version fail.
func Create(ctx context.Context, prefix string, opts WriteOptions) (*Writer, error) {
	store, err := storage.Open(ctx, prefix, opts.S3)
	if err != nil {
		return nil, err
	}
	w, err := CreateIn(ctx, store, opts)
	if err != nil {
		store.Close()
		return nil, err
	}
	w.ownStore = true
	return w, nil
}

// CreateIn is Create on an open Store.
func CreateIn(ctx context.Context, store storage.Store, opts WriteOptions) (*Writer, error) {
	if len(opts.Formats) == 0 {
		opts.Formats = []Format{WebDataset}
	}
	if opts.Version == "" {
		opts.Version = time.Now().UTC().Format("20060102T150405Z")
	}
	if err := ValidVersion(opts.Version); err != nil {
		return nil, err
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = 10000
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 512 << 20
	}
	switch opts.MDSCompression {
	case "":
		opts.MDSCompression = "zstd:3"
	case "none":
		opts.MDSCompression = ""
	}
	if opts.DataSource == "" {
		opts.DataSource = "eosin"
	}
	if opts.Split == "" {
		opts.Split = "train"
	}
	if opts.Uploads <= 0 {
		opts.Uploads = 2
	}
	if opts.ShardTag != "" {
		if err := ValidVersion(opts.ShardTag); err != nil {
			return nil, fmt.Errorf("ShardTag: %w", err)
		}
	}
	if opts.ImageExt != "" && !isImageExt(opts.ImageExt) {
		return nil, fmt.Errorf("ImageExt %q is not an image extension", opts.ImageExt)
	}
	if _, err := store.Stat(ctx, storage.Join(opts.Version, ManifestName)); err == nil {
		return nil, fmt.Errorf("%s@%s: %w", store, opts.Version, ErrVersionExists)
	} else if !errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%s@%s: %w", store, opts.Version, err)
	}
	w := &Writer{
		ctx: ctx, store: store, version: opts.Version, opts: opts,
		ids: map[string]struct{}{}, docs: map[string]struct{}{}, stats: map[string]any{},
		upSem: make(chan struct{}, opts.Uploads),
	}
	if p, ok := store.(interface{ Buffers() *storage.BufferPool }); ok {
		w.bufs = p.Buffers()
	} else {
		w.bufs = storage.NewBufferPool(8)
	}
	for _, f := range opts.Formats {
		if !knownFormat(f) {
			return nil, fmt.Errorf("unknown format %q", f)
		}
		w.sinks = append(w.sinks, &sink{w: w, format: f})
	}
	return w, nil
}

func knownFormat(f Format) bool {
	for _, g := range Formats {
		if f == g {
			return true
		}
	}
	return false
}

// Version is the name of the version being written.
func (w *Writer) Version() string { return w.version }

// WriteFigure adds a figure; its ImageBytes go into the shards. The writer keeps no reference
// to f or its byte slices after WriteFigure returns: the caller may reuse them.
func (w *Writer) WriteFigure(ctx context.Context, f *Figure) error {
	if f == nil {
		return errors.New("nil figure")
	}
	return w.write(ctx, KindFigure, f.ID, f.Doc.SHA256, func(s *sink) error { return s.addFigure(ctx, f) })
}

// WriteSample adds a sample; the Bytes of its Images go into the shards. As with WriteFigure,
// the caller may reuse the sample's byte slices once WriteSample returns.
func (w *Writer) WriteSample(ctx context.Context, s *Sample) error {
	if s == nil {
		return errors.New("nil sample")
	}
	if err := checkImageMarkers(s); err != nil {
		return err
	}
	return w.write(ctx, KindSample, s.ID, "", func(k *sink) error { return k.addSample(ctx, s) })
}

func (w *Writer) write(ctx context.Context, kind Kind, id, doc string, add func(*sink) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.kind == "" {
		w.kind = kind
	} else if w.kind != kind {
		return fmt.Errorf("record %s: a version holds one kind of record (this one holds %ss)", id, w.kind)
	}
	if err := wds.ValidKey(id); err != nil {
		return fmt.Errorf("%s id: %w", kind, err)
	}
	if _, dup := w.ids[id]; dup {
		return fmt.Errorf("%s %s: duplicate id in version %s", kind, id, w.version)
	}
	for _, s := range w.sinks {
		if err := add(s); err != nil {
			w.failed = fmt.Errorf("%s %s: %s: %w", kind, id, s.format, err)
			return w.failed
		}
	}
	w.ids[id] = struct{}{}
	if doc != "" {
		w.docs[doc] = struct{}{}
	}
	w.records++
	return nil
}

// usable reports why the writer cannot take more input (caller holds mu).
func (w *Writer) usable() error {
	if w.done {
		return errors.New("writer already committed or aborted")
	}
	if w.failed != nil {
		return w.failed
	}
	w.upMu.Lock()
	defer w.upMu.Unlock()
	return w.upErr
}

// AddReject records a dropped document, page, figure or sample.
func (w *Writer) AddReject(r Reject) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rejects = append(w.rejects, r)
	if r.DocSHA != "" {
		w.docs[r.DocSHA] = struct{}{}
	}
}

// SetStat sets a statistic reported in the manifest (any JSON value).
func (w *Writer) SetStat(name string, value any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats[name] = value
}

// Commit finishes every shard, waits for their uploads, writes the side indexes, then
// manifest.json (create-only: a committed version is never replaced) and finally LATEST. It
// returns the manifest. After a failure nothing points at the version; run the build again
// with the same Version to overwrite its shards and commit.
func (w *Writer) Commit(ctx context.Context) (*Manifest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		w.abortLocked()
		return nil, err
	}
	w.done = true
	defer w.closeStore()
	for _, s := range w.sinks {
		if err := s.finish(ctx); err != nil {
			for _, o := range w.sinks {
				o.abort()
			}
			w.upWG.Wait()
			return nil, fmt.Errorf("commit %s: %w", w.version, err)
		}
	}
	w.upWG.Wait()
	if w.upErr != nil {
		return nil, fmt.Errorf("commit %s: %w", w.version, w.upErr)
	}
	m := &Manifest{
		ManifestVersion: 1, Version: w.version, Created: time.Now().UTC().Truncate(time.Second),
		Kind: w.kind, Formats: w.opts.Formats, Stats: w.stats, Rejects: w.rejects,
		Shards: w.shards,
	}
	if m.Rejects == nil {
		m.Rejects = []Reject{}
	}
	sort.Slice(m.Shards, func(i, j int) bool { return m.Shards[i].Path < m.Shards[j].Path })
	for _, s := range w.sinks {
		files, err := s.sideFiles()
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", w.version, err)
		}
		for _, f := range files {
			if err := w.store.Put(ctx, storage.Join(w.version, f.path), f.data); err != nil {
				return nil, fmt.Errorf("commit %s: %w", w.version, err)
			}
			sum := sha256.Sum256(f.data)
			m.Files = append(m.Files, FileInfo{Format: s.format, Path: f.path, Bytes: int64(len(f.data)), SHA256: hex.EncodeToString(sum[:])})
		}
	}
	if m.Files == nil {
		m.Files = []FileInfo{}
	}
	m.Totals = Totals{Records: w.records, Shards: len(m.Shards), Rejects: len(m.Rejects)}
	for _, s := range m.Shards {
		m.Totals.Bytes += s.Bytes
	}
	for _, f := range m.Files {
		m.Totals.Bytes += f.Bytes
	}
	if len(m.Rejects) > 0 {
		m.RejectCounts = map[string]int{}
		for _, r := range m.Rejects {
			m.RejectCounts[r.Stage+"/"+r.Reason]++
		}
	}
	for d := range w.docs {
		m.Documents = append(m.Documents, d)
	}
	sort.Strings(m.Documents)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("commit %s: manifest: %w", w.version, err)
	}
	if err := w.store.PutIfAbsent(ctx, storage.Join(w.version, ManifestName), append(b, '\n')); err != nil {
		if errors.Is(err, storage.ErrExist) {
			return nil, fmt.Errorf("commit %s: %w (another writer committed it first)", w.version, ErrVersionExists)
		}
		return nil, fmt.Errorf("commit %s: %w", w.version, err)
	}
	if err := w.store.Put(ctx, LatestName, []byte(w.version+"\n")); err != nil {
		return m, fmt.Errorf("version %s committed, but updating %s failed: %w", w.version, LatestName, err)
	}
	slog.Debug("dataset version committed", "location", w.store.String(), "version", w.version,
		"records", m.Totals.Records, "shards", m.Totals.Shards, "bytes", m.Totals.Bytes)
	return m, nil
}

// Abort discards the shards being written. Shards already stored stay (invisible to readers,
// since no manifest names them) until a rerun of the same version overwrites them.
func (w *Writer) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.abortLocked()
}

func (w *Writer) abortLocked() {
	w.done = true
	for _, s := range w.sinks {
		s.abort()
	}
	w.upWG.Wait()
	w.closeStore()
}

func (w *Writer) closeStore() {
	if w.ownStore {
		w.store.Close()
		w.ownStore = false
	}
}

// commitShard publishes a finished shard in the background (bounded by Uploads).
func (w *Writer) commitShard(obj storage.Writer, info ShardInfo) {
	w.upSem <- struct{}{}
	w.upWG.Add(1)
	go func() {
		defer func() { <-w.upSem; w.upWG.Done() }()
		w.upMu.Lock()
		failed := w.upErr != nil
		w.upMu.Unlock()
		if failed { // the version cannot commit any more: do not upload in vain
			obj.Abort()
			return
		}
		err := obj.Commit(w.ctx)
		w.upMu.Lock()
		defer w.upMu.Unlock()
		if err != nil {
			if w.upErr == nil {
				w.upErr = fmt.Errorf("shard %s: %w", info.Path, err)
			}
			return
		}
		w.shards = append(w.shards, info)
	}()
}

// checkImageMarkers enforces what verl and LLaMA-Factory assert: the number of <image>
// markers in the user turns equals the number of images (when the text has any marker).
func checkImageMarkers(s *Sample) error {
	if len(s.Messages) == 0 {
		return nil
	}
	n := 0
	for _, m := range s.Messages {
		n += strings.Count(m.Content, "<image>")
	}
	if n != 0 && n != len(s.Images) {
		return fmt.Errorf("sample %s: %d images but %d <image> markers in messages", s.ID, len(s.Images), n)
	}
	return nil
}

type sideFile struct {
	path string
	data []byte
}

// sink writes one format's shards.
type sink struct {
	w      *Writer
	format Format
	next   int
	cur    *openShard

	mdsCfg     *mds.Config            // the columns as encoded (image column "jpeg")
	mdsCfgs    map[string]*mds.Config // by image encoding, for the shards' configs
	mdsEntries []mds.Entry
	sizes      wds.Sizes
	wids       []wds.WidsShard
}

type openShard struct {
	name  string
	obj   storage.Writer
	hw    *hashWriter
	count int
	bytes int64 // estimate of the encoded size so far

	tar  *wds.Writer
	gz   *gzip.Writer
	buf  *bufio.Writer
	zst  *zstd.Encoder
	pqs  *pq.Writer[pq.SampleRow]
	pqf  *pq.Writer[pq.FigureRow]
	mdsb *mds.Builder

	mdsImages uint8 // kinds of images in the MDS shard (mdsJPEG, mdsPNG, mdsOtherImage)
}

func (s *sink) dir() string {
	switch s.format {
	case WebDataset:
		return "wds"
	case Parquet:
		return "parquet"
	case MDS:
		return "mds"
	}
	return "jsonl"
}

func (s *sink) shardName(n int) string {
	if t := s.w.opts.ShardTag; t != "" {
		switch s.format {
		case WebDataset:
			if s.w.opts.Gzip {
				return fmt.Sprintf("shard-%s-%06d.tar.gz", t, n)
			}
			return fmt.Sprintf("shard-%s-%06d.tar", t, n)
		case Parquet:
			return fmt.Sprintf("part-%s-%06d.parquet", t, n)
		case MDS:
			if s.w.opts.MDSCompression != "" {
				return fmt.Sprintf("shard.%s.%05d.mds.zstd", t, n)
			}
			return fmt.Sprintf("shard.%s.%05d.mds", t, n)
		}
		if s.w.opts.JSONLZstd {
			return fmt.Sprintf("part-%s-%06d.jsonl.zst", t, n)
		}
		return fmt.Sprintf("part-%s-%06d.jsonl", t, n)
	}
	switch s.format {
	case WebDataset:
		if s.w.opts.Gzip {
			return fmt.Sprintf("shard-%06d.tar.gz", n)
		}
		return fmt.Sprintf("shard-%06d.tar", n)
	case Parquet:
		return fmt.Sprintf("part-%06d.parquet", n)
	case MDS:
		if s.w.opts.MDSCompression != "" {
			return mds.ShardName(n) + ".zstd"
		}
		return mds.ShardName(n)
	}
	if s.w.opts.JSONLZstd {
		return fmt.Sprintf("part-%06d.jsonl.zst", n)
	}
	return fmt.Sprintf("part-%06d.jsonl", n)
}

// open starts the next shard.
func (s *sink) open(ctx context.Context) error {
	name := s.shardName(s.next)
	s.next++
	obj, err := s.w.store.Create(s.w.ctx, storage.Join(s.w.version, s.dir(), name))
	if err != nil {
		return err
	}
	sh := &openShard{name: name, obj: obj, hw: newHashWriterPool(obj, s.format == WebDataset, s.w.bufs)}
	switch s.format {
	case WebDataset:
		var dst io.Writer = sh.hw
		if s.w.opts.Gzip {
			sh.gz = gzip.NewWriter(sh.hw)
			dst = sh.gz
		}
		sh.tar = wds.NewWriter(dst, s.w.opts.ModTime)
	case Parquet:
		if s.w.kind == KindSample {
			sh.pqs, err = pq.NewWriter[pq.SampleRow](sh.hw)
		} else {
			sh.pqf, err = pq.NewWriter[pq.FigureRow](sh.hw)
		}
	case MDS:
		if s.mdsCfg == nil {
			s.mdsCfg, err = mds.NewConfig(mdsColumns(s.w.kind), s.w.opts.MDSCompression, []string{"sha1", "xxh3_64"}, s.w.opts.MDSSizeLimit)
		}
		if err == nil {
			sh.mdsb = mds.NewBuilder(s.mdsCfg)
		}
	case JSONL:
		sh.buf = bufio.NewWriterSize(sh.hw, 256<<10)
		if s.w.opts.JSONLZstd {
			sh.zst, err = zstd.NewWriter(sh.hw, zstd.WithEncoderConcurrency(1))
		}
	}
	if err != nil {
		sh.hw.Close()
		obj.Abort()
		return err
	}
	s.cur = sh
	return nil
}

// roll closes the current shard if adding a record of n bytes would exceed the limits.
func (s *sink) roll(ctx context.Context, n int64, mdsSample []byte) error {
	if s.cur != nil {
		full := s.cur.count >= s.w.opts.MaxRecords
		if s.format == MDS {
			full = full || !s.cur.mdsb.Fits(len(mdsSample))
		} else {
			full = full || (s.cur.count > 0 && s.cur.bytes+n > s.w.opts.MaxBytes)
		}
		if full && s.w.single {
			return fmt.Errorf("%s shard: %w", s.format, errPartFull)
		}
		if full {
			if err := s.close(ctx); err != nil {
				return err
			}
		}
	}
	if s.cur == nil {
		return s.open(ctx)
	}
	return nil
}

func (s *sink) add(ctx context.Context, rec any, wdsSample *wds.Sample, mdsValues [][]byte, jsonLine []byte, approx int64) error {
	var mdsSample []byte
	if s.format == MDS {
		var err error
		if mdsSample, err = s.mdsConfigEncode(mdsValues); err != nil {
			return err
		}
	}
	if err := s.roll(ctx, approx, mdsSample); err != nil {
		return err
	}
	sh := s.cur
	var err error
	switch s.format {
	case WebDataset:
		err = sh.tar.Write(*wdsSample)
	case Parquet:
		switch r := rec.(type) {
		case pq.SampleRow:
			err = sh.pqs.Write(r)
		case pq.FigureRow:
			err = sh.pqf.Write(r)
		}
	case MDS:
		if err = sh.mdsb.Add(mdsSample); err == nil {
			sh.mdsImages |= s.mdsImageKinds(mdsValues)
		}
	case JSONL:
		var dst io.Writer = sh.buf
		if sh.zst != nil {
			dst = sh.zst
		}
		_, err = dst.Write(append(jsonLine, '\n'))
	}
	if err != nil {
		return err
	}
	sh.count++
	sh.bytes += approx
	return nil
}

func (s *sink) mdsConfigEncode(values [][]byte) ([]byte, error) {
	if s.mdsCfg == nil {
		var err error
		s.mdsCfg, err = mds.NewConfig(mdsColumns(s.w.kind), s.w.opts.MDSCompression, []string{"sha1", "xxh3_64"}, s.w.opts.MDSSizeLimit)
		if err != nil {
			return nil, err
		}
	}
	return s.mdsCfg.EncodeSample(values)
}

// mdsImageKinds returns the kinds of images in a record's MDS column values.
func (s *sink) mdsImageKinds(values [][]byte) uint8 {
	name := mdsImageColumn(s.w.kind)
	for i, c := range s.mdsCfg.Columns {
		if c.Name == name && i < len(values) {
			return mdsImageKinds(s.w.kind, values[i])
		}
	}
	return 0
}

// mdsShardConfig is the configuration of a shard holding images of kinds m: the image column
// encoded as mdsImageEncoding says.
func (s *sink) mdsShardConfig(m uint8) (*mds.Config, error) {
	enc := mdsImageEncoding(s.w.kind, m)
	if c := s.mdsCfgs[enc]; c != nil {
		return c, nil
	}
	c, err := s.mdsCfg.WithEncoding(mdsImageColumn(s.w.kind), enc)
	if err != nil {
		return nil, err
	}
	if s.mdsCfgs == nil {
		s.mdsCfgs = map[string]*mds.Config{}
	}
	s.mdsCfgs[enc] = c
	return c, nil
}

// close finishes the current shard and hands it to the uploader.
func (s *sink) close(ctx context.Context) error {
	sh := s.cur
	s.cur = nil
	err := func() error {
		switch s.format {
		case WebDataset:
			if err := sh.tar.Close(); err != nil {
				return err
			}
			if sh.gz != nil {
				if err := sh.gz.Close(); err != nil {
					return err
				}
			}
		case Parquet:
			if sh.pqs != nil {
				return sh.pqs.Close()
			}
			return sh.pqf.Close()
		case MDS:
			cfg, err := s.mdsShardConfig(sh.mdsImages)
			if err != nil {
				return err
			}
			if err := sh.mdsb.SetConfig(cfg); err != nil {
				return err
			}
			raw := sh.mdsb.Bytes()
			rawHashes, err := mds.Hashes(raw, cfg.Hashes)
			if err != nil {
				return err
			}
			entry := mds.Entry{Config: cfg, Samples: sh.mdsb.Len(),
				RawData: mds.FileInfo{Basename: strings.TrimSuffix(sh.name, ".zstd"), Bytes: int64(len(raw)), Hashes: rawHashes}}
			data := raw
			if cfg.Compression != "" {
				if data, err = mds.Compress(raw, cfg.Compression); err != nil {
					return err
				}
				zh, err := mds.Hashes(data, cfg.Hashes)
				if err != nil {
					return err
				}
				entry.ZipData = &mds.FileInfo{Basename: sh.name, Bytes: int64(len(data)), Hashes: zh}
			}
			s.mdsEntries = append(s.mdsEntries, entry)
			_, err = sh.hw.Write(data)
			return err
		case JSONL:
			if err := sh.buf.Flush(); err != nil {
				return err
			}
			if sh.zst != nil {
				return sh.zst.Close()
			}
		}
		return nil
	}()
	if cerr := sh.hw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		sh.obj.Abort()
		return fmt.Errorf("shard %s: %w", sh.name, err)
	}
	path := s.dir() + "/" + sh.name
	if s.format == WebDataset {
		if s.sizes == nil {
			s.sizes = wds.Sizes{}
		}
		s.sizes[sh.name] = sh.count
		s.wids = append(s.wids, wds.WidsShard{URL: sh.name, NSamples: sh.count, MD5Sum: sh.hw.MD5(), FileSize: sh.hw.Size()})
	}
	s.w.commitShard(sh.obj, ShardInfo{Format: s.format, Path: path, Records: sh.count, Bytes: sh.hw.Size(), SHA256: sh.hw.SHA256()})
	return nil
}

// finish closes the last shard (an empty version still gets one, so every reader finds a
// valid, empty file).
func (s *sink) finish(ctx context.Context) error {
	if s.cur == nil && s.next == 0 {
		if err := s.open(ctx); err != nil {
			return err
		}
	}
	if s.cur != nil {
		return s.close(ctx)
	}
	return nil
}

func (s *sink) abort() {
	if s.cur != nil {
		s.cur.hw.Close()
		s.cur.obj.Abort()
		s.cur = nil
	}
}

// sideFiles returns the format's index files, written at commit.
func (s *sink) sideFiles() ([]sideFile, error) {
	switch s.format {
	case WebDataset:
		sizes, err := s.sizes.Marshal()
		if err != nil {
			return nil, err
		}
		idx, err := wds.NewWidsIndex(s.w.version, s.wids).Marshal()
		if err != nil {
			return nil, err
		}
		return []sideFile{{"wds/sizes.json", sizes}, {"wds/" + WidsIndexName, idx}}, nil
	case MDS:
		return []sideFile{{"mds/index.json", mds.IndexJSON(s.mdsEntries)}}, nil
	}
	return nil, nil
}

// WidsIndexName is the wids index file name inside wds/.
const WidsIndexName = "shards.wids.json"
