package shards

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"sort"
	"strings"

	"github.com/eosinlab/eosin/shards/mds"
	"github.com/eosinlab/eosin/shards/pq"
	"github.com/eosinlab/eosin/shards/storage"
	"github.com/eosinlab/eosin/shards/wds"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrNotCommitted is returned (wrapped) when a version has no manifest.
var ErrNotCommitted = errors.New("version not committed (no manifest.json)")

// ReadOptions configure reading.
type ReadOptions struct {
	// S3 configures s3:// prefixes (zero fields come from the environment).
	S3 storage.S3Config
	// MaxObjectSize bounds objects read whole into memory (MDS shards, indexes; default 4 GiB).
	MaxObjectSize int64
}

// Dataset is one committed version of a dataset, open for reading.
type Dataset struct {
	store    storage.Store
	ownStore bool
	version  string
	manifest *Manifest
	opts     ReadOptions
}

var versionSuffix = regexp.MustCompile(`@([A-Za-z0-9][A-Za-z0-9._-]{0,99})$`)

// SplitRef splits "PREFIX@VERSION" into prefix and version ("" when absent).
func SplitRef(ref string) (prefix, version string) {
	if m := versionSuffix.FindStringSubmatchIndex(ref); m != nil {
		return ref[:m[0]], ref[m[2]:m[3]]
	}
	return ref, ""
}

// Open opens PREFIX (the version LATEST names) or PREFIX@VERSION. A version without
// manifest.json is refused with ErrNotCommitted.
func Open(ctx context.Context, ref string, opts ReadOptions) (*Dataset, error) {
	prefix, version := SplitRef(ref)
	store, err := storage.Open(ctx, prefix, opts.S3)
	if err != nil {
		return nil, err
	}
	d, err := OpenIn(ctx, store, version, opts)
	if err != nil {
		store.Close()
		return nil, err
	}
	d.ownStore = true
	return d, nil
}

// OpenIn opens a version ("" for LATEST) in an open Store.
func OpenIn(ctx context.Context, store storage.Store, version string, opts ReadOptions) (*Dataset, error) {
	if opts.MaxObjectSize <= 0 {
		opts.MaxObjectSize = 4 << 30
	}
	if version == "" {
		b, err := readSmall(ctx, store, LatestName, 1<<10)
		if err != nil {
			if errors.Is(err, storage.ErrNotExist) {
				return nil, fmt.Errorf("%s: no committed version (no %s)", store, LatestName)
			}
			return nil, err
		}
		version = strings.TrimSpace(string(b))
	}
	if err := ValidVersion(version); err != nil {
		return nil, fmt.Errorf("%s: %w", store, err)
	}
	b, err := readSmall(ctx, store, storage.Join(version, ManifestName), 1<<30)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return nil, fmt.Errorf("%s@%s: %w", store, version, ErrNotCommitted)
		}
		return nil, err
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", store, version, err)
	}
	if m.Version != version {
		return nil, fmt.Errorf("%s@%s: manifest names version %q", store, version, m.Version)
	}
	return &Dataset{store: store, version: version, manifest: m, opts: opts}, nil
}

func readSmall(ctx context.Context, store storage.Store, key string, max int64) ([]byte, error) {
	o, err := store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	if o.Size() > max {
		return nil, fmt.Errorf("%s/%s: %d bytes, more than the %d allowed", store, key, o.Size(), max)
	}
	b := make([]byte, o.Size())
	if _, err := io.ReadFull(o, b); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", store, key, err)
	}
	return b, nil
}

// Close releases the dataset's store.
func (d *Dataset) Close() error {
	if d.ownStore {
		return d.store.Close()
	}
	return nil
}

// Version is the version's name.
func (d *Dataset) Version() string { return d.version }

// Manifest returns the version's manifest (counts, shards, stats, rejects).
func (d *Dataset) Manifest() *Manifest { return d.manifest }

// Location describes where the dataset lives (no secrets).
func (d *Dataset) Location() string { return d.store.String() + "@" + d.version }

// VersionInfo describes a version found under a prefix.
type VersionInfo struct {
	Version   string
	Committed bool      // committed: see VersionsIn
	Latest    bool      // LATEST names it
	Manifest  *Manifest // the manifest, when the version has one (committed or not)
	Err       error     // a manifest that could not be read
	// State is "committed", "pending" (a manifest built on the version LATEST names, but
	// LATEST was not moved to it: a build killed in its commit, or committing right now),
	// "orphaned" (a manifest no committed version leads to: a build that lost a race),
	// "referenced" (no manifest any more, but committed versions reference its objects),
	// "uncommitted" (no manifest: a build running, failed or killed) or "bad manifest".
	State string
}

