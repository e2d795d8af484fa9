package pipelines

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/mds"
	"github.com/eosinlab/eosin/shards/storage"
	"github.com/eosinlab/eosin/shards/wds"
)

// commitFn is the single commit step. It gets every part result, document result and caption
// group, and makes the version a snapshot: the new parts, plus the parts, reject files and
// dedup index segments of the base version by reference (those holding documents processed
// again are rewritten without them), the side indexes, a dataset card, then
// <version>/manifest.json (create-only), then LATEST with a compare-and-swap from the version
// the build started from. When another build committed in between, the commit is rebased on
// it (the documents of both are kept), or, when both processed the same documents, this build
// gives way (everything it processed is already committed) or fails with a clear message;
// it never drops documents silently. Until LATEST names the version, readers ignore it.
type commitFn struct {
	sink
	Version string   `json:"version"`
	Base    string   `json:"base"`   // the version the build started from ("" for a full build)
	Parent  string   `json:"parent"` // the version LATEST named when the build started
	Created string   `json:"created"`
	RunInfo string   `json:"run_info"`
	Formats []string `json:"formats"`
	// Settings are the build's configuration keys (JSON); Fingerprint and Extraction the
	// fingerprint of the extraction settings and those settings (JSON).
	Settings    string `json:"settings"`
	Fingerprint string `json:"fingerprint"`
	Extraction  string `json:"extraction"`
	Eosin       string `json:"eosin"`
	// Stage is the build's staging (staging.go): what the commit covers leaves it.
	Stage stage `json:"stage"`
}

func (f *commitFn) Teardown() {
	f.close()
	f.Stage.close()
}

// collected is what the commit step received.
type collected struct {
	parts     []figPart
	rejects   []shardResult
	processed map[string]bool // documents processed by this build (records or rejects)
	build     BuildStats
	groups    [][]string
	// agreements are the article packages' DocAgreement (JSON), one per package whose PDF was read.
	agreements [][]byte
}

func collect(parts func(*[]byte) bool) (*collected, error) {
	c := &collected{processed: map[string]bool{}}
	var raw []byte
	for parts(&raw) {
		var p commitPart
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("commit part: %w", err)
		}
		switch {
		case p.Figures != nil:
			c.parts = append(c.parts, *p.Figures)
			c.build.FiguresWritten += p.Figures.Part.Records
		case p.Shard != nil:
			c.rejects = append(c.rejects, *p.Shard)
			for i, k := range p.Shard.CountKeys {
				n := int(p.Shard.CountVals[i])
				c.build.Rejects += n
				switch {
				case strings.HasPrefix(k, "filter/"):
					c.build.FiguresFiltered += n
				case strings.HasPrefix(k, "dedup/"):
					c.build.FiguresDuplicate += n
				case strings.HasPrefix(k, "ingest/") && k != "ingest/duplicate_document" && k != "ingest/changed":
					// documents (and article packages) that could not be fingerprinted
					c.build.DocsUnreadable += n
				}
			}
		case p.Doc != nil:
			c.processed[p.Doc.SHA256] = true
			if p.Doc.Status == "ok" {
				c.build.DocsProcessed++
			} else {
				c.build.DocsRejected++
			}
			c.build.Pages += p.Doc.Pages
			c.build.PagesRejected += p.Doc.PagesBad
			c.build.FiguresFound += p.Doc.Figures
			if p.Doc.Package {
				c.build.Packages++
			}
			if len(p.Doc.Agreement) > 0 {
				c.agreements = append(c.agreements, p.Doc.Agreement)
			}
		case p.Range != nil:
			c.build.PagesRejected += p.Range.PagesBad
			c.build.FiguresFound += p.Range.Figures
		case p.Groups != nil:
			c.groups = append(c.groups, p.Groups...)
		default:
			c.build.DocsSkipped += p.Skipped
			c.build.DocsDuplicate += p.Duplicates
		}
	}
	slices.SortFunc(c.parts, func(a, b figPart) int { return cmp.Compare(a.Part.Index, b.Part.Index) })
	slices.SortFunc(c.rejects, func(a, b shardResult) int { return cmp.Compare(a.Path, b.Path) })
	slices.SortFunc(c.groups, func(a, b []string) int { return cmp.Compare(a[0], b[0]) })
	c.build.CaptionGroups = len(c.groups)
	if len(c.agreements) > 0 {
		docs, err := articleAgreements(c.agreements)
		if err != nil {
			return nil, err
		}
		r := articles.NewReport(docs)
		c.build.Agreement = &r
	}
	c.build.DocsFound = c.build.DocsProcessed + c.build.DocsRejected + c.build.DocsSkipped + c.build.DocsDuplicate + c.build.DocsUnreadable
	return c, nil
}

