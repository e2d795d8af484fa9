// Package wds writes and reads WebDataset shards: USTAR tar files in which the members of a
// sample (key + "." + extension) are adjacent, plus the side files trainers use (OpenCLIP's
// sizes.json and a wids shard index).
//
// Writing follows the reference TarWriter: members of a sample in sorted extension order, mode
// 0444, owner and group "bigdata", uid/gid 0, a fixed modification time. Keys must match
// [A-Za-z0-9_-]+ so that the reader's key rule (everything before the first dot of the last path
// component) gives them back unchanged.
package wds

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidKey reports whether key can be a sample key: non-empty, [A-Za-z0-9_-] only.
func ValidKey(key string) error {
	if !keyRE.MatchString(key) || len(key) > 80 {
		return fmt.Errorf("sample key %q: want 1-80 characters from [A-Za-z0-9_-] (no dots)", key)
	}
	return nil
}

// DefaultModTime is the member modification time written when none is configured: fixed, so
// that identical input gives byte-identical shards.
var DefaultModTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Sample is one sample: its key and its members by extension ("jpg", "json", "0.png", …).
type Sample struct {
	Key     string
	Members map[string][]byte
}

// Writer writes samples to one tar shard.
type Writer struct {
	tw      *tar.Writer
	modTime time.Time
	n       int
	exts    []string
}

// NewWriter returns a Writer on w. modTime zero means DefaultModTime.
func NewWriter(w io.Writer, modTime time.Time) *Writer {
	if modTime.IsZero() {
		modTime = DefaultModTime
	}
	return &Writer{tw: tar.NewWriter(w), modTime: modTime.Truncate(time.Second)}
}

// Count is the number of samples written.
func (w *Writer) Count() int { return w.n }

// MemberSize is the number of tar bytes a member of n bytes takes (header + padded data).
func MemberSize(n int) int64 { return 512 + (int64(n)+511)/512*512 }

// Write writes one sample, its members in sorted extension order.
func (w *Writer) Write(s Sample) error {
	if err := ValidKey(s.Key); err != nil {
		return err
	}
	if len(s.Members) == 0 {
		return fmt.Errorf("sample %s: no members", s.Key)
	}
	w.exts = w.exts[:0]
	for ext := range s.Members {
		if ext == "" || strings.ContainsAny(ext, "/\\") || strings.HasPrefix(ext, ".") || strings.HasSuffix(ext, ".") || ext != strings.ToLower(ext) {
			return fmt.Errorf("sample %s: bad extension %q (lower case, no slashes, no leading or trailing dot)", s.Key, ext)
		}
		w.exts = append(w.exts, ext)
	}
	sort.Strings(w.exts)
	for _, ext := range w.exts {
		data := s.Members[ext]
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     s.Key + "." + ext,
			Mode:     0o444,
			Size:     int64(len(data)),
			ModTime:  w.modTime,
			Uname:    "bigdata",
			Gname:    "bigdata",
			Format:   tar.FormatUSTAR,
		}
		if err := w.tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("sample %s member %s: %w", s.Key, ext, err)
		}
		if _, err := w.tw.Write(data); err != nil {
			return fmt.Errorf("sample %s member %s: %w", s.Key, ext, err)
		}
	}
	w.n++
	return nil
}

// Close writes the end-of-archive blocks. It does not close the underlying writer.
func (w *Writer) Close() error { return w.tw.Close() }

// SplitName applies WebDataset's key rule to a member path: the key is everything before the
// first dot of the last path component (directories included), the extension the rest,
// lower-cased. ok is false for names without a dot in the last component.
func SplitName(name string) (key, ext string, ok bool) {
	dir, base := path.Split(name)
	i := strings.IndexByte(base, '.')
	if i <= 0 || i == len(base)-1 {
		return "", "", false
	}
	return dir + base[:i], strings.ToLower(base[i+1:]), true
}

// ReaderOptions bound what a Reader accepts.
type ReaderOptions struct {
	// MaxMemberSize refuses members larger than this (default 1 GiB).
	MaxMemberSize int64
	// AnyKeys accepts keys outside [A-Za-z0-9_-] (other writers' shards); names that climb
	// out of the archive ("..", absolute paths) are refused regardless.
	AnyKeys bool
}

