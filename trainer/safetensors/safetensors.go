// Package safetensors reads and writes Hugging Face safetensors files: a single
// model.safetensors or shards listed in model.safetensors.index.json. Tensors keep their
// Hugging Face names; F32, BF16 and F16 data convert to and from float32/float64.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DType is a safetensors element type name ("F32", "BF16", "F16", …).
type DType string

// Element types eosin converts.
const (
	F32  DType = "F32"
	BF16 DType = "BF16"
	F16  DType = "F16"
	F64  DType = "F64"
)

// Size returns the bytes per element, or 0 for types eosin does not handle.
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case BF16, F16:
		return 2
	case F64:
		return 8
	}
	return 0
}

// Tensor is one named tensor with its raw little-endian row-major data.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// Numel is the number of elements of the tensor.
func (t *Tensor) Numel() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// Float32 converts the tensor's elements to float32.
func (t *Tensor) Float32() ([]float32, error) {
	n := t.Numel()
	es := t.DType.Size()
	if es == 0 {
		return nil, fmt.Errorf("tensor %s: unsupported dtype %s", t.Name, t.DType)
	}
	if len(t.Data) != n*es {
		return nil, fmt.Errorf("tensor %s: %d bytes for %d elements of %s", t.Name, len(t.Data), n, t.DType)
	}
	out := make([]float32, n)
	d := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:])))
		}
	case BF16:
		for i := range out {
			out[i] = BF16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case F16:
		for i := range out {
			out[i] = F16ToFloat32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	}
	return out, nil
}

// FromFloat32 builds a tensor of the given dtype from float32 values (round to nearest even
// for BF16 and F16).
func FromFloat32(name string, dt DType, shape []int, v []float32) (*Tensor, error) {
	t := &Tensor{Name: name, DType: dt, Shape: append([]int(nil), shape...)}
	if t.Numel() != len(v) {
		return nil, fmt.Errorf("tensor %s: shape %v holds %d elements, got %d", name, shape, t.Numel(), len(v))
	}
	es := dt.Size()
	if es == 0 {
		return nil, fmt.Errorf("tensor %s: unsupported dtype %s", name, dt)
	}
	t.Data = make([]byte, len(v)*es)
	for i, x := range v {
		switch dt {
		case F32:
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(x))
		case F64:
			binary.LittleEndian.PutUint64(t.Data[8*i:], math.Float64bits(float64(x)))
		case BF16:
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToBF16(x))
		case F16:
			binary.LittleEndian.PutUint16(t.Data[2*i:], Float32ToF16(x))
		}
	}
	return t, nil
}

// BF16ToFloat32 widens a bfloat16 bit pattern.
func BF16ToFloat32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// Float32ToBF16 rounds to the nearest bfloat16 (ties to even), keeping NaN a NaN.
func Float32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// F16ToFloat32 widens an IEEE half-precision bit pattern.
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: value = man · 2^-24
		f := float32(man) * float32(1.0/16777216.0)
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// Float32ToF16 rounds to the nearest IEEE half (ties to even); overflow gives ±Inf.
func Float32ToF16(f float32) uint16 {
	u := math.Float32bits(f)
	sign := uint16(u>>16) & 0x8000
	exp := int((u >> 23) & 0xff)
	man := u & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		m := man | 0x800000
		shift := uint(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is the correct rounding
	}
	return sign | uint16(r)
}

