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
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/internal/quality"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
	"github.com/eosinlab/eosin/shards/wds"
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

// writeFiguresFn writes one WebDataset shard: the figures sorted by ID, each as <id>.json
// (record), <id>.txt (caption) and <id>.png (image). The object name and bytes depend only on
// the input, so a retried bundle rewrites the same object.
type writeFiguresFn struct {
	sink
	Version string `json:"version"`
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
	var buf bytes.Buffer
	w := wds.NewWriter(&buf, time.Time{})
	var index []dedupItem
	for _, it := range all {
		var fig shards.Figure
		if err := json.Unmarshal(it.Record, &fig); err != nil {
			return fmt.Errorf("figure %s: %w", it.ID, err)
		}
		di := dedupItem{ID: fig.ID, ImageSHA256: fig.Image.SHA256, Caption: fig.Caption, Committed: true}
		if h, err := quality.ParseHash(fig.PHash); err == nil {
			di.PHash, di.HasPHash = h, true
		}
		index = append(index, di)
		members := map[string][]byte{"json": it.Record, "txt": []byte(fig.Caption)}
		ext := fig.Image.Format
		if ext == "jpeg" {
			ext = "jpg"
		}
		if ext == "" {
			ext = "png"
		}
		members[ext] = it.Image
		if err := w.Write(wds.Sample{Key: it.ID, Members: members}); err != nil {
			return fmt.Errorf("shard %d: %w", shard, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("shard %d: %w", shard, err)
	}
	name := figureShardName(f.Version, shard)
	size, sum, err := f.put(ctx, path.Join(f.Version, name), buf.Bytes())
	if err != nil {
		return err
	}
	b, _ := json.Marshal(commitPart{Shard: &shardResult{Kind: "figures", Path: name, Records: len(all), Bytes: size, SHA256: sum, Index: index}})
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

// commitFn is the single commit step: it gets every shard result, document result and
// caption group, writes the side files and <version>/manifest.json (create-only), then LATEST.
// Until the manifest exists nothing of the version is visible to readers.
type commitFn struct {
	sink
	Version     string `json:"version"`
	PrevVersion string `json:"prev_version"`
	Created     string `json:"created"` // RFC 3339; fixed at launch so a retried commit writes the same bytes
	RunInfo     string `json:"run_info"`
}

func (f *commitFn) Teardown() { f.close() }

func (f *commitFn) ProcessElement(ctx context.Context, _ int, parts func(*[]byte) bool) error {
	if err := f.open(ctx); err != nil {
		return err
	}
	var prev *shards.Manifest
	if f.PrevVersion != "" {
		m, err := readManifest(ctx, f.store, f.PrevVersion)
		if err != nil {
			return err
		}
		prev = m
	}
	m, build, index, err := buildManifest(f.Version, f.Created, prev, parts)
	if err != nil {
		return err
	}
	report := BuildReport{Version: f.Version, Previous: f.PrevVersion, Created: f.Created, Build: build}
	if build.DocsProcessed+build.DocsRejected == 0 {
		// Nothing was processed: the latest version stays as it is.
		return f.writeReport(ctx, report)
	}
	if prev != nil {
		if err := f.carry(ctx, prev, m); err != nil {
			return err
		}
	}
	// The dedup index: one line per figure of the version (earlier versions' lines first),
	// read by the next build so that new figures are deduplicated against committed ones.
	ib0, err := f.dedupIndex(ctx, prev, index)
	if err != nil {
		return err
	}
	size, sum, err := f.put(ctx, path.Join(f.Version, dedupIndexName), ib0)
	if err != nil {
		return err
	}
	m.Files = append(m.Files, shards.FileInfo{Format: shards.JSONL, Path: dedupIndexName, Bytes: size, SHA256: sum})
	// Side files: OpenCLIP sizes.json and the wids index over the figure shards.
	sizes := wds.Sizes{}
	var wshards []wds.WidsShard
	for _, s := range m.Shards {
		sizes[path.Base(s.Path)] = s.Records
		wshards = append(wshards, wds.WidsShard{URL: path.Base(s.Path), NSamples: s.Records, FileSize: s.Bytes})
	}
	sb, err := sizes.Marshal()
	if err != nil {
		return err
	}
	ib, err := wds.NewWidsIndex(f.Version, wshards).Marshal()
	if err != nil {
		return err
	}
	for _, side := range []struct {
		name string
		data []byte
	}{{"wds/sizes.json", sb}, {"wds/shards.wids.json", ib}} {
		size, sum, err := f.put(ctx, path.Join(f.Version, side.name), side.data)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, shards.FileInfo{Format: shards.WebDataset, Path: side.name, Bytes: size, SHA256: sum})
	}
	finishTotals(m)
	if f.RunInfo != "" {
		var ri map[string]any
		if json.Unmarshal([]byte(f.RunInfo), &ri) == nil {
			m.Stats["run"] = ri
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	key := path.Join(f.Version, shards.ManifestName)
	if err := f.store.PutIfAbsent(ctx, key, data); err != nil {
		if !errors.Is(err, storage.ErrExist) {
			return fmt.Errorf("commit %s: %w", key, err)
		}
		// A retried commit: fine if it wrote the same manifest.
		old, rerr := storage.ReadAll(ctx, f.store, key)
		if rerr != nil || !bytes.Equal(old, data) {
			return fmt.Errorf("commit %s: a different manifest already exists", key)
		}
	}
	if err := f.store.Put(ctx, shards.LatestName, []byte(f.Version+"\n")); err != nil {
		return fmt.Errorf("commit %s: %w", shards.LatestName, err)
	}
	report.Committed = true
	return f.writeReport(ctx, report)
}

func (f *commitFn) writeReport(ctx context.Context, r BuildReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, _, err = f.put(ctx, reportKey(r.Version), b)
	return err
}

// buildManifest assembles the manifest of a version from the commit parts and the previous
// manifest (whose documents, reject counts and carried shards it extends).
func buildManifest(version, created string, prev *shards.Manifest, parts func(*[]byte) bool) (*shards.Manifest, BuildStats, []dedupItem, error) {
	ts, err := time.Parse(time.RFC3339, created)
	if err != nil {
		return nil, BuildStats{}, nil, fmt.Errorf("created %q: %w", created, err)
	}
	var index []dedupItem
	m := &shards.Manifest{
		ManifestVersion: 1,
		Version:         version,
		Created:         ts,
		Kind:            shards.KindFigure,
		Formats:         []shards.Format{shards.WebDataset},
		Shards:          []shards.ShardInfo{},
		Files:           []shards.FileInfo{},
		Stats:           map[string]any{},
		RejectCounts:    map[string]int{},
		Rejects:         []shards.Reject{},
	}
	docs := map[string]bool{}
	var build BuildStats
	var groups [][]string
	var raw []byte
	for parts(&raw) {
		var p commitPart
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, BuildStats{}, nil, fmt.Errorf("commit part: %w", err)
		}
		switch {
		case p.Shard != nil && p.Shard.Kind == "figures":
			m.Shards = append(m.Shards, shards.ShardInfo{Format: shards.WebDataset, Path: p.Shard.Path, Records: p.Shard.Records, Bytes: p.Shard.Bytes, SHA256: p.Shard.SHA256})
			build.FiguresWritten += p.Shard.Records
			index = append(index, p.Shard.Index...)
		case p.Shard != nil && p.Shard.Kind == "rejects":
			m.Files = append(m.Files, shards.FileInfo{Format: shards.JSONL, Path: p.Shard.Path, Bytes: p.Shard.Bytes, SHA256: p.Shard.SHA256})
			for i, k := range p.Shard.CountKeys {
				n := int(p.Shard.CountVals[i])
				m.RejectCounts[k] += n
				build.Rejects += n
				switch {
				case strings.HasPrefix(k, "filter/"):
					build.FiguresFiltered += n
				case strings.HasPrefix(k, "dedup/"):
					build.FiguresDuplicate += n
				case k == "ingest/unreadable":
					build.DocsUnreadable += n
				}
			}
		case p.Doc != nil:
			docs[p.Doc.SHA256] = true
			if p.Doc.Status == "ok" {
				build.DocsProcessed++
			} else {
				build.DocsRejected++
			}
			build.Pages += p.Doc.Pages
			build.PagesRejected += p.Doc.PagesBad
			build.FiguresFound += p.Doc.Figures
		case p.Range != nil:
			build.PagesRejected += p.Range.PagesBad
			build.FiguresFound += p.Range.Figures
		case p.Groups != nil:
			groups = append(groups, p.Groups...)
		default:
			build.DocsSkipped += p.Skipped
			build.DocsDuplicate += p.Duplicates
		}
	}
	if prev != nil {
		for _, d := range prev.Documents {
			docs[d] = true
		}
		for k, v := range prev.RejectCounts {
			m.RejectCounts[k] += v
		}
	}
	m.Documents = make([]string, 0, len(docs))
	for d := range docs {
		m.Documents = append(m.Documents, d)
	}
	slices.Sort(m.Documents)
	finishTotals(m)
	slices.SortFunc(groups, func(a, b []string) int { return cmp.Compare(a[0], b[0]) })
	build.CaptionGroups = len(groups)
	m.Stats["build"] = build
	m.Stats["near_duplicate_captions"] = groups
	if prev != nil {
		m.Stats["previous_version"] = prev.Version
	}
	build.DocsFound = build.DocsProcessed + build.DocsRejected + build.DocsSkipped + build.DocsDuplicate + build.DocsUnreadable
	slices.SortFunc(index, func(a, b dedupItem) int { return cmp.Compare(a.ID, b.ID) })
	return m, build, index, nil
}

// dedupIndexName is the dedup index inside a version.
const dedupIndexName = "index/dedup.jsonl"

// dedupIndex is the previous version's index followed by the new figures' lines.
func (f *commitFn) dedupIndex(ctx context.Context, prev *shards.Manifest, index []dedupItem) ([]byte, error) {
	var buf bytes.Buffer
	if prev != nil && slices.ContainsFunc(prev.Files, func(fi shards.FileInfo) bool { return fi.Path == dedupIndexName }) {
		old, err := storage.ReadAll(ctx, f.store, path.Join(prev.Version, dedupIndexName))
		if err != nil {
			return nil, fmt.Errorf("previous dedup index: %w", err)
		}
		buf.Write(old)
	}
	enc := json.NewEncoder(&buf)
	for _, it := range index {
		if err := enc.Encode(it); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// readIndexFn reads the dedup index of the previous version on a worker, so that committed
// figures take part in deduplication without riding in the pipeline definition.
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
	b, err := storage.ReadAll(ctx, f.store, path.Join(f.PrevVersion, dedupIndexName))
	if errors.Is(err, storage.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dedup index of %s: %w", f.PrevVersion, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var it dedupItem
		if err := dec.Decode(&it); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("dedup index of %s: %w", f.PrevVersion, err)
		}
		it.Committed = true
		emit(it)
	}
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
}

// BuildReport is written to <prefix>/_builds/<version>.json by every build, including builds
// that found nothing new and committed no version.
type BuildReport struct {
	Version   string     `json:"version"`
	Committed bool       `json:"committed"`
	Previous  string     `json:"previous,omitempty"`
	Created   string     `json:"created"`
	Build     BuildStats `json:"build"`
}

// reportKey is the object name of a build report.
// reportKey names a build report. The leading underscore keeps the folder out of the version
// namespace (version names start with a letter or digit), so dataset listings never take it
// for an uncommitted version.
func reportKey(version string) string { return "_builds/" + version + ".json" }

// finishTotals sorts the shard and file lists and recomputes the totals.
func finishTotals(m *shards.Manifest) {
	slices.SortFunc(m.Shards, func(a, b shards.ShardInfo) int { return cmp.Compare(a.Path, b.Path) })
	slices.SortFunc(m.Files, func(a, b shards.FileInfo) int { return cmp.Compare(a.Path, b.Path) })
	m.Totals = shards.Totals{Shards: len(m.Shards)}
	for _, s := range m.Shards {
		m.Totals.Records += s.Records
		m.Totals.Bytes += s.Bytes
	}
	for _, f := range m.Files {
		m.Totals.Bytes += f.Bytes
	}
	for _, v := range m.RejectCounts {
		m.Totals.Rejects += v
	}
}

// carry copies the figure shards and reject files of the previous version into the new one
// (versions are self-contained: a reader needs only one manifest), checking each copy against
// the sha256 the previous manifest recorded. Copies run a few at a time.
func (f *commitFn) carry(ctx context.Context, prev *shards.Manifest, m *shards.Manifest) error {
	type job struct {
		path string
		sum  string
		file bool
	}
	var jobs []job
	for _, s := range prev.ShardsOf(shards.WebDataset) {
		jobs = append(jobs, job{s.Path, s.SHA256, false})
	}
	for _, fi := range prev.Files {
		if fi.Format == shards.JSONL && strings.HasPrefix(fi.Path, "rejects/") {
			jobs = append(jobs, job{fi.Path, fi.SHA256, true})
		}
	}
	type done struct {
		j    job
		size int64
		err  error
	}
	results := make(chan done, len(jobs))
	sem := make(chan struct{}, 8)
	for _, j := range jobs {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			data, err := storage.ReadAll(ctx, f.store, path.Join(prev.Version, j.path))
			if err != nil {
				results <- done{j: j, err: fmt.Errorf("carry %s/%s: %w", prev.Version, j.path, err)}
				return
			}
			size, sum, err := f.put(ctx, path.Join(f.Version, j.path), data)
			if err == nil && j.sum != "" && sum != j.sum {
				err = fmt.Errorf("carry %s/%s: sha256 %s, the manifest says %s", prev.Version, j.path, sum, j.sum)
			}
			results <- done{j: j, size: size, err: err}
		}()
	}
	var firstErr error
	recs := map[string]int{}
	for _, s := range prev.Shards {
		recs[s.Path] = s.Records
	}
	for range jobs {
		d := <-results
		if d.err != nil {
			if firstErr == nil {
				firstErr = d.err
			}
			continue
		}
		if d.j.file {
			m.Files = append(m.Files, shards.FileInfo{Format: shards.JSONL, Path: d.j.path, Bytes: d.size, SHA256: d.j.sum})
		} else {
			m.Shards = append(m.Shards, shards.ShardInfo{Format: shards.WebDataset, Path: d.j.path, Records: recs[d.j.path], Bytes: d.size, SHA256: d.j.sum})
		}
	}
	return firstErr
}

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
