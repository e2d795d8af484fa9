// Package mds writes and reads MosaicML Streaming (MDS) shards and their index.json.
//
// Shard layout (all integers uint32 little-endian): num_samples, offsets[num_samples+1]
// (absolute byte offsets of each sample in the file), the shard config as JSON (no length
// prefix), then the samples. A sample is the sizes of its variable-size columns followed by
// every column's bytes; columns are ordered by name. The config and index.json are emitted
// byte for byte as Python's json.dumps(sort_keys=True) writes them.
package mds

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Column is a named, encoded column.
type Column struct {
	Name     string
	Encoding string // str, bytes, json, jpeg, png, list[jpeg], list[png], int32, int64, …
}

// fixedSizes are the encodings with a fixed byte size (no size entry in the sample head).
var fixedSizes = map[string]int{
	"int": 8, "int8": 1, "int16": 2, "int32": 4, "int64": 8,
	"uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8,
	"float16": 2, "float32": 4, "float64": 8,
}

var variableEncodings = map[string]bool{
	"bytes": true, "str": true, "json": true, "jpeg": true, "png": true, "pil": true,
	"str_int": true, "str_float": true, "str_decimal": true, "jpeg_array": true,
	"list[jpeg]": true, "list[png]": true, "list[pil]": true,
}

// Config is the shard configuration shared by every shard of a dataset.
type Config struct {
	Columns     []Column // sorted by name by NewConfig
	Compression string   // "" (none) or "zstd[:level]"
	Hashes      []string // algorithms for raw_data/zip_data (sorted, unique)
	SizeLimit   int64    // bytes; a shard is closed before a sample would exceed it
}

// NewConfig checks and normalises a configuration: columns sorted by name, hashes sorted and
// unique, size limit defaulting to 64 MiB.
func NewConfig(cols []Column, compression string, hashes []string, sizeLimit int64) (*Config, error) {
	c := &Config{Columns: append([]Column(nil), cols...), Compression: compression, SizeLimit: sizeLimit}
	sort.Slice(c.Columns, func(i, j int) bool { return c.Columns[i].Name < c.Columns[j].Name })
	for i, col := range c.Columns {
		if col.Name == "" || (i > 0 && c.Columns[i-1].Name == col.Name) {
			return nil, fmt.Errorf("mds: column names must be non-empty and unique (%q)", col.Name)
		}
		if _, ok := fixedSizes[col.Encoding]; !ok && !variableEncodings[col.Encoding] {
			return nil, fmt.Errorf("mds: column %s: unsupported encoding %q", col.Name, col.Encoding)
		}
	}
	if c.SizeLimit == 0 {
		c.SizeLimit = 1 << 26
	}
	if c.SizeLimit < 0 || c.SizeLimit >= 1<<32 {
		return nil, fmt.Errorf("mds: size_limit %d out of range (0, 2^32)", c.SizeLimit)
	}
	if _, _, err := parseCompression(compression); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, h := range hashes {
		if _, err := newHash(h); err != nil {
			return nil, err
		}
		if !seen[h] {
			seen[h] = true
			c.Hashes = append(c.Hashes, h)
		}
	}
	sort.Strings(c.Hashes)
	return c, nil
}

func (c *Config) fields() map[string]any {
	names := make([]string, len(c.Columns))
	encs := make([]string, len(c.Columns))
	sizes := make([]*int, len(c.Columns))
	for i, col := range c.Columns {
		names[i], encs[i] = col.Name, col.Encoding
		if n, ok := fixedSizes[col.Encoding]; ok {
			sizes[i] = &n
		}
	}
	var comp any
	if c.Compression != "" {
		comp = c.Compression
	}
	hashes := c.Hashes
	if hashes == nil {
		hashes = []string{}
	}
	return map[string]any{
		"column_encodings": encs,
		"column_names":     names,
		"column_sizes":     sizes,
		"compression":      comp,
		"format":           "mds",
		"hashes":           hashes,
		"size_limit":       c.SizeLimit,
		"version":          2,
	}
}

// JSON is the config as written inside every shard.
func (c *Config) JSON() []byte {
	b, err := pyJSON(c.fields())
	if err != nil {
		panic(err) // only strings and integers: cannot fail
	}
	return b
}

// EncodeList encodes a list[jpeg|png] value: u32 0, u32 n, u32 size[n], then the items.
func EncodeList(items [][]byte) []byte {
	n := 8 + 4*len(items)
	for _, it := range items {
		n += len(it)
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(items)))
	for _, it := range items {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(it)))
	}
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