func (f *commitFn) ProcessElement(ctx context.Context, _ int, parts func(*[]byte) bool) error {
	if err := f.open(ctx); err != nil {
		return err
	}
	c, err := collect(parts)
	if err != nil {
		return err
	}
	report := BuildReport{Version: f.Version, Previous: f.Parent, Created: f.Created, Build: c.build}
	if c.build.DocsProcessed+c.build.DocsRejected == 0 {
		// Nothing was processed: the latest version stays as it is, and this build's
		// objects (reject files of duplicates, the reservation) go.
		f.discard(ctx, c)
		return f.writeReport(ctx, report)
	}
	parent, base := f.Parent, f.Base
	for attempt := 1; ; attempt++ {
		cur, err := shards.ReadLatest(ctx, f.store)
		if err != nil {
			return err
		}
		if cur == f.Version { // a retried commit whose swap had succeeded
			break
		}
		if cur != parent {
			next, msg, err := f.rebase(ctx, c, base, cur)
			if err != nil {
				return err
			}
			if msg != "" {
				f.discard(ctx, c)
				report.Superseded, report.Conflict = next == "", ""
				if next != "" {
					report.Conflict = msg
				} else {
					report.SupersededBy = cur
				}
				slog.Warn(msg)
				if report.Superseded {
					f.Stage.removeDocs(ctx, c.processed) // committed by the other build
				}
				return f.writeReport(ctx, report)
			}
			slog.Info("another build committed since this one started: rebasing on it", "version", f.Version, "started_from", parent, "now", cur)
			parent, base = cur, next
		}
		m, err := f.assemble(ctx, c, base, parent)
		if err != nil {
			return err
		}
		if err := f.writeManifest(ctx, m); err != nil {
			return err
		}
		err = shards.MoveLatest(ctx, f.store, parent, f.Version)
		if err == nil {
			break
		}
		if !errors.Is(err, shards.ErrLatestMoved) || attempt >= 20 {
			return fmt.Errorf("commit %s: %w", f.Version, err)
		}
		// LATEST moved between the check and the swap: withdraw the manifest (nothing
		// points at it) and rebase.
		if err := f.store.Delete(ctx, path.Join(f.Version, shards.ManifestName)); err != nil {
			return fmt.Errorf("commit %s: withdraw manifest: %w", f.Version, err)
		}
	}
	report.Committed = true
	f.Stage.removeDocs(ctx, c.processed)
	return f.writeReport(ctx, report)
}

// rebase decides what to do when LATEST moved from the build's start version to cur. It
// returns the version to build on, or a message when the build must not commit: next ""
// when everything this build processed is already in cur with the same settings (the build
// gives way), next non-empty with a conflict when both builds processed some of the same
// documents (a rerun adds the rest).
func (f *commitFn) rebase(ctx context.Context, c *collected, base, cur string) (next, msg string, err error) {
	mx, err := readManifest(ctx, f.store, cur)
	if err != nil {
		return "", "", fmt.Errorf("rebase on %s: %w", cur, err)
	}
	var mb *shards.Manifest
	if base != "" {
		if mb, err = readManifest(ctx, f.store, base); err != nil {
			return "", "", fmt.Errorf("rebase: %w", err)
		}
	}
	inBase := docSettings(mb)
	inCur := docSettings(mx)
	var overlap, covered int
	for d := range c.processed {
		fx, inX := inCur[d]
		if inX && fx == f.Fingerprint {
			covered++
		}
		fb, inB := inBase[d]
		if inX && (!inB || fb != fx) {
			overlap++ // cur added (or processed again) a document this build processed too
		}
	}
	if covered == len(c.processed) {
		return "", fmt.Sprintf("build %s: the concurrent build %s committed every document this build processed, with the same settings; nothing to add", f.Version, cur), nil
	}
	if overlap > 0 || base == "" || !descends(ctx, f.store, mx, base) {
		return "x", fmt.Sprintf("build %s was not committed: the concurrent build %s committed while it ran and processed %d of the same documents (or is not based on %q); run the build again to add the %d documents it lacks",
			f.Version, cur, overlap, base, len(c.processed)-covered), nil
	}
	return cur, "", nil
}