type headerEntry struct {
	DType       DType    `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header a reader accepts (100 MB, as the reference library does).
const maxHeader = 100 << 20

// Parse decodes a whole safetensors file held in memory. Metadata is returned separately.
func Parse(b []byte) ([]*Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, errors.New("safetensors: file shorter than its 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader || n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds file (%d bytes)", n, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	data := b[8+n:]
	var meta map[string]string
	var out []*Tensor
	for name, r := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(r, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: __metadata__: %w", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		t := &Tensor{Name: name, DType: e.DType, Shape: e.Shape}
		for _, s := range e.Shape {
			if s < 0 {
				return nil, nil, fmt.Errorf("safetensors: tensor %q: negative dimension", name)
			}
		}
		b0, b1 := e.DataOffsets[0], e.DataOffsets[1]
		if b0 < 0 || b1 < b0 || b1 > int64(len(data)) {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: offsets [%d,%d] outside %d data bytes", name, b0, b1, len(data))
		}
		if es := e.DType.Size(); es != 0 {
			n := int64(es)
			for _, s := range e.Shape {
				n *= int64(s)
				if n > int64(len(data)) {
					break
				}
			}
			if n != b1-b0 {
				return nil, nil, fmt.Errorf("safetensors: tensor %q: %s%v needs %d bytes, offsets give %d", name, e.DType, e.Shape, n, b1-b0)
			}
		}
		t.Data = data[b0:b1]
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, meta, nil
}

// ReadFile reads one safetensors file.
func ReadFile(path string) ([]*Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	ts, meta, err := Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ts, meta, nil
}

// Encode writes tensors (sorted by name, data 8-byte aligned) with optional metadata.
func Encode(w io.Writer, tensors []*Tensor, meta map[string]string) error {
	ts := append([]*Tensor(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	hdr := map[string]any{}
	if len(meta) > 0 {
		hdr["__metadata__"] = meta
	}
	var off int64
	for _, t := range ts {
		if _, dup := hdr[t.Name]; dup || t.Name == "__metadata__" {
			return fmt.Errorf("safetensors: duplicate or reserved tensor name %q", t.Name)
		}
		if es := t.DType.Size(); es != 0 && es*t.Numel() != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %s: %d bytes for %s%v", t.Name, len(t.Data), t.DType, t.Shape)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	for (8+len(hb))%8 != 0 {
		hb = append(hb, ' ')
	}
	var lb [8]byte
	binary.LittleEndian.PutUint64(lb[:], uint64(len(hb)))
	if _, err := w.Write(lb[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := w.Write(hb); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	for _, t := range ts {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: write %s: %w", t.Name, err)
		}
	}
	return nil
}

// WriteFile writes a safetensors file atomically (temporary file + rename).
func WriteFile(path string, tensors []*Tensor, meta map[string]string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.safetensors")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := Encode(tmp, tensors, meta); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// IndexName is the file name of a sharded checkpoint's index.
const IndexName = "model.safetensors.index.json"

// Index is the content of model.safetensors.index.json.
type Index struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// ReadDir loads every tensor of a checkpoint directory: the shards named by
// model.safetensors.index.json when it exists, else model.safetensors.
func ReadDir(dir string) (map[string]*Tensor, error) {
	out := map[string]*Tensor{}
	ib, err := os.ReadFile(filepath.Join(dir, IndexName))
	if errors.Is(err, os.ErrNotExist) {
		ts, _, err := ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			out[t.Name] = t
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	var idx Index
	if err := json.Unmarshal(ib, &idx); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", IndexName, err)
	}
	files := map[string]bool{}
	for _, f := range idx.WeightMap {
		if strings.Contains(f, "/") || strings.Contains(f, `\`) || f == ".." {
			return nil, fmt.Errorf("safetensors: %s: shard name %q is not a plain file name", IndexName, f)
		}
		files[f] = true
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		ts, _, err := ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if idx.WeightMap[t.Name] != f {
				continue
			}
			out[t.Name] = t
		}
	}
	for name, f := range idx.WeightMap {
		if out[name] == nil {
			return nil, fmt.Errorf("safetensors: tensor %s listed in %s is missing from %s", name, IndexName, f)
		}
	}
	return out, nil
}

// WriteDir writes tensors into dir as model.safetensors when they fit in maxShardBytes
// (≤ 0: no limit), else as model-0000k-of-0000n.safetensors shards plus the index.
func WriteDir(dir string, tensors []*Tensor, maxShardBytes int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	ts := append([]*Tensor(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	var total int64
	for _, t := range ts {
		total += int64(len(t.Data))
	}
	meta := map[string]string{"format": "pt"}
	if maxShardBytes <= 0 || total <= maxShardBytes {
		os.Remove(filepath.Join(dir, IndexName))
		return WriteFile(filepath.Join(dir, "model.safetensors"), ts, meta)
	}
	var shards [][]*Tensor
	var cur []*Tensor
	var size int64
	for _, t := range ts {
		if len(cur) > 0 && size+int64(len(t.Data)) > maxShardBytes {
			shards = append(shards, cur)
			cur, size = nil, 0
		}
		cur = append(cur, t)
		size += int64(len(t.Data))
	}
	shards = append(shards, cur)
	idx := Index{Metadata: map[string]any{"total_size": total}, WeightMap: map[string]string{}}
	for k, sh := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", k+1, len(shards))
		if err := WriteFile(filepath.Join(dir, name), sh, meta); err != nil {
			return err
		}
		for _, t := range sh {
			idx.WeightMap[t.Name] = name
		}
	}
	ib, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("safetensors: index: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, IndexName), append(ib, '\n'), 0o644); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	os.Remove(filepath.Join(dir, "model.safetensors"))
	return nil
}