// DecodeList decodes a list[jpeg|png] value; items alias b.
func DecodeList(b []byte) ([][]byte, error) {
	if len(b) < 8 {
		return nil, errors.New("list value shorter than its 8-byte head")
	}
	n := int64(binary.LittleEndian.Uint32(b[4:]))
	if 8+4*n > int64(len(b)) {
		return nil, fmt.Errorf("list of %d items longer than its %d bytes", n, len(b))
	}
	off := 8 + 4*n
	items := make([][]byte, n)
	for i := range n {
		sz := int64(binary.LittleEndian.Uint32(b[8+4*i:]))
		if off+sz > int64(len(b)) {
			return nil, fmt.Errorf("list item %d overruns the value", i)
		}
		items[i] = b[off : off+sz]
		off += sz
	}
	if off != int64(len(b)) {
		return nil, fmt.Errorf("list value has %d trailing bytes", int64(len(b))-off)
	}
	return items, nil
}

// EncodeSample encodes one sample from its column values (in Config.Columns order).
func (c *Config) EncodeSample(values [][]byte) ([]byte, error) {
	if len(values) != len(c.Columns) {
		return nil, fmt.Errorf("mds: %d values for %d columns", len(values), len(c.Columns))
	}
	n := 0
	for i, v := range values {
		if fs, ok := fixedSizes[c.Columns[i].Encoding]; ok {
			if len(v) != fs {
				return nil, fmt.Errorf("mds: column %s: %d bytes, want %d", c.Columns[i].Name, len(v), fs)
			}
		} else {
			n += 4
			if int64(len(v)) > math.MaxUint32 {
				return nil, fmt.Errorf("mds: column %s: value too large", c.Columns[i].Name)
			}
		}
		n += len(v)
	}
	b := make([]byte, 0, n)
	for i, v := range values {
		if _, ok := fixedSizes[c.Columns[i].Encoding]; !ok {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		}
	}
	for _, v := range values {
		b = append(b, v...)
	}
	return b, nil
}

// DecodeSample splits an encoded sample into column values (aliasing b).
func (c *Config) DecodeSample(b []byte) ([][]byte, error) {
	sizes := make([]int64, len(c.Columns))
	off := int64(0)
	for i, col := range c.Columns {
		if fs, ok := fixedSizes[col.Encoding]; ok {
			sizes[i] = int64(fs)
			continue
		}
		if off+4 > int64(len(b)) {
			return nil, errors.New("sample shorter than its size head")
		}
		sizes[i] = int64(binary.LittleEndian.Uint32(b[off:]))
		off += 4
	}
	out := make([][]byte, len(c.Columns))
	for i, col := range c.Columns {
		if off+sizes[i] > int64(len(b)) {
			return nil, fmt.Errorf("column %s overruns the sample (%d bytes)", col.Name, len(b))
		}
		out[i] = b[off : off+sizes[i]]
		off += sizes[i]
	}
	if off != int64(len(b)) {
		return nil, fmt.Errorf("sample has %d trailing bytes", int64(len(b))-off)
	}
	return out, nil
}

// Builder accumulates one shard in memory.
type Builder struct {
	cfg     *Config
	cfgJSON []byte
	samples [][]byte
	size    int64 // accounted size: 4 + 4 + len(config) + Σ(len(sample) + 4)
}

// NewBuilder starts an empty shard.
func NewBuilder(cfg *Config) *Builder {
	j := cfg.JSON()
	return &Builder{cfg: cfg, cfgJSON: j, size: 8 + int64(len(j))}
}

// Len is the number of samples added.
func (b *Builder) Len() int { return len(b.samples) }

// Config is the configuration the shard is written with.
func (b *Builder) Config() *Config { return b.cfg }

// SetConfig changes the configuration written into the shard (e.g. the encoding of an image
// column, chosen once the shard's images are known). The columns must have the same names and
// sizes, so that the samples added stay valid; the shard must still fit the size limit.
func (b *Builder) SetConfig(cfg *Config) error {
	if len(cfg.Columns) != len(b.cfg.Columns) {
		return fmt.Errorf("mds: new config has %d columns, the shard %d", len(cfg.Columns), len(b.cfg.Columns))
	}
	for i, c := range cfg.Columns {
		o := b.cfg.Columns[i]
		na, fa := fixedSizes[c.Encoding]
		nb, fb := fixedSizes[o.Encoding]
		if c.Name != o.Name || fa != fb || na != nb {
			return fmt.Errorf("mds: new config changes column %s (%s) to %s (%s)", o.Name, o.Encoding, c.Name, c.Encoding)
		}
	}
	j := cfg.JSON()
	size := b.size - int64(len(b.cfgJSON)) + int64(len(j))
	if size > cfg.SizeLimit {
		return fmt.Errorf("mds: shard of %d bytes exceeds the size limit %d", size, cfg.SizeLimit)
	}
	b.cfg, b.cfgJSON, b.size = cfg, j, size
	return nil
}

