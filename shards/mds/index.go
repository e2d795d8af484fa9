package mds

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/zeebo/xxh3"
)

// FileInfo describes a shard file (raw or compressed).
type FileInfo struct {
	Basename string            `json:"basename"`
	Bytes    int64             `json:"bytes"`
	Hashes   map[string]string `json:"hashes"`
}

func (f *FileInfo) fields() any {
	if f == nil {
		return nil
	}
	h := f.Hashes
	if h == nil {
		h = map[string]string{}
	}
	return map[string]any{"basename": f.Basename, "bytes": f.Bytes, "hashes": h}
}

// Entry is one shard of index.json.
type Entry struct {
	Config  *Config
	Samples int
	RawData FileInfo
	ZipData *FileInfo // nil without compression
}

// Basename returns the name of the file stored for this shard (compressed if compressed).
func (e *Entry) Basename() string {
	if e.ZipData != nil {
		return e.ZipData.Basename
	}
	return e.RawData.Basename
}

// ShardName is the raw file name of shard n: shard.00000.mds.
func ShardName(n int) string { return fmt.Sprintf("shard.%05d.mds", n) }

// IndexJSON encodes index.json: {"shards": […], "version": 2}, Python style.
func IndexJSON(entries []Entry) []byte {
	shards := make([]any, len(entries))
	for i, e := range entries {
		m := e.Config.fields()
		m["samples"] = e.Samples
		m["raw_data"] = e.RawData.fields()
		m["zip_data"] = e.ZipData.fields()
		shards[i] = m
	}
	b, err := pyJSON(map[string]any{"shards": shards, "version": 2})
	if err != nil {
		panic(err) // strings and integers only
	}
	return b
}

type rawIndex struct {
	Version int `json:"version"`
	Shards  []struct {
		Format          string    `json:"format"`
		Version         int       `json:"version"`
		ColumnNames     []string  `json:"column_names"`
		ColumnEncodings []string  `json:"column_encodings"`
		ColumnSizes     []*int    `json:"column_sizes"`
		Compression     *string   `json:"compression"`
		Hashes          []string  `json:"hashes"`
		SizeLimit       int64     `json:"size_limit"`
		Samples         int       `json:"samples"`
		RawData         FileInfo  `json:"raw_data"`
		ZipData         *FileInfo `json:"zip_data"`
	} `json:"shards"`
}

// ParseIndex decodes and checks index.json: version 2, format "mds", consistent columns, safe
// relative basenames.
func ParseIndex(b []byte) ([]Entry, error) {
	var x rawIndex
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	if x.Version != 2 {
		return nil, fmt.Errorf("index.json: version %d, want 2", x.Version)
	}
	out := make([]Entry, len(x.Shards))
	for i, s := range x.Shards {
		if s.Format != "mds" || s.Version != 2 {
			return nil, fmt.Errorf("index.json: shard %d: format %q version %d, want mds 2", i, s.Format, s.Version)
		}
		if len(s.ColumnNames) != len(s.ColumnEncodings) || len(s.ColumnNames) != len(s.ColumnSizes) {
			return nil, fmt.Errorf("index.json: shard %d: column lists differ in length", i)
		}
		if s.Samples < 0 {
			return nil, fmt.Errorf("index.json: shard %d: negative sample count", i)
		}
		cols := make([]Column, len(s.ColumnNames))
		for j := range cols {
			cols[j] = Column{Name: s.ColumnNames[j], Encoding: s.ColumnEncodings[j]}
		}
		comp := ""
		if s.Compression != nil {
			comp = *s.Compression
		}
		cfg, err := NewConfig(cols, comp, s.Hashes, s.SizeLimit)
		if err != nil {
			return nil, fmt.Errorf("index.json: shard %d: %w", i, err)
		}
		for j, col := range cfg.Columns {
			if col.Name != s.ColumnNames[j] {
				return nil, fmt.Errorf("index.json: shard %d: columns not sorted by name", i)
			}
		}
		for _, fi := range []*FileInfo{&s.RawData, s.ZipData} {
			if fi == nil {
				continue
			}
			if err := safeBasename(fi.Basename); err != nil {
				return nil, fmt.Errorf("index.json: shard %d: %w", i, err)
			}
		}
		if comp != "" && s.ZipData == nil {
			return nil, fmt.Errorf("index.json: shard %d: compression %s without zip_data", i, comp)
		}
		out[i] = Entry{Config: cfg, Samples: s.Samples, RawData: s.RawData, ZipData: s.ZipData}
	}
	return out, nil
}

