package pipelines

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/internal/quality"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

func init() {
	register.DoFn4x0[context.Context, figItem, int, func(int, figItem)](&figShardKeyFn{})
	register.DoFn4x0[context.Context, shards.Reject, int, func(int, shards.Reject)](&rejectShardKeyFn{})
	register.DoFn4x1[context.Context, int, func(*figItem) bool, func([]byte), error](&writeFiguresFn{})
	register.DoFn4x1[context.Context, int, func(*shards.Reject) bool, func([]byte), error](&writeRejectsFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&commitFn{})
	register.DoFn3x1[context.Context, []byte, func(dedupItem), error](&readIndexFn{})
	register.Function1x1(docResultPart)
	register.Function1x1(rangeResultPart)
	register.Function1x1(countOne)
	register.Function1x1(countReject)
	register.Emitter2[int, figItem]()
	register.Emitter2[int, shards.Reject]()
	register.Iter1[shards.Reject]()
	register.Iter1[[]byte]()
}

// countOne and countReject map elements to 1 for counting.
func countOne(figItem) int             { return 1 }
func countReject(shards.Reject) int    { return 1 }
func docResultPart(d docResult) []byte { b, _ := json.Marshal(commitPart{Doc: &d}); return b }
func rangeResultPart(r rangeResult) []byte {
	b, _ := json.Marshal(commitPart{Range: &r})
	return b
}

// figShardKeyFn assigns a figure to a shard: a hash of its ID modulo the shard count, which
// depends only on the number of kept figures, so a rerun writes the same shards.
type figShardKeyFn struct {
	PerShard int `json:"per_shard"`
}

func (f *figShardKeyFn) ProcessElement(_ context.Context, it figItem, total int, emit func(int, figItem)) {
	emit(beamrun.ShardOf(it.ID, total, f.PerShard), it)
}

// rejectShardKeyFn assigns a reject record to a reject file.
type rejectShardKeyFn struct {
	PerShard int `json:"per_shard"`
}

func (f *rejectShardKeyFn) ProcessElement(_ context.Context, r shards.Reject, total int, emit func(int, shards.Reject)) {
	emit(beamrun.ShardOf(rejectKey(r), total, f.PerShard), r)
}

func rejectKey(r shards.Reject) string {
	return fmt.Sprintf("%s|%s|%s|%s|%d|%s|%s", r.Stage, r.Kind, r.URI, r.DocSHA, r.Page, r.ID, r.Reason)
}

// Object names inside a version. Shards carry the version that wrote them, so shards carried
// over from earlier versions never collide with new ones.
func figureShardName(version string, n int) string {
	return fmt.Sprintf("wds/shard-%s-%06d.tar", version, n)
}

func rejectShardName(version string, n int) string {
	return fmt.Sprintf("rejects/part-%s-%06d.jsonl", version, n)
}

// sink writes whole objects under the dataset prefix.
type sink struct {
	Output string     `json:"output"`
	S3     S3Settings `json:"s3"`
	store  storage.Store
}

func (s *sink) open(ctx context.Context) error {
	if s.store != nil {
		return nil
	}
	st, err := storage.Open(ctx, s.Output, s.S3.Config())
	if err != nil {
		return fmt.Errorf("output %s: %w", s.Output, err)
	}
	s.store = st
	return nil
}

func (s *sink) close() {
	if s.store != nil {
		s.store.Close()
		s.store = nil
	}
}

// put writes data to key atomically and returns its size and sha256.
func (s *sink) put(ctx context.Context, key string, data []byte) (int64, string, error) {
	if err := s.open(ctx); err != nil {
		return 0, "", err
	}
	w, err := s.store.Create(ctx, key)
	if err != nil {
		return 0, "", fmt.Errorf("create %s: %w", key, err)
	}
	if _, err := w.Write(data); err != nil {
		w.Abort()
		return 0, "", fmt.Errorf("write %s: %w", key, err)
	}
	if err := w.Commit(ctx); err != nil {
		return 0, "", fmt.Errorf("commit %s: %w", key, err)
	}
	sum := sha256.Sum256(data)
	return int64(len(data)), hex.EncodeToString(sum[:]), nil
}