// Versions lists the versions under prefix, committed or not, sorted by name.
func Versions(ctx context.Context, prefix string, opts ReadOptions) ([]VersionInfo, error) {
	store, err := storage.Open(ctx, prefix, opts.S3)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	return VersionsIn(ctx, store)
}

// VersionsIn is Versions on an open Store. A version is committed when it has a manifest and
// is LATEST or an ancestor of LATEST through the manifests' Parent links; a manifest of
// version 1 (written before versions formed a chain) counts as committed on its own.
func VersionsIn(ctx context.Context, store storage.Store) ([]VersionInfo, error) {
	ents, err := store.List(ctx, "")
	if err != nil {
		return nil, err
	}
	latest := ""
	if b, err := readSmall(ctx, store, LatestName, 1<<10); err == nil {
		latest = strings.TrimSpace(string(b))
	}
	var out []VersionInfo
	for _, e := range ents {
		if !e.Dir || ValidVersion(e.Key) != nil {
			continue
		}
		vi := VersionInfo{Version: e.Key, Latest: e.Key == latest}
		b, err := readSmall(ctx, store, storage.Join(e.Key, ManifestName), 1<<30)
		switch {
		case err == nil:
			vi.Committed = true
			vi.Manifest, vi.Err = ParseManifest(b)
		case !errors.Is(err, storage.ErrNotExist):
			vi.Err = err
		}
		out = append(out, vi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	classify(out, latest)
	return out, nil
}

// classify sets Committed and State from the chain of Parent links starting at latest.
func classify(vs []VersionInfo, latest string) {
	byName := map[string]*VersionInfo{}
	for i := range vs {
		byName[vs[i].Version] = &vs[i]
	}
	chain := map[string]bool{}
	for v, n := latest, 0; v != "" && n <= len(vs); n++ {
		vi := byName[v]
		if vi == nil || vi.Manifest == nil || vi.Err != nil || chain[v] {
			break
		}
		chain[v] = true
		v = vi.Manifest.Parent
	}
	referenced := map[string]bool{}
	for i := range vs {
		if m := vs[i].Manifest; m != nil && (chain[vs[i].Version] || m.ManifestVersion < 2) {
			for _, s := range m.Shards {
				referenced[s.Version] = true
			}
			for _, f := range m.Files {
				referenced[f.Version] = true
			}
		}
	}
	for i := range vs {
		vi := &vs[i]
		switch {
		case vi.Err != nil:
			vi.State, vi.Committed = "bad manifest", false
		case vi.Manifest == nil && referenced[vi.Version]:
			vi.State, vi.Committed = "referenced", false
		case vi.Manifest == nil:
			vi.State, vi.Committed = "uncommitted", false
		case chain[vi.Version] || vi.Manifest.ManifestVersion < 2:
			vi.State, vi.Committed = "committed", true
		case vi.Manifest.Parent == latest && vi.Version > latest:
			vi.State, vi.Committed = "pending", false
		default:
			vi.State, vi.Committed = "orphaned", false
		}
	}
}

// PreferredFormat is the format Records reads by default: the first of Formats the version
// holds (WebDataset, MDS, Parquet, then JSONL, which has no image bytes).
func (d *Dataset) PreferredFormat() Format {
	for _, f := range Formats {
		if d.manifest.Has(f) {
			return f
		}
	}
	return ""
}

// Records iterates over the records in the preferred format, with image bytes.
func (d *Dataset) Records(ctx context.Context) iter.Seq2[*Record, error] {
	return d.RecordsOf(ctx, d.PreferredFormat())
}

// RecordsOf iterates over the records stored in one format. Every shard's record count is
// checked against the manifest (and, for MDS, index.json); a mismatch ends the iteration with
// an error. Iteration stops after the first error.
func (d *Dataset) RecordsOf(ctx context.Context, f Format) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		if !d.manifest.Has(f) {
			yield(nil, fmt.Errorf("%s: no %s shards (formats: %v)", d.Location(), f, d.manifest.Formats))
			return
		}
		var mdsIndex map[string]mds.Entry
		if f == MDS {
			var err error
			if mdsIndex, err = d.mdsIndex(ctx); err != nil {
				yield(nil, err)
				return
			}
		}
		for _, sh := range d.manifest.ShardsOf(f) {
			n := 0
			err := d.readShard(ctx, sh, mdsIndex, func(r *Record) bool {
				n++
				return yield(r, nil)
			})
			if errors.Is(err, errStop) {
				return
			}
			if err == nil && n != sh.Records {
				err = fmt.Errorf("%s: %d records, the manifest says %d", sh.Path, n, sh.Records)
			}
			if err != nil {
				yield(nil, fmt.Errorf("%s: %w", d.Location(), err))
				return
			}
		}
	}
}