// descends reports whether version base is m or one of its ancestors.
func descends(ctx context.Context, st storage.Store, m *shards.Manifest, base string) bool {
	for n := 0; m != nil && n < 1000; n++ {
		if m.Version == base {
			return true
		}
		if m.Parent == "" || m.Base == "" {
			return false
		}
		p, err := readManifest(ctx, st, m.Parent)
		if err != nil {
			return false
		}
		m = p
	}
	return false
}

// docSettings maps each document of m to its settings fingerprint ("" when not recorded).
func docSettings(m *shards.Manifest) map[string]string {
	out := map[string]string{}
	if m == nil {
		return out
	}
	for _, d := range m.Documents {
		out[d] = m.DocumentSettings[d]
	}
	return out
}

// discard deletes this build's objects when it commits nothing.
func (f *commitFn) discard(ctx context.Context, c *collected) {
	var keys []string
	for _, p := range c.parts {
		for _, s := range p.Part.Shards {
			keys = append(keys, s.Key(f.Version))
		}
	}
	for _, r := range c.rejects {
		keys = append(keys, path.Join(f.Version, r.Path))
	}
	keys = append(keys, path.Join(f.Version, shards.ReservationName))
	for _, k := range keys {
		if err := f.store.Delete(ctx, k); err != nil {
			slog.Warn("discard", "object", k, "err", err)
		}
	}
}

// assemble builds the manifest of the version on base: base's objects by reference, minus
// the documents this build processed again, plus this build's parts and reject files.
func (f *commitFn) assemble(ctx context.Context, c *collected, base, parent string) (*shards.Manifest, error) {
	ts, err := time.Parse(time.RFC3339, f.Created)
	if err != nil {
		return nil, fmt.Errorf("created %q: %w", f.Created, err)
	}
	formats, err := shards.ParseFormats(strings.Join(f.Formats, ","))
	if err != nil {
		return nil, err
	}
	m := &shards.Manifest{
		ManifestVersion: 2, Version: f.Version, Created: ts, Kind: shards.KindFigure, Formats: formats,
		Shards: []shards.ShardInfo{}, Files: []shards.FileInfo{}, Stats: map[string]any{},
		RejectCounts: map[string]int{}, Rejects: []shards.Reject{},
		Parent: parent, Base: base, Eosin: f.Eosin, DocumentSettings: map[string]string{},
		Fingerprints: map[string]map[string]any{},
	}
	_ = json.Unmarshal([]byte(f.Settings), &m.Settings)
	var ext map[string]any
	_ = json.Unmarshal([]byte(f.Extraction), &ext)
	m.Fingerprints[f.Fingerprint] = ext

	wids := map[string]wds.WidsShard{} // by shard basename
	mdsEntries := map[string]mds.Entry{}
	var rewritten int
	if base != "" {
		mb, err := readManifest(ctx, f.store, base)
		if err != nil {
			return nil, err
		}
		if err := f.carry(ctx, c, mb, m, wids, mdsEntries, &rewritten); err != nil {
			return nil, err
		}
	}
	// This build's parts, reject files and dedup index segment.
	var index []dedupItem
	for _, p := range c.parts {
		for _, s := range p.Part.Shards {
			s.Part = partID(f.Version, p.Part.Index)
			m.Shards = append(m.Shards, s)
			if s.Format == shards.WebDataset {
				wids[p.Part.WDSName] = wds.WidsShard{URL: p.Part.WDSName, NSamples: s.Records, MD5Sum: p.Part.WDSMD5, FileSize: s.Bytes}
			}
			if s.Format == shards.MDS && p.Part.MDS != nil {
				e := mds.Entry{Config: p.Part.MDS.Config, Samples: p.Part.MDS.Samples, RawData: p.Part.MDS.RawData, ZipData: p.Part.MDS.ZipData}
				mdsEntries[path.Base(s.Path)] = e
			}
		}
		index = append(index, p.Index...)
	}
	for _, r := range c.rejects {
		m.Files = append(m.Files, shards.FileInfo{Format: shards.JSONL, Path: r.Path, Bytes: r.Bytes, SHA256: r.SHA256})
		for i, k := range r.CountKeys {
			m.RejectCounts[k] += int(r.CountVals[i])
		}
	}
	if len(index) > 0 {
		slices.SortFunc(index, func(a, b dedupItem) int { return cmp.Compare(a.ID, b.ID) })
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for _, it := range index {
			if err := enc.Encode(it); err != nil {
				return nil, err
			}
		}
		name := "index/dedup-" + f.Version + ".jsonl"
		size, sum, err := f.put(ctx, path.Join(f.Version, name), buf.Bytes())
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, shards.FileInfo{Format: shards.JSONL, Path: name, Bytes: size, SHA256: sum})
	}
	for d := range c.processed {
		m.DocumentSettings[d] = f.Fingerprint
	}
	for d := range m.DocumentSettings {
		m.Documents = append(m.Documents, d)
	}
	slices.Sort(m.Documents)
	for fp := range m.Fingerprints {
		used := false
		for _, v := range m.DocumentSettings {
			if v == fp {
				used = true
				break
			}
		}
		if !used {
			delete(m.Fingerprints, fp)
		}
	}
	if err := f.sideFiles(ctx, m, wids, mdsEntries); err != nil {
		return nil, err
	}
	finishTotals(m)
	m.Stats["build"] = c.build
	m.Stats["near_duplicate_captions"] = c.groups
	if base != "" {
		m.Stats["previous_version"] = base
	}
	if f.RunInfo != "" {
		var ri map[string]any
		if json.Unmarshal([]byte(f.RunInfo), &ri) == nil {
			m.Stats["run"] = ri
		}
	}
	return m, nil
}

