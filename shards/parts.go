package shards

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/eosinlab/eosin/shards/mds"
	"github.com/eosinlab/eosin/shards/storage"
	"github.com/eosinlab/eosin/shards/wds"
)

// Distributed writing. A version can be written by many workers at once: each writes whole
// parts with WritePart (part n is shard n of every format, e.g. wds/shard-00000n.tar and
// parquet/part-00000n.parquet), and one step commits the version with CommitParts from the
// parts' descriptions. The objects are the ones a Writer would write for the same records
// (same encoders, names and side files), so readers and Verify accept them alike. Part
// objects are named by their index, so a retried part overwrites its own objects.

// Part describes one written part: what the commit step needs to list its shards and build
// the side indexes. It is JSON-serialisable, to travel between workers.
type Part struct {
	// Index is the part number (the shard number in every format).
	Index int `json:"index"`
	// Records is the number of records in the part.
	Records int `json:"records"`
	// Shards lists the part's shard objects, one per format.
	Shards []ShardInfo `json:"shards"`
	// WDSMD5 and WDSName are the md5 and file name of the WebDataset shard (for the wids
	// index), when the version has WebDataset.
	WDSMD5  string `json:"wds_md5,omitempty"`
	WDSName string `json:"wds_name,omitempty"`
	// MDS is the index entry of the MDS shard, when the version has MDS.
	MDS *PartMDS `json:"mds,omitempty"`
	// Documents are the source documents of the part's figures (sha256).
	Documents []string `json:"documents,omitempty"`
}

// PartMDS is the MDS index entry of a part, with the shard's configuration (columns,
// compression, hashes, size limit) as its shard embeds it.
type PartMDS struct {
	Config  *mds.Config   `json:"config,omitempty"`
	Samples int           `json:"samples"`
	RawData mds.FileInfo  `json:"raw_data"`
	ZipData *mds.FileInfo `json:"zip_data,omitempty"`
}

// PartRecords are the records of one part: figures or samples (one of the two).
type PartRecords struct {
	// Kind is the version's kind of records; it may be left empty when the part has records
	// (an empty part needs it: MDS shards embed the columns of the kind).
	Kind    Kind
	Figures []*Figure
	Samples []*Sample
}

// WritePart writes records as part index of version opts.Version under store, in every
// format of opts, and returns its description. firstIndex is the position of the part's first
// record in the whole version (Parquet's extra_info.index counts from it). Records are
// written in the order given. A part is one shard per format: when the records do not fit in
// one MDS shard of an explicit WriteOptions.MDSSizeLimit (or of MDS's 4 GiB range), WritePart
// fails; the objects it wrote stay invisible (no manifest names them) and the version cannot
// be committed from this part. Without an explicit limit a part beyond MDS's 64 MiB default
// keeps its one shard, with a larger size_limit. An existing
// committed version is refused with ErrVersionExists.
func WritePart(ctx context.Context, store storage.Store, opts WriteOptions, index, firstIndex int, recs PartRecords) (*Part, error) {
	if index < 0 || firstIndex < 0 {
		return nil, fmt.Errorf("part %d: negative index", index)
	}
	if len(recs.Figures) > 0 && len(recs.Samples) > 0 {
		return nil, fmt.Errorf("part %d: figures and samples in one version", index)
	}
	if opts.Version == "" {
		return nil, fmt.Errorf("part %d: no version name", index)
	}
	p, err := writePart(ctx, store, opts, index, firstIndex, recs)
	if errors.Is(err, errPartFull) && opts.MDSSizeLimit == 0 {
		// The caller sizes parts by their records: without an explicit limit, an MDS part
		// that outgrows the 64 MiB default is written again with the format's whole range
		// (its objects replace the first attempt's; nothing beyond this part was written).
		opts.MDSSizeLimit = math.MaxUint32
		p, err = writePart(ctx, store, opts, index, firstIndex, recs)
	}
	return p, err
}

// errPartFull: the records of a part do not fit in one shard.
var errPartFull = errors.New("the records do not fit in one shard; use fewer records per part")