var errStop = errors.New("stopped by caller")

func (d *Dataset) mdsIndex(ctx context.Context) (map[string]mds.Entry, error) {
	key := storage.Join(d.version, "mds/index.json")
	for _, f := range d.manifest.Files {
		if f.Path == "mds/index.json" {
			key = f.Key(d.version)
		}
	}
	b, err := readSmall(ctx, d.store, key, 1<<30)
	if err != nil {
		return nil, err
	}
	entries, err := mds.ParseIndex(b)
	if err != nil {
		return nil, err
	}
	out := map[string]mds.Entry{}
	for _, e := range entries {
		out["mds/"+e.Basename()] = e
	}
	return out, nil
}

// readShard decodes one shard, calling fn per record; fn returning false stops with errStop.
func (d *Dataset) readShard(ctx context.Context, sh ShardInfo, mdsIndex map[string]mds.Entry, fn func(*Record) bool) error {
	o, err := d.store.Open(ctx, sh.Key(d.version))
	if err != nil {
		return err
	}
	defer o.Close()
	return decodeShard(ctx, d.manifest.Kind, sh, o, o.Size(), mdsIndex, d.opts.MaxObjectSize, fn)
}

// decodeShard decodes a shard read from r (size bytes; ReaderAt needed for Parquet).
func decodeShard(ctx context.Context, kind Kind, sh ShardInfo, r io.Reader, size int64, mdsIndex map[string]mds.Entry, maxSize int64, fn func(*Record) bool) error {
	wrap := func(err error) error { return fmt.Errorf("%s: %w", sh.Path, err) }
	switch sh.Format {
	case WebDataset:
		var src io.Reader = bufio.NewReaderSize(r, 1<<20)
		if strings.HasSuffix(sh.Path, ".gz") {
			gz, err := gzip.NewReader(src)
			if err != nil {
				return wrap(err)
			}
			defer gz.Close()
			src = gz
		}
		tr := wds.NewReader(src, wds.ReaderOptions{})
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			s, err := tr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return wrap(err)
			}
			rec, err := fromWDS(kind, s)
			if err != nil {
				return wrap(err)
			}
			if !fn(rec) {
				return errStop
			}
		}
	case MDS:
		entry, ok := mdsIndex[sh.Path]
		if !ok {
			return wrap(errors.New("not listed in mds/index.json"))
		}
		if size > maxSize {
			return wrap(fmt.Errorf("%d bytes exceeds the %d-byte limit", size, maxSize))
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return wrap(err)
		}
		raw, err := mds.Decompress(data, entry.Config.Compression, maxSize)
		if err != nil {
			return wrap(err)
		}
		shard, err := mds.ParseShard(raw)
		if err != nil {
			return wrap(err)
		}
		if shard.Len() != entry.Samples {
			return wrap(fmt.Errorf("holds %d samples, index.json says %d", shard.Len(), entry.Samples))
		}
		if !shard.HasPrefixConfig(entry.Config) {
			return wrap(errors.New("embedded config differs from index.json"))
		}
		for i := range shard.Len() {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := fromMDS(kind, entry.Config, shard.Sample(i))
			if err != nil {
				return wrap(fmt.Errorf("sample %d: %w", i, err))
			}
			if !fn(rec) {
				return errStop
			}
		}
		return nil
	case Parquet:
		ra, ok := r.(io.ReaderAt)
		if !ok {
			return wrap(errors.New("parquet needs random access"))
		}
		if kind == KindSample {
			return readParquet(ctx, ra, size, sh, func(row pq.SampleRow) (*Record, error) {
				return fromParquet(kind, row.Record, row.Images)
			}, fn)
		}
		return readParquet(ctx, ra, size, sh, func(row pq.FigureRow) (*Record, error) {
			return fromParquet(kind, row.Record, row.Images)
		}, fn)
	case JSONL:
		var src io.Reader = r
		if strings.HasSuffix(sh.Path, ".zst") {
			zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(maxSize)))
			if err != nil {
				return wrap(err)
			}
			defer zr.Close()
			src = zr
		}
		sc := bufio.NewScanner(src)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		line := 0
		for sc.Scan() {
			line++
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := decodeRecord(kind, sc.Bytes())
			if err != nil {
				return wrap(fmt.Errorf("line %d: %w", line, err))
			}
			if err := wds.ValidKey(rec.ID()); err != nil {
				return wrap(fmt.Errorf("line %d: %w", line, err))
			}
			if !fn(rec) {
				return errStop
			}
		}
		if err := sc.Err(); err != nil {
			return wrap(err)
		}
		return nil
	}
	return wrap(fmt.Errorf("unknown format %q", sh.Format))
}

