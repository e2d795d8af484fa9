package shards

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/eosinlab/eosin/shards/storage"
)

// ManifestName is the manifest's object name inside a version; LatestName the pointer to the
// newest committed version under the prefix.
const (
	ManifestName = "manifest.json"
	LatestName   = "LATEST"
)

// Kind is the kind of records a version holds.
type Kind string

// The record kinds.
const (
	KindFigure Kind = "figure"
	KindSample Kind = "sample"
)

// ShardInfo describes one shard object of a version.
type ShardInfo struct {
	Format  Format `json:"format"`
	Path    string `json:"path"` // relative to the version directory
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
}

// FileInfo describes a side file (index) of a version.
type FileInfo struct {
	Format Format `json:"format"`
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Totals sums a version up.
type Totals struct {
	Records int   `json:"records"` // records per format (every format holds all records)
	Shards  int   `json:"shards"`
	Bytes   int64 `json:"bytes"` // shards and side files
	Rejects int   `json:"rejects"`
}

// Manifest is <version>/manifest.json: written last, create-only, it is what makes a version
// exist for readers.
type Manifest struct {
	ManifestVersion int         `json:"manifest_version"`
	Version         string      `json:"version"`
	Created         time.Time   `json:"created"`
	Kind            Kind        `json:"kind"`
	Formats         []Format    `json:"formats"`
	Totals          Totals      `json:"totals"`
	Shards          []ShardInfo `json:"shards"`
	Files           []FileInfo  `json:"files"`
	// Documents lists the sha256 of every source document with a record or a reject in this
	// version, so an incremental build can skip them.
	Documents    []string       `json:"documents,omitempty"`
	Stats        map[string]any `json:"stats,omitempty"`
	RejectCounts map[string]int `json:"reject_counts,omitempty"` // "stage/reason" → count
	Rejects      []Reject       `json:"rejects"`
}

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidVersion checks a version name: letters, digits, '.', '_' and '-', not starting with a
// punctuation mark, at most 100 characters.
func ValidVersion(v string) error {
	if !versionRE.MatchString(v) || v == LatestName {
		return fmt.Errorf("version %q: want 1-100 characters from [A-Za-z0-9._-], starting with a letter or digit", v)
	}
	return nil
}

// ParseManifest decodes and checks a manifest.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.ManifestVersion != 1 {
		return nil, fmt.Errorf("manifest: manifest_version %d, want 1", m.ManifestVersion)
	}
	if err := ValidVersion(m.Version); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.Kind != KindFigure && m.Kind != KindSample && !(m.Kind == "" && m.Totals.Records == 0) {
		return nil, fmt.Errorf("manifest: unknown kind %q", m.Kind)
	}
	n := 0
	for _, s := range m.Shards {
		if err := storage.ValidKey(s.Path); err != nil {
			return nil, fmt.Errorf("manifest: shard: %w", err)
		}
		if s.Records < 0 || s.Bytes < 0 {
			return nil, fmt.Errorf("manifest: shard %s: negative count", s.Path)
		}
		n++
	}
	for _, f := range m.Files {
		if err := storage.ValidKey(f.Path); err != nil {
			return nil, fmt.Errorf("manifest: file: %w", err)
		}
	}
	if n != m.Totals.Shards {
		return nil, fmt.Errorf("manifest: totals.shards %d but %d shards listed", m.Totals.Shards, n)
	}
	for _, f := range m.Formats {
		c := 0
		for _, s := range m.Shards {
			if s.Format == f {
				c += s.Records
			}
		}
		if c != m.Totals.Records {
			return nil, fmt.Errorf("manifest: %s shards hold %d records, totals.records says %d", f, c, m.Totals.Records)
		}
	}
	return &m, nil
}

// ShardsOf returns the shards of one format, in order.
func (m *Manifest) ShardsOf(f Format) []ShardInfo {
	var out []ShardInfo
	for _, s := range m.Shards {
		if s.Format == f {
			out = append(out, s)
		}
	}
	return out
}

// Has reports whether the version holds format f.
func (m *Manifest) Has(f Format) bool {
	for _, g := range m.Formats {
		if g == f {
			return true
		}
	}
	return false
}
