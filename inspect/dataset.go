package inspect

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/eosinlab/eosin/shards"
)

// DatasetSource reads a committed dataset version through the shards reader: figure or sample
// records with their image bytes, and the manifest's counts, statistics and rejects.
type DatasetSource struct {
	ds   *shards.Dataset
	base string
}

// OpenDataset opens a committed dataset version: PREFIX (the version LATEST names) or
// PREFIX@VERSION, a local directory or s3://bucket/prefix (credentials and endpoint from the
// usual environment variables).
func OpenDataset(ctx context.Context, ref string) (*DatasetSource, error) {
	ds, err := shards.Open(ctx, ref, shards.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("open dataset %s: %w", ref, err)
	}
	s := &DatasetSource{ds: ds}
	if prefix, _ := shards.SplitRef(ref); !strings.Contains(prefix, "://") {
		s.base = filepath.Clean(prefix)
	}
	return s, nil
}

// Close releases the dataset.
func (s *DatasetSource) Close() error { return s.ds.Close() }

// Name is the dataset's location and version.
func (s *DatasetSource) Name() string { return s.ds.Location() }

// BaseDir is the prefix directory of a local dataset ("" for S3).
func (s *DatasetSource) BaseDir() string { return s.base }

// Manifest summarises the version's manifest.
func (s *DatasetSource) Manifest() *Manifest {
	m := s.ds.Manifest()
	out := &Manifest{
		Version: m.Version,
		Counts: map[string]int64{
			"records": int64(m.Totals.Records), "shards": int64(m.Totals.Shards),
			"bytes": m.Totals.Bytes, "rejects": int64(m.Totals.Rejects), "documents": int64(len(m.Documents)),
		},
		Stats: m.Stats,
	}
	if len(m.RejectCounts) > 0 {
		out.Rejects = map[string]int64{}
		for k, v := range m.RejectCounts {
			out.Rejects[k] = int64(v)
		}
	}
	if m.Kind != "" {
		out.Stats = map[string]any{"kind": string(m.Kind), "formats": fmt.Sprint(m.Formats)}
		for k, v := range m.Stats {
			out.Stats[k] = v
		}
	}
	return out
}

// Figures reads the figure records of a figure dataset, with their image bytes.
func (s *DatasetSource) Figures(ctx context.Context, fn func(FigureItem) error) error {
	if s.ds.Manifest().Kind != shards.KindFigure {
		return nil
	}
	for rec, err := range s.ds.Records(ctx) {
		if err != nil {
			return err
		}
		if rec.Figure != nil {
			if err := fn(FigureItem{Figure: *rec.Figure}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Samples reads the sample records of a sample dataset, with their image bytes.
func (s *DatasetSource) Samples(ctx context.Context, fn func(SampleItem) error) error {
	if s.ds.Manifest().Kind != shards.KindSample {
		return nil
	}
	for rec, err := range s.ds.Records(ctx) {
		if err != nil {
			return err
		}
		if rec.Sample != nil {
			if err := fn(SampleItem{Sample: *rec.Sample}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rejects reads every reject of the version: those listed in the manifest and those of the
// reject files it references (rejects/*.jsonl, written by the corpus build).
func (s *DatasetSource) Rejects(ctx context.Context, fn func(shards.Reject) error) error {
	for r, err := range s.ds.Rejects(ctx) {
		if err != nil {
			return fmt.Errorf("rejects: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Agreement returns the agreement report of the build that wrote the version (the manifest's
// stats.build.agreement, present when the build read article packages with their PDFs), or nil.
func (s *DatasetSource) Agreement() (*Agreement, error) {
	m := s.ds.Manifest()
	if m == nil {
		return nil, nil
	}
	build, ok := m.Stats["build"].(map[string]any)
	if !ok || build["agreement"] == nil {
		return nil, nil
	}
	b, err := json.Marshal(build["agreement"])
	if err != nil {
		return nil, fmt.Errorf("%s: agreement: %w", s.Name(), err)
	}
	var a Agreement
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%s: agreement: %w", s.Name(), err)
	}
	return &a, nil
}

// Documents lists the documents of the manifest (by sha256): every document with a record
// or a reject in the version, and every document the build processed (document settings).
func (s *DatasetSource) Documents(ctx context.Context, fn func(shards.Doc) error) error {
	return manifestDocuments(s.ds.Manifest(), fn)
}

// manifestDocuments calls fn for each document a manifest names, once, in sha256 order.
func manifestDocuments(m *shards.Manifest, fn func(shards.Doc) error) error {
	seen := map[string]bool{}
	shas := make([]string, 0, len(m.Documents)+len(m.DocumentSettings))
	for _, d := range m.Documents {
		if d != "" && !seen[d] {
			seen[d] = true
			shas = append(shas, d)
		}
	}
	for d := range m.DocumentSettings {
		if d != "" && !seen[d] {
			seen[d] = true
			shas = append(shas, d)
		}
	}
	sort.Strings(shas)
	for _, d := range shas {
		if err := fn(shards.Doc{SHA256: d}); err != nil {
			return err
		}
	}
	return nil
}