// writeFiguresFn writes one part of the figure dataset: the figures sorted by ID, as one shard
// in every format (shards.WritePart; names carry the version, so no other build's shard
// ever has the name). The object names and bytes depend only on the input, so a retried
// bundle rewrites the same objects.
type writeFiguresFn struct {
	sink
	Version string   `json:"version"`
	Formats []string `json:"formats"`
}

func (f *writeFiguresFn) Teardown() { f.close() }

func (f *writeFiguresFn) ProcessElement(ctx context.Context, shard int, items func(*figItem) bool, emit func([]byte)) error {
	var all []figItem
	var it figItem
	for items(&it) {
		all = append(all, it)
	}
	slices.SortFunc(all, func(a, b figItem) int { return cmp.Compare(a.ID, b.ID) })
	all = slices.CompactFunc(all, func(a, b figItem) bool { return a.ID == b.ID })
	var index []dedupItem
	figs := make([]*shards.Figure, 0, len(all))
	for _, it := range all {
		var fig shards.Figure
		if err := json.Unmarshal(it.Record, &fig); err != nil {
			return fmt.Errorf("figure %s: %w", it.ID, err)
		}
		di := dedupItem{ID: fig.ID, ImageSHA256: fig.Image.SHA256, Caption: fig.Caption, Committed: true, Doc: fig.Doc.SHA256}
		if h, err := quality.ParseHash(fig.PHash); err == nil {
			di.PHash, di.HasPHash = h, true
		}
		index = append(index, di)
		fig.ImageBytes = it.Image
		figs = append(figs, &fig)
	}
	if err := f.open(ctx); err != nil {
		return err
	}
	formats, err := shards.ParseFormats(strings.Join(f.Formats, ","))
	if err != nil {
		return err
	}
	part, err := shards.WritePart(ctx, f.store, shards.WriteOptions{Formats: formats, Version: f.Version, ShardTag: f.Version},
		shard, 0, shards.PartRecords{Kind: shards.KindFigure, Figures: figs})
	if err != nil {
		return fmt.Errorf("figure shard %d: %w", shard, err)
	}
	b, _ := json.Marshal(commitPart{Figures: &figPart{Part: *part, Index: index}})
	emit(b)
	return nil
}

// writeRejectsFn writes one JSON-lines file of reject records, sorted.
type writeRejectsFn struct {
	sink
	Version string `json:"version"`
}

func (f *writeRejectsFn) Teardown() { f.close() }

func (f *writeRejectsFn) ProcessElement(ctx context.Context, shard int, items func(*shards.Reject) bool, emit func([]byte)) error {
	var lines [][]byte
	counts := map[string]int64{}
	var r shards.Reject
	for items(&r) {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("reject: %w", err)
		}
		lines = append(lines, b)
	}
	slices.SortFunc(lines, bytes.Compare)
	lines = slices.CompactFunc(lines, bytes.Equal)
	for _, l := range lines {
		var r shards.Reject
		_ = json.Unmarshal(l, &r)
		counts[r.Stage+"/"+r.Reason]++
	}
	data := append(bytes.Join(lines, []byte("\n")), '\n')
	name := rejectShardName(f.Version, shard)
	size, sum, err := f.put(ctx, path.Join(f.Version, name), data)
	if err != nil {
		return err
	}
	res := shardResult{Kind: "rejects", Path: name, Records: len(lines), Bytes: size, SHA256: sum}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		res.CountKeys = append(res.CountKeys, k)
		res.CountVals = append(res.CountVals, counts[k])
	}
	b, _ := json.Marshal(commitPart{Shard: &res})
	emit(b)
	return nil
}

// readIndexFn reads the dedup index of the base version on a worker (every segment its
// manifest lists: one per version that added figures), so that committed figures take part in
// deduplication without riding in the pipeline definition.
type readIndexFn struct {
	sink
	PrevVersion string `json:"prev_version"`
}