func safeBasename(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || path.Clean(name) != name {
		return fmt.Errorf("unsafe shard name %q", name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." || el == "." {
			return fmt.Errorf("unsafe shard name %q", name)
		}
	}
	return nil
}

// Part is the index of one writer's sub-directory, for Merge.
type Part struct {
	Dir     string // e.g. "part-00000"
	Entries []Entry
}

// Merge combines the indexes of parallel writers into one root index, as
// streaming.base.util.merge_index does: each basename becomes "<dir>/<basename>".
func Merge(parts []Part) []Entry {
	var out []Entry
	sorted := append([]Part(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Dir < sorted[j].Dir })
	for _, p := range sorted {
		for _, e := range p.Entries {
			e.RawData.Basename = path.Join(p.Dir, e.RawData.Basename)
			if e.ZipData != nil {
				z := *e.ZipData
				z.Basename = path.Join(p.Dir, z.Basename)
				e.ZipData = &z
			}
			out = append(out, e)
		}
	}
	return out
}

func newHash(name string) (hash.Hash, error) {
	switch name {
	case "md5":
		return md5.New(), nil
	case "sha1":
		return sha1.New(), nil
	case "sha256":
		return sha256.New(), nil
	case "sha512":
		return sha512.New(), nil
	case "xxh3_64":
		return xxh3.New(), nil
	case "xxh3_128", "xxh128":
		return xxh3.New128(), nil
	}
	return nil, fmt.Errorf("mds: unsupported hash %q (md5, sha1, sha256, sha512, xxh3_64, xxh3_128)", name)
}

// Hashes computes the hex digests of data for each algorithm.
func Hashes(data []byte, algos []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range algos {
		h, err := newHash(a)
		if err != nil {
			return nil, err
		}
		h.Write(data)
		out[a] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}

func parseCompression(c string) (family string, level int, err error) {
	if c == "" {
		return "", 0, nil
	}
	family, lv, hasLevel := strings.Cut(c, ":")
	if family != "zstd" {
		return "", 0, fmt.Errorf("mds: compression %q: only zstd is supported", c)
	}
	level = 3
	if hasLevel {
		level, err = strconv.Atoi(lv)
		if err != nil || level < 1 || level > 22 {
			return "", 0, fmt.Errorf("mds: compression %q: level must be 1-22", c)
		}
	}
	return family, level, nil
}

// Compress compresses a raw shard as one zstd frame that carries its content size (python-zstd
// needs it to decompress in one shot). It returns the raw data for "" compression.
func Compress(raw []byte, compression string) ([]byte, error) {
	fam, level, err := parseCompression(compression)
	if err != nil || fam == "" {
		return raw, err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithSingleSegment(true),
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("mds: zstd: %w", err)
	}
	defer enc.Close()
	return enc.EncodeAll(raw, make([]byte, 0, len(raw)/2+64)), nil
}

// Decompress reverses Compress; maxSize bounds the decompressed size.
func Decompress(data []byte, compression string, maxSize int64) ([]byte, error) {
	fam, _, err := parseCompression(compression)
	if err != nil || fam == "" {
		return data, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(uint64(maxSize)), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("mds: zstd: %w", err)
	}
	defer dec.Close()
	out, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, fmt.Errorf("mds: zstd: %w", err)
	}
	return out, nil
}