// partID names a part: the version that wrote it and its number.
func partID(version string, index int) string { return fmt.Sprintf("%s:%d", version, index) }

// carry adds the objects of base mb to m by reference. Parts, reject files and dedup index
// segments holding documents this build processed again are rewritten without them (under
// this version); MDS shards are copied, since MDS readers resolve index.json names inside the
// index's directory.
func (f *commitFn) carry(ctx context.Context, c *collected, mb *shards.Manifest, m *shards.Manifest, wids map[string]wds.WidsShard, mdsEntries map[string]mds.Entry, rewritten *int) error {
	again := map[string]bool{} // documents of the base processed again
	for _, d := range mb.Documents {
		if c.processed[d] {
			again[d] = true
		}
	}
	for d, fp := range mb.DocumentSettings {
		if !again[d] {
			m.DocumentSettings[d] = fp
		}
	}
	for _, d := range mb.Documents {
		if _, ok := mb.DocumentSettings[d]; !ok && !again[d] {
			m.DocumentSettings[d] = "" // processed before settings were recorded
		}
	}
	for fp, s := range mb.Fingerprints {
		if _, ok := m.Fingerprints[fp]; !ok {
			m.Fingerprints[fp] = s
		}
	}
	ds, err := shards.OpenIn(ctx, f.store, mb.Version, shards.ReadOptions{})
	if err != nil {
		return fmt.Errorf("base version: %w", err)
	}
	baseWids, baseMDS, err := baseIndexes(ctx, f.store, mb)
	if err != nil {
		return err
	}
	// Group the base's shards into parts (all formats of the same records).
	type group struct {
		id     string
		shards []shards.ShardInfo
	}
	var groups []*group
	byID := map[string]*group{}
	for _, s := range mb.Shards {
		id := s.Part
		if id == "" { // a version without parts: each WebDataset shard is one
			id = s.Key(mb.Version)
		}
		g := byID[id]
		if g == nil {
			g = &group{id: id}
			byID[id] = g
			groups = append(groups, g)
		}
		g.shards = append(g.shards, s)
	}
	formatsChanged := !sameFormats(mb.Formats, m.Formats)
	for _, g := range groups {
		keep := true
		if len(again) > 0 || formatsChanged {
			src := g.shards[0]
			for _, s := range g.shards[1:] {
				if formatRank(s.Format) < formatRank(src.Format) {
					src = s
				}
			}
			var figs []*shards.Figure
			dropped := 0
			for rec, err := range ds.ShardRecords(ctx, src) {
				if err != nil {
					return fmt.Errorf("base shard %s: %w", src.Path, err)
				}
				if rec.Figure == nil {
					continue
				}
				if again[rec.Figure.Doc.SHA256] {
					dropped++
					continue
				}
				figs = append(figs, rec.Figure)
			}
			if dropped > 0 || formatsChanged {
				keep = false
				if len(figs) > 0 {
					tag := f.Version + "-r"
					p, err := shards.WritePart(ctx, f.store, shards.WriteOptions{Formats: m.Formats, Version: f.Version, ShardTag: tag},
						*rewritten, 0, shards.PartRecords{Kind: shards.KindFigure, Figures: figs})
					if err != nil {
						return fmt.Errorf("rewrite %s: %w", src.Path, err)
					}
					for _, s := range p.Shards {
						s.Part = partID(tag, p.Index)
						m.Shards = append(m.Shards, s)
						if s.Format == shards.WebDataset {
							wids[p.WDSName] = wds.WidsShard{URL: p.WDSName, NSamples: s.Records, MD5Sum: p.WDSMD5, FileSize: s.Bytes}
						}
						if s.Format == shards.MDS && p.MDS != nil {
							mdsEntries[path.Base(s.Path)] = mds.Entry{Config: p.MDS.Config, Samples: p.MDS.Samples, RawData: p.MDS.RawData, ZipData: p.MDS.ZipData}
						}
					}
					*rewritten++
				}
			}
		}
		if !keep {
			continue
		}
		for _, s := range g.shards {
			if !slices.Contains(m.Formats, s.Format) {
				continue
			}
			own := s.Version == ""
			if s.Format == shards.MDS {
				// Copied: MDS readers find shards by name inside the index's directory.
				if err := f.copyObject(ctx, s.Key(mb.Version), path.Join(f.Version, s.Path)); err != nil {
					return err
				}
				if e, ok := baseMDS[path.Base(s.Path)]; ok {
					mdsEntries[path.Base(s.Path)] = e
				}
				s.Version = ""
				m.Shards = append(m.Shards, s)
				continue
			}
			if own {
				s.Version = mb.Version
			}
			if s.Part == "" {
				s.Part = g.id
			}
			m.Shards = append(m.Shards, s)
			if s.Format == shards.WebDataset {
				w := baseWids[path.Base(s.Path)]
				w.URL = "../" + s.Version + "/" + s.Path
				w.NSamples, w.FileSize = s.Records, s.Bytes
				wids[path.Base(s.Path)] = w
			}
		}
	}
	// Reject files and dedup index segments: referenced, or rewritten without the documents
	// processed again.
	for _, fi := range mb.Files {
		isRej := strings.HasPrefix(fi.Path, "rejects/")
		isIdx := strings.HasPrefix(fi.Path, "index/dedup")
		if !isRej && !isIdx {
			continue
		}
		data, err := storage.ReadAll(ctx, f.store, fi.Key(mb.Version))
		if err != nil {
			return fmt.Errorf("base %s: %w", fi.Path, err)
		}
		var kept [][]byte
		dropped := 0
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var doc string
			if isRej {
				var r shards.Reject
				if err := json.Unmarshal(line, &r); err != nil {
					return fmt.Errorf("base %s: %w", fi.Path, err)
				}
				doc = r.DocSHA
				if !again[doc] {
					m.RejectCounts[r.Stage+"/"+r.Reason]++
				}
			} else {
				var it dedupItem
				if err := json.Unmarshal(line, &it); err != nil {
					return fmt.Errorf("base %s: %w", fi.Path, err)
				}
				doc = it.Doc
			}
			if again[doc] {
				dropped++
				continue
			}
			kept = append(kept, line)
		}
		if dropped == 0 {
			if fi.Version == "" {
				fi.Version = mb.Version
			}
			m.Files = append(m.Files, fi)
			continue
		}
		if len(kept) == 0 {
			continue
		}
		ext := path.Ext(fi.Path)
		name := fmt.Sprintf("%s-%s-r%d%s", strings.TrimSuffix(fi.Path, ext), f.Version, *rewritten, ext)
		*rewritten++
		size, sum, err := f.put(ctx, path.Join(f.Version, name), append(bytes.Join(kept, []byte("\n")), '\n'))
		if err != nil {
			return err
		}
		m.Files = append(m.Files, shards.FileInfo{Format: shards.JSONL, Path: name, Bytes: size, SHA256: sum})
	}
	if len(mb.RejectFiles()) == 0 {
		for k, v := range mb.RejectCounts { // counts of a base without reject files
			m.RejectCounts[k] += v
		}
	}
	return nil
}

