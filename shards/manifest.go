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
	Format Format `json:"format"`
	Path   string `json:"path"` // relative to the directory of the version that holds it
	// Version is the earlier version whose directory holds the shard when this version
	// references it instead of copying it (empty: this version's own directory).
	Version string `json:"version,omitempty"`
	// Part identifies the shards of all formats that hold the same records (empty when the
	// writer did not record it).
	Part    string `json:"part,omitempty"`
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
}

// FileInfo describes a side file (index) of a version.
type FileInfo struct {
	Format Format `json:"format"`
	Path   string `json:"path"`
	// Version is the earlier version whose directory holds the file (empty: this one).
	Version string `json:"version,omitempty"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
}

// Key is the object key of a shard of version v (relative to the dataset prefix).
func (s ShardInfo) Key(v string) string { return storage.Join(cmpOr(s.Version, v), s.Path) }

// Key is the object key of a side file of version v (relative to the dataset prefix).
func (f FileInfo) Key(v string) string { return storage.Join(cmpOr(f.Version, v), f.Path) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
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
//
// Manifest version 2 (written by the corpus build) makes versions snapshots: shards and files
// of earlier versions that did not change are referenced (ShardInfo.Version), not copied, and
// Parent names the version LATEST named when this one was committed, so the committed versions
// form a chain from LATEST. A version 2 manifest that LATEST's chain does not reach was never
// committed (a build that lost a race, or was killed between its manifest and LATEST).
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

	// Parent is the version LATEST named when this one was committed ("" for the first).
	Parent string `json:"parent,omitempty"`
	// Base is the version this one was built on (incremental builds; "" for a full build).
	Base string `json:"base,omitempty"`
	// Eosin is the version of the program that wrote the manifest.
	Eosin string `json:"eosin_version,omitempty"`
	// Settings are the full settings of the build that wrote the version, as configuration
	// keys (snake_case; durations as strings), so they can be given back with --config.
	Settings map[string]any `json:"settings,omitempty"`
	// DocumentSettings maps the sha256 of each document to the fingerprint of the settings it
	// was processed with (Fingerprints holds those settings).
	DocumentSettings map[string]string `json:"document_settings,omitempty"`
	// Fingerprints holds, per settings fingerprint, the settings that change what the build
	// extracts from a document.
	Fingerprints map[string]map[string]any `json:"fingerprints,omitempty"`
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
	if m.ManifestVersion != 1 && m.ManifestVersion != 2 {
		return nil, fmt.Errorf("manifest: manifest_version %d, want 1 or 2", m.ManifestVersion)
	}
	if m.Parent != "" {
		if err := ValidVersion(m.Parent); err != nil {
			return nil, fmt.Errorf("manifest: parent: %w", err)
		}
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
		if s.Version != "" {
			if err := ValidVersion(s.Version); err != nil {
				return nil, fmt.Errorf("manifest: shard %s: %w", s.Path, err)
			}
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
		if f.Version != "" {
			if err := ValidVersion(f.Version); err != nil {
				return nil, fmt.Errorf("manifest: file %s: %w", f.Path, err)
			}
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