func readParquet[T any](ctx context.Context, r io.ReaderAt, size int64, sh ShardInfo, conv func(T) (*Record, error), fn func(*Record) bool) error {
	rd, err := pq.OpenReader[T](r, size)
	if err != nil {
		return fmt.Errorf("%s: %w", sh.Path, err)
	}
	defer rd.Close()
	if rd.NumRows() != int64(sh.Records) {
		return fmt.Errorf("%s: footer declares %d rows, the manifest says %d", sh.Path, rd.NumRows(), sh.Records)
	}
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		row, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: row %d: %w", sh.Path, i, err)
		}
		rec, err := conv(row)
		if err != nil {
			return fmt.Errorf("%s: row %d: %w", sh.Path, i, err)
		}
		if !fn(rec) {
			return errStop
		}
	}
}

func fromParquet(kind Kind, record string, images []pq.Image) (*Record, error) {
	rec, err := decodeRecord(kind, []byte(record))
	if err != nil {
		return nil, err
	}
	imgs := make([][]byte, len(images))
	for i, im := range images {
		imgs[i] = im.Bytes
	}
	return rec, attachImages(rec, imgs)
}

func fromMDS(kind Kind, cfg *mds.Config, sample []byte) (*Record, error) {
	vals, err := cfg.DecodeSample(sample)
	if err != nil {
		return nil, err
	}
	col := func(name string) []byte {
		for i, c := range cfg.Columns {
			if c.Name == name {
				return vals[i]
			}
		}
		return nil
	}
	rec, err := decodeRecord(kind, col("record"))
	if err != nil {
		return nil, err
	}
	if string(col("id")) != rec.ID() {
		return nil, fmt.Errorf("id column %q differs from the record's %q", col("id"), rec.ID())
	}
	var imgs [][]byte
	if kind == KindSample {
		if imgs, err = mds.DecodeList(col("images")); err != nil {
			return nil, err
		}
	} else if im := col("image"); len(im) > 0 {
		imgs = [][]byte{im}
	}
	if err := checkMDSImageLabel(kind, cfg, imgs); err != nil {
		return nil, fmt.Errorf("record %s: %w", rec.ID(), err)
	}
	return rec, attachImages(rec, imgs)
}

// checkMDSImageLabel refuses PNG-labelled image columns holding anything but PNG files (a
// jpeg column may hold PNG files too: see mdsImageEncoding).
func checkMDSImageLabel(kind Kind, cfg *mds.Config, imgs [][]byte) error {
	name := mdsImageColumn(kind)
	for _, c := range cfg.Columns {
		if c.Name != name || (c.Encoding != "png" && c.Encoding != "list[png]") {
			continue
		}
		for i, im := range imgs {
			if !isPNG(im) {
				return fmt.Errorf("MDS column %s is encoded %s but image %d is a %s file", name, c.Encoding, i, imageExt(im, "unknown"))
			}
		}
	}
	return nil
}

// CommittedDocuments returns the sha256 of every source document that the committed versions
// under prefix cover (with a record or a reject), so an incremental build can skip them.
// Uncommitted versions are ignored; an unreadable manifest is an error.
func CommittedDocuments(ctx context.Context, prefix string, opts ReadOptions) (map[string]bool, error) {
	vs, err := Versions(ctx, prefix, opts)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, v := range vs {
		if v.Err != nil {
			return nil, fmt.Errorf("%s@%s: %w", prefix, v.Version, v.Err)
		}
		if !v.Committed {
			continue
		}
		for _, d := range v.Manifest.Documents {
			done[d] = true
		}
	}
	return done, nil
}