func (f *readIndexFn) Teardown() { f.close() }

func (f *readIndexFn) ProcessElement(ctx context.Context, _ []byte, emit func(dedupItem)) error {
	if f.PrevVersion == "" {
		return nil
	}
	if err := f.open(ctx); err != nil {
		return err
	}
	m, err := readManifest(ctx, f.store, f.PrevVersion)
	if err != nil {
		return err
	}
	for _, fi := range m.Files {
		if !strings.HasPrefix(fi.Path, "index/dedup") {
			continue
		}
		b, err := storage.ReadAll(ctx, f.store, fi.Key(f.PrevVersion))
		if err != nil {
			return fmt.Errorf("dedup index of %s: %w", f.PrevVersion, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var it dedupItem
			if err := dec.Decode(&it); err == io.EOF {
				break
			} else if err != nil {
				return fmt.Errorf("dedup index %s of %s: %w", fi.Path, f.PrevVersion, err)
			}
			it.Committed = true
			emit(it)
		}
	}
	return nil
}

// BuildStats are the exact counts of one build, computed from the data that reached the commit
// step (Beam metrics drive the progress line; on some runners they are approximate).
type BuildStats struct {
	DocsFound        int `json:"documents_found"`
	DocsSkipped      int `json:"documents_skipped"`
	DocsDuplicate    int `json:"documents_duplicate"`
	DocsUnreadable   int `json:"documents_unreadable"`
	DocsProcessed    int `json:"documents_processed"`
	DocsRejected     int `json:"documents_rejected"`
	Pages            int `json:"pages"`
	PagesRejected    int `json:"pages_rejected"`
	FiguresFound     int `json:"figures_found"`
	FiguresFiltered  int `json:"figures_filtered"`
	FiguresDuplicate int `json:"figures_duplicate"`
	FiguresWritten   int `json:"figures_written"`
	Rejects          int `json:"rejects"`
	CaptionGroups    int `json:"near_duplicate_caption_groups"`
	// Packages counts the article packages among the processed and rejected documents.
	Packages int `json:"packages,omitempty"`
	// Agreement compares the PDF-only extraction with the article XML wherever a package's
	// PDF was read (recall and precision of captions, per journal).
	Agreement *articles.Report `json:"agreement,omitempty"`
}

// BuildReport is written to <prefix>/_builds/<version>.json by every build, including builds
// that found nothing new and committed no version.
type BuildReport struct {
	Version   string `json:"version"`
	Committed bool   `json:"committed"`
	// Superseded: a concurrent build committed every document this one processed (SupersededBy
	// names its version); this one committed nothing and needs no rerun.
	Superseded   bool   `json:"superseded,omitempty"`
	SupersededBy string `json:"superseded_by,omitempty"`
	// Conflict explains why a build that processed documents committed nothing.
	Conflict string     `json:"conflict,omitempty"`
	Previous string     `json:"previous,omitempty"`
	Created  string     `json:"created"`
	Build    BuildStats `json:"build"`
}

// reportKey is the object name of a build report.
// reportKey names a build report. The leading underscore keeps the folder out of the version
// namespace (version names start with a letter or digit), so dataset listings never take it
// for an uncommitted version.
func reportKey(version string) string { return "_builds/" + version + ".json" }

// readManifest reads and checks <version>/manifest.json.
func readManifest(ctx context.Context, st storage.Store, version string) (*shards.Manifest, error) {
	b, err := storage.ReadAll(ctx, st, path.Join(version, shards.ManifestName))
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", version, err)
	}
	return shards.ParseManifest(b)
}

// readLatest returns the committed version LATEST names ("" when there is none yet).
func readLatest(ctx context.Context, st storage.Store) (string, error) {
	o, err := st.Open(ctx, shards.LatestName)
	if errors.Is(err, storage.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", shards.LatestName, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", shards.LatestName, err)
	}
	return strings.TrimSpace(string(b)), nil
}