// sameFormats reports whether two format lists hold the same formats.
func sameFormats(a, b []shards.Format) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(f shards.Format) bool { return !slices.Contains(b, f) })
}

// formatRank orders the formats to read records from: those with image bytes first.
func formatRank(f shards.Format) int {
	if i := slices.Index(shards.Formats, f); i >= 0 {
		return i
	}
	return len(shards.Formats)
}

// baseIndexes reads the wids index (by shard basename) and MDS index entries (by shard
// basename) of a version.
func baseIndexes(ctx context.Context, st storage.Store, mb *shards.Manifest) (map[string]wds.WidsShard, map[string]mds.Entry, error) {
	wids := map[string]wds.WidsShard{}
	ents := map[string]mds.Entry{}
	for _, fi := range mb.Files {
		switch fi.Path {
		case "wds/" + shards.WidsIndexName:
			b, err := storage.ReadAll(ctx, st, fi.Key(mb.Version))
			if err != nil {
				return nil, nil, err
			}
			x, err := wds.ParseWidsIndex(b)
			if err != nil {
				return nil, nil, fmt.Errorf("%s@%s: %w", st, mb.Version, err)
			}
			for _, s := range x.ShardList {
				wids[path.Base(s.URL)] = s
			}
		case "mds/index.json":
			b, err := storage.ReadAll(ctx, st, fi.Key(mb.Version))
			if err != nil {
				return nil, nil, err
			}
			es, err := mds.ParseIndex(b)
			if err != nil {
				return nil, nil, fmt.Errorf("%s@%s: %w", st, mb.Version, err)
			}
			for _, e := range es {
				ents[path.Base(e.Basename())] = e
			}
		}
	}
	return wids, ents, nil
}