// WithEncoding returns a copy of c with column name encoded as enc.
func (c *Config) WithEncoding(name, enc string) (*Config, error) {
	cols := append([]Column(nil), c.Columns...)
	found := false
	for i := range cols {
		if cols[i].Name == name {
			cols[i].Encoding, found = enc, true
		}
	}
	if !found {
		return nil, fmt.Errorf("mds: no column %s", name)
	}
	return NewConfig(cols, c.Compression, c.Hashes, c.SizeLimit)
}

// Fits reports whether an encoded sample of n bytes fits under the size limit.
func (b *Builder) Fits(n int) bool { return b.size+int64(n)+4 <= b.cfg.SizeLimit }

// Add appends an encoded sample (from Config.EncodeSample). The caller checks Fits first and
// starts a new shard when it is false; a sample that does not fit even an empty shard is an
// error.
func (b *Builder) Add(sample []byte) error {
	if !b.Fits(len(sample)) {
		return fmt.Errorf("mds: sample of %d bytes does not fit the size limit %d", len(sample), b.cfg.SizeLimit)
	}
	b.samples = append(b.samples, sample)
	b.size += int64(len(sample)) + 4
	return nil
}

// Bytes returns the shard file.
func (b *Builder) Bytes() []byte {
	n := len(b.samples)
	head := 4 + 4*(n+1)
	total := head + len(b.cfgJSON)
	for _, s := range b.samples {
		total += len(s)
	}
	out := make([]byte, 0, total)
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	off := uint32(head + len(b.cfgJSON))
	out = binary.LittleEndian.AppendUint32(out, off)
	for _, s := range b.samples {
		off += uint32(len(s))
		out = binary.LittleEndian.AppendUint32(out, off)
	}
	out = append(out, b.cfgJSON...)
	for _, s := range b.samples {
		out = append(out, s...)
	}
	return out
}

// Shard is a parsed shard file.
type Shard struct {
	data    []byte
	n       int
	offsets []uint32
}

// ParseShard checks a shard file's head: the sample count fits the file, offsets are
// non-decreasing, start after the head and end exactly at the end of the file.
func ParseShard(data []byte) (*Shard, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("mds shard: %d bytes, shorter than any shard (truncated?)", len(data))
	}
	n := int64(binary.LittleEndian.Uint32(data))
	if 4+4*(n+1) > int64(len(data)) {
		return nil, fmt.Errorf("mds shard: head claims %d samples, more than a %d-byte file can hold (truncated?)", n, len(data))
	}
	offs := make([]uint32, n+1)
	for i := range offs {
		offs[i] = binary.LittleEndian.Uint32(data[4+4*i:])
	}
	head := uint32(4 + 4*(n+1))
	if offs[0] < head {
		return nil, fmt.Errorf("mds shard: first sample offset %d inside the %d-byte head", offs[0], head)
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] {
			return nil, fmt.Errorf("mds shard: offsets decrease at sample %d", i-1)
		}
	}
	if int64(offs[n]) != int64(len(data)) {
		return nil, fmt.Errorf("mds shard: samples end at byte %d but the file has %d bytes (truncated or padded)", offs[n], len(data))
	}
	return &Shard{data: data, n: int(n), offsets: offs}, nil
}

// Len is the number of samples.
func (s *Shard) Len() int { return s.n }

// ConfigJSON returns the config bytes between the offsets table and the first sample.
func (s *Shard) ConfigJSON() []byte { return s.data[4+4*(s.n+1) : s.offsets[0]] }

// Sample returns sample i's encoded bytes.
func (s *Shard) Sample(i int) []byte { return s.data[s.offsets[i]:s.offsets[i+1]] }

// HasPrefixConfig reports whether the shard's embedded config starts like c's (same bytes).
func (s *Shard) HasPrefixConfig(c *Config) bool {
	return strings.HasPrefix(string(s.ConfigJSON()), string(c.JSON()))
}
