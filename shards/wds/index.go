package wds

import (
	"encoding/json"
	"fmt"
	"sort"
)

// WidsKind is the __kind__ of a wids shard index.
const WidsKind = "wids-shard-index-v1"

// WidsShard is one entry of a wids index.
type WidsShard struct {
	URL      string `json:"url"`
	NSamples int    `json:"nsamples"`
	MD5Sum   string `json:"md5sum,omitempty"`
	FileSize int64  `json:"filesize,omitempty"`
}

// WidsIndex is a wids shard index (wids_version 1).
type WidsIndex struct {
	Kind        string      `json:"__kind__"`
	WidsVersion int         `json:"wids_version"`
	Name        string      `json:"name,omitempty"`
	ShardList   []WidsShard `json:"shardlist"`
}

// NewWidsIndex returns an index with the shards sorted by url.
func NewWidsIndex(name string, shards []WidsShard) *WidsIndex {
	s := append([]WidsShard(nil), shards...)
	sort.Slice(s, func(i, j int) bool { return s[i].URL < s[j].URL })
	return &WidsIndex{Kind: WidsKind, WidsVersion: 1, Name: name, ShardList: s}
}

// Marshal encodes the index as indented JSON.
func (x *WidsIndex) Marshal() ([]byte, error) { return json.MarshalIndent(x, "", "  ") }

// ParseWidsIndex decodes and checks an index: kind, version, and url + nsamples per shard.
func ParseWidsIndex(b []byte) (*WidsIndex, error) {
	var x WidsIndex
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, fmt.Errorf("wids index: %w", err)
	}
	if x.WidsVersion != 1 {
		return nil, fmt.Errorf("wids index: wids_version %d, want 1", x.WidsVersion)
	}
	if x.Kind != "" && x.Kind != WidsKind {
		return nil, fmt.Errorf("wids index: __kind__ %q, want %q", x.Kind, WidsKind)
	}
	for i, s := range x.ShardList {
		if s.URL == "" || s.NSamples < 0 {
			return nil, fmt.Errorf("wids index: shard %d: url and a non-negative nsamples are required", i)
		}
	}
	return &x, nil
}

// Sizes is OpenCLIP's sizes.json: shard basename → number of samples.
type Sizes map[string]int

// Marshal encodes sizes.json (keys sorted).
func (s Sizes) Marshal() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }

// ParseSizes decodes sizes.json.
func ParseSizes(b []byte) (Sizes, error) {
	var s Sizes
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("sizes.json: %w", err)
	}
	return s, nil
}