// copyObject copies an object within the store, streaming.
func (f *commitFn) copyObject(ctx context.Context, from, to string) error {
	o, err := f.store.Open(ctx, from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	defer o.Close()
	w, err := f.store.Create(ctx, to)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if _, err := io.Copy(w, o); err != nil {
		w.Abort()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return w.Commit(ctx)
}

// sideFiles writes the indexes of the version's formats (WebDataset sizes.json and wids
// index, MDS index.json) and, with Parquet, the dataset card README.md.
func (f *commitFn) sideFiles(ctx context.Context, m *shards.Manifest, wids map[string]wds.WidsShard, mdsEntries map[string]mds.Entry) error {
	slices.SortFunc(m.Shards, func(a, b shards.ShardInfo) int {
		return cmp.Or(cmp.Compare(a.Format, b.Format), cmp.Compare(path.Base(a.Path), path.Base(b.Path)))
	})
	type side struct {
		name   string
		format shards.Format
		data   []byte
	}
	var files []side
	if m.Has(shards.WebDataset) {
		sizes := wds.Sizes{}
		var list []wds.WidsShard
		for _, s := range m.ShardsOf(shards.WebDataset) {
			base := path.Base(s.Path)
			sizes[base] = s.Records
			w, ok := wids[base]
			if !ok {
				w = wds.WidsShard{URL: base, NSamples: s.Records, FileSize: s.Bytes}
			}
			list = append(list, w)
		}
		sb, err := sizes.Marshal()
		if err != nil {
			return err
		}
		ib, err := wds.NewWidsIndex(f.Version, list).Marshal()
		if err != nil {
			return err
		}
		files = append(files, side{"wds/sizes.json", shards.WebDataset, sb}, side{"wds/" + shards.WidsIndexName, shards.WebDataset, ib})
	}
	if m.Has(shards.MDS) {
		var es []mds.Entry
		for _, s := range m.ShardsOf(shards.MDS) {
			e, ok := mdsEntries[path.Base(s.Path)]
			if !ok {
				return fmt.Errorf("MDS shard %s: no index entry", s.Path)
			}
			es = append(es, e)
		}
		files = append(files, side{"mds/index.json", shards.MDS, mds.IndexJSON(es)})
	}
	if m.Has(shards.Parquet) {
		files = append(files, side{"README.md", shards.Parquet, datasetCard(m)})
	}
	for _, sf := range files {
		size, sum, err := f.put(ctx, path.Join(f.Version, sf.name), sf.data)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, shards.FileInfo{Format: sf.format, Path: sf.name, Bytes: size, SHA256: sum})
	}
	return nil
}

// datasetCard is the Hugging Face dataset card of a version with Parquet shards: README.md
// whose front matter declares the features (dataset_info) and the data files (configs,
// relative to the version directory; referenced parts of earlier versions as ../<version>/…),
// so that datasets.load_dataset reads the version directory as it is.
func datasetCard(m *shards.Manifest) []byte {
	var b strings.Builder
	b.WriteString("---\n")
	b.WriteString("dataset_info:\n  features:\n")
	b.WriteString("  - name: id\n    dtype: string\n")
	b.WriteString("  - name: images\n    list: image\n")
	b.WriteString("  - name: caption\n    dtype: string\n")
	b.WriteString("  - name: label\n    dtype: string\n")
	b.WriteString("  - name: doc_sha256\n    dtype: string\n")
	b.WriteString("  - name: page\n    dtype: int64\n")
	b.WriteString("  - name: record\n    dtype: string\n")
	n := 0
	var paths []string
	for _, s := range m.ShardsOf(shards.Parquet) {
		n += s.Records
		p := s.Path
		if s.Version != "" {
			p = "../" + s.Version + "/" + s.Path
		}
		paths = append(paths, p)
	}
	fmt.Fprintf(&b, "  splits:\n  - name: train\n    num_examples: %d\n", n)
	b.WriteString("configs:\n- config_name: default\n  data_files:\n  - split: train\n    path:\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "    - %s\n", p)
	}
	b.WriteString("task_categories:\n- image-to-text\n---\n\n")
	fmt.Fprintf(&b, "# Figure–caption pairs, version %s\n\n", m.Version)
	fmt.Fprintf(&b, "%d figures with their captions, extracted from %d documents by eosin %s.\n", n, len(m.Documents), m.Eosin)
	b.WriteString("Columns: `id`, `images` (one Hugging Face Image), `caption`, `label`, `doc_sha256`, `page`,\n")
	b.WriteString("`record` (the full figure record as JSON). `manifest.json` lists every shard with its sha256.\n")
	return []byte(b.String())
}

// writeManifest writes <version>/manifest.json create-only. An existing manifest with the same
// bytes (a retried commit) is fine; one with other bytes that LATEST does not name yet (an
// attempt before a rebase that was interrupted) is replaced.
func (f *commitFn) writeManifest(ctx context.Context, m *shards.Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	key := path.Join(f.Version, shards.ManifestName)
	for try := 0; try < 2; try++ {
		err := f.store.PutIfAbsent(ctx, key, data)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrExist) {
			return fmt.Errorf("commit %s: %w", key, err)
		}
		old, rerr := storage.ReadAll(ctx, f.store, key)
		if rerr == nil && bytes.Equal(old, data) {
			return nil
		}
		if cur, _ := shards.ReadLatest(ctx, f.store); cur == f.Version {
			return fmt.Errorf("commit %s: a different manifest is already committed", key)
		}
		if err := f.store.Delete(ctx, key); err != nil {
			return fmt.Errorf("commit %s: %w", key, err)
		}
	}
	return fmt.Errorf("commit %s: the manifest keeps changing under this build", key)
}

func (f *commitFn) writeReport(ctx context.Context, r BuildReport) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, _, err = f.put(ctx, reportKey(r.Version), b)
	return err
}

// finishTotals recomputes the totals (shards and side files, referenced ones included).
func finishTotals(m *shards.Manifest) {
	slices.SortFunc(m.Files, func(a, b shards.FileInfo) int { return cmp.Compare(a.Path, b.Path) })
	m.Totals = shards.Totals{Shards: len(m.Shards)}
	recs := map[shards.Format]int{}
	for _, s := range m.Shards {
		recs[s.Format] += s.Records
		m.Totals.Bytes += s.Bytes
	}
	if len(m.Formats) > 0 {
		m.Totals.Records = recs[m.Formats[0]]
	}
	for _, f := range m.Files {
		m.Totals.Bytes += f.Bytes
	}
	for _, v := range m.RejectCounts {
		m.Totals.Rejects += v
	}
}