// tailReader remembers the last 1024 bytes read through it, to check that an archive ends
// with the two zero blocks (archive/tar treats a stream cut at a member boundary as a clean end).
type tailReader struct {
	r    io.Reader
	tail [1024]byte
	n    int64
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n >= len(t.tail) {
		copy(t.tail[:], p[n-len(t.tail):n])
	} else if n > 0 {
		copy(t.tail[:], t.tail[n:])
		copy(t.tail[len(t.tail)-n:], p[:n])
	}
	t.n += int64(n)
	return n, err
}

func (t *tailReader) endsWithZeroBlocks() bool {
	if t.n < int64(len(t.tail)) {
		return false
	}
	for _, b := range t.tail {
		if b != 0 {
			return false
		}
	}
	return true
}

// Reader reads samples from a tar shard, grouping adjacent members by key.
type Reader struct {
	tail    *tailReader
	tr      *tar.Reader
	opts    ReaderOptions
	pending *Sample
	seen    map[string]bool
	err     error
	members int
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader, opts ReaderOptions) *Reader {
	if opts.MaxMemberSize <= 0 {
		opts.MaxMemberSize = 1 << 30
	}
	t := &tailReader{r: r}
	return &Reader{tail: t, tr: tar.NewReader(t), opts: opts, seen: map[string]bool{}}
}

// unsafeName reports names that could point outside an extraction directory.
func unsafeName(name string) bool {
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return true
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return true
		}
	}
	return false
}

// Next returns the next sample, or io.EOF after the last one. A malformed or truncated shard
// (including one cut at a member boundary) gives an error naming the member at fault; a key that appears in two separate runs (members not
// adjacent) or an extension repeated within a sample is an error.
func (r *Reader) Next() (*Sample, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		hdr, err := r.tr.Next()
		if err == io.EOF && !r.tail.endsWithZeroBlocks() {
			err = fmt.Errorf("archive ends after %d bytes without its end-of-archive blocks (truncated shard?)", r.tail.n)
		}
		if err == io.EOF {
			out := r.pending
			r.pending = nil
			r.err = io.EOF
			if out == nil {
				return nil, io.EOF
			}
			return out, nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w (truncated shard?)", err)
		}
		if err != nil {
			r.err = fmt.Errorf("tar member %d: %w", r.members+1, err)
			return nil, r.err
		}
		r.members++
		if unsafeName(hdr.Name) {
			r.err = fmt.Errorf("tar member %q: unsafe path (absolute or with ..)", hdr.Name)
			return nil, r.err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		base := path.Base(hdr.Name)
		if strings.HasPrefix(base, "__") {
			continue
		}
		key, ext, ok := SplitName(hdr.Name)
		if !ok {
			continue
		}
		if !r.opts.AnyKeys {
			if err := ValidKey(key); err != nil {
				r.err = fmt.Errorf("tar member %q: %w", hdr.Name, err)
				return nil, r.err
			}
		}
		if hdr.Size < 0 || hdr.Size > r.opts.MaxMemberSize {
			r.err = fmt.Errorf("tar member %q: size %d exceeds the limit of %d bytes", hdr.Name, hdr.Size, r.opts.MaxMemberSize)
			return nil, r.err
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(r.tr, data); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			r.err = fmt.Errorf("tar member %q: %w (truncated shard?)", hdr.Name, err)
			return nil, r.err
		}
		var out *Sample
		if r.pending != nil && r.pending.Key != key {
			out = r.pending
			r.pending = nil
		}
		if r.pending == nil {
			if r.seen[key] {
				r.err = fmt.Errorf("tar member %q: key %s appears again after other samples (members not adjacent)", hdr.Name, key)
				return nil, r.err
			}
			r.seen[key] = true
			r.pending = &Sample{Key: key, Members: map[string][]byte{}}
		}
		if _, dup := r.pending.Members[ext]; dup {
			r.err = fmt.Errorf("tar member %q: extension %s repeated in sample %s", hdr.Name, ext, key)
			return nil, r.err
		}
		r.pending.Members[ext] = data
		if out != nil {
			return out, nil
		}
	}
}