func writePart(ctx context.Context, store storage.Store, opts WriteOptions, index, firstIndex int, recs PartRecords) (*Part, error) {
	opts.MaxRecords = math.MaxInt
	opts.MaxBytes = math.MaxInt64
	opts.Uploads = 1
	w, err := CreateIn(ctx, store, opts)
	if err != nil {
		return nil, fmt.Errorf("part %d: %w", index, err)
	}
	w.records = firstIndex
	w.single = true
	switch {
	case recs.Kind != "":
		w.kind = recs.Kind
	case len(recs.Figures) > 0:
		w.kind = KindFigure
	case len(recs.Samples) > 0:
		w.kind = KindSample
	}
	for _, s := range w.sinks {
		s.next = index
	}
	fail := func(err error) (*Part, error) {
		w.abortLocked()
		return nil, fmt.Errorf("part %d of %s: %w", index, opts.Version, err)
	}
	for _, f := range recs.Figures {
		if err := w.WriteFigure(ctx, f); err != nil {
			return fail(err)
		}
	}
	for _, s := range recs.Samples {
		if err := w.WriteSample(ctx, s); err != nil {
			return fail(err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return fail(err)
	}
	for _, s := range w.sinks {
		if err := s.finish(ctx); err != nil {
			for _, o := range w.sinks {
				o.abort()
			}
			w.upWG.Wait()
			w.done = true
			return nil, fmt.Errorf("part %d of %s: %w", index, opts.Version, err)
		}
	}
	w.done = true
	w.upWG.Wait()
	if w.upErr != nil {
		return nil, fmt.Errorf("part %d of %s: %w", index, opts.Version, w.upErr)
	}
	p := &Part{Index: index, Records: w.records - firstIndex, Shards: slices.Clone(w.shards)}
	for _, s := range w.sinks {
		if s.next != index+1 {
			return nil, fmt.Errorf("part %d of %s: the records do not fit in one %s shard (%d written); use fewer records per part",
				index, opts.Version, s.format, s.next-index)
		}
		switch s.format {
		case WebDataset:
			p.WDSName, p.WDSMD5 = s.wids[0].URL, s.wids[0].MD5Sum
		case MDS:
			e := s.mdsEntries[0]
			p.MDS = &PartMDS{Config: e.Config, Samples: e.Samples, RawData: e.RawData, ZipData: e.ZipData}
		}
	}
	slices.SortFunc(p.Shards, func(a, b ShardInfo) int { return cmp.Compare(a.Path, b.Path) })
	for d := range w.docs {
		p.Documents = append(p.Documents, d)
	}
	sort.Strings(p.Documents)
	return p, nil
}

// CommitOptions configure CommitParts.
type CommitOptions struct {
	// Kind is the kind of records of the version.
	Kind Kind
	// Created is the manifest's creation time (default: now). A retried commit that passes
	// the same time writes the same manifest bytes.
	Created time.Time
	// Rejects and Stats go into the manifest.
	Rejects []Reject
	Stats   map[string]any
}

// CommitParts commits version opts.Version under store from the descriptions of its parts:
// it writes the side indexes (WebDataset sizes.json and wids index, MDS index.json), then
// manifest.json (create-only), then LATEST. With no parts it writes an empty part 0 first, so
// every reader finds a valid, empty file, as a Writer does. A retried commit whose manifest
// already exists with identical bytes succeeds (and rewrites LATEST); a different manifest is
// refused with ErrVersionExists.
func CommitParts(ctx context.Context, store storage.Store, opts WriteOptions, parts []Part, co CommitOptions) (*Manifest, error) {
	if len(opts.Formats) == 0 {
		opts.Formats = []Format{WebDataset}
	}
	if err := ValidVersion(opts.Version); err != nil {
		return nil, err
	}
	if co.Kind != KindFigure && co.Kind != KindSample {
		return nil, fmt.Errorf("commit %s: kind %q", opts.Version, co.Kind)
	}
	parts = slices.Clone(parts)
	if len(parts) == 0 {
		p, err := WritePart(ctx, store, opts, 0, 0, PartRecords{Kind: co.Kind})
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", opts.Version, err)
		}
		parts = []Part{*p}
	}
	slices.SortFunc(parts, func(a, b Part) int { return cmp.Compare(a.Index, b.Index) })
	for i := 1; i < len(parts); i++ {
		if parts[i].Index == parts[i-1].Index {
			return nil, fmt.Errorf("commit %s: part %d given twice", opts.Version, parts[i].Index)
		}
	}
	created := co.Created
	if created.IsZero() {
		created = time.Now()
	}
	m := &Manifest{
		ManifestVersion: 1, Version: opts.Version, Created: created.UTC().Truncate(time.Second),
		Kind: co.Kind, Formats: opts.Formats, Stats: co.Stats, Rejects: co.Rejects,
		Shards: []ShardInfo{}, Files: []FileInfo{},
	}
	if m.Rejects == nil {
		m.Rejects = []Reject{}
	}
	if m.Stats == nil {
		m.Stats = map[string]any{}
	}
	docs := map[string]bool{}
	sizes := wds.Sizes{}
	var wids []wds.WidsShard
	var entries []mds.Entry
	var mdsCfg *mds.Config
	for _, f := range opts.Formats {
		if f == MDS {
			compression := opts.MDSCompression
			switch compression {
			case "":
				compression = "zstd:3"
			case "none":
				compression = ""
			}
			c, err := mds.NewConfig(mdsColumns(co.Kind), compression, []string{"sha1", "xxh3_64"}, opts.MDSSizeLimit)
			if err != nil {
				return nil, fmt.Errorf("commit %s: %w", opts.Version, err)
			}
			mdsCfg = c
		}
	}
	for _, p := range parts {
		m.Totals.Records += p.Records
		for _, f := range opts.Formats {
			n := 0
			for _, s := range p.Shards {
				if s.Format == f {
					n++
					if s.Records != p.Records {
						return nil, fmt.Errorf("commit %s: part %d: %s shard holds %d records, the part %d", opts.Version, p.Index, f, s.Records, p.Records)
					}
				}
			}
			if n != 1 {
				return nil, fmt.Errorf("commit %s: part %d has %d %s shards, want 1", opts.Version, p.Index, n, f)
			}
		}
		m.Shards = append(m.Shards, p.Shards...)
		for _, s := range p.Shards {
			if s.Format == WebDataset {
				sizes[p.WDSName] = s.Records
				wids = append(wids, wds.WidsShard{URL: p.WDSName, NSamples: s.Records, MD5Sum: p.WDSMD5, FileSize: s.Bytes})
			}
		}
		if mdsCfg != nil {
			if p.MDS == nil {
				return nil, fmt.Errorf("commit %s: part %d has no MDS entry", opts.Version, p.Index)
			}
			cfg := mdsCfg
			if p.MDS.Config != nil {
				cfg = p.MDS.Config
			}
			entries = append(entries, mds.Entry{Config: cfg, Samples: p.MDS.Samples, RawData: p.MDS.RawData, ZipData: p.MDS.ZipData})
		}
		for _, d := range p.Documents {
			docs[d] = true
		}
	}
	sort.Slice(m.Shards, func(i, j int) bool { return m.Shards[i].Path < m.Shards[j].Path })
	var side []sideFile
	for _, f := range opts.Formats {
		switch f {
		case WebDataset:
			sb, err := sizes.Marshal()
			if err != nil {
				return nil, fmt.Errorf("commit %s: %w", opts.Version, err)
			}
			ib, err := wds.NewWidsIndex(opts.Version, wids).Marshal()
			if err != nil {
				return nil, fmt.Errorf("commit %s: %w", opts.Version, err)
			}
			side = append(side, sideFile{"wds/sizes.json", sb}, sideFile{"wds/" + WidsIndexName, ib})
		case MDS:
			side = append(side, sideFile{"mds/index.json", mds.IndexJSON(entries)})
		}
	}
	for _, f := range side {
		if err := store.Put(ctx, storage.Join(opts.Version, f.path), f.data); err != nil {
			return nil, fmt.Errorf("commit %s: %w", opts.Version, err)
		}
		sum := sha256.Sum256(f.data)
		format := WebDataset
		if f.path == "mds/index.json" {
			format = MDS
		}
		m.Files = append(m.Files, FileInfo{Format: format, Path: f.path, Bytes: int64(len(f.data)), SHA256: hex.EncodeToString(sum[:])})
	}
	m.Totals.Shards = len(m.Shards)
	m.Totals.Rejects = len(m.Rejects)
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
			if r.DocSHA != "" {
				docs[r.DocSHA] = true
			}
		}
	}
	for d := range docs {
		m.Documents = append(m.Documents, d)
	}
	sort.Strings(m.Documents)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("commit %s: manifest: %w", opts.Version, err)
	}
	b = append(b, '\n')
	key := storage.Join(opts.Version, ManifestName)
	if err := store.PutIfAbsent(ctx, key, b); err != nil {
		if !errors.Is(err, storage.ErrExist) {
			return nil, fmt.Errorf("commit %s: %w", opts.Version, err)
		}
		old, rerr := storage.ReadAll(ctx, store, key)
		if rerr != nil || !bytes.Equal(old, b) {
			return nil, fmt.Errorf("commit %s: %w (a different manifest exists)", opts.Version, ErrVersionExists)
		}
	}
	if err := store.Put(ctx, LatestName, []byte(opts.Version+"\n")); err != nil {
		return m, fmt.Errorf("version %s committed, but updating %s failed: %w", opts.Version, LatestName, err)
	}
	return m, nil
}

// ShardRecords iterates over the records of one shard of the version (one of
// Manifest().Shards), with image bytes, checking the count against the manifest. Workers
// reading a version in parallel each take shards of their own.
func (d *Dataset) ShardRecords(ctx context.Context, sh ShardInfo) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		var mdsIndex map[string]mds.Entry
		if sh.Format == MDS {
			var err error
			if mdsIndex, err = d.mdsIndex(ctx); err != nil {
				yield(nil, err)
				return
			}
		}
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
		}
	}
}
