// Package storage is the object store under a dataset: a local directory or an S3-compatible
// bucket prefix, behind one small interface. Keys are slash-separated paths relative to the
// store's root; a key can never reach outside it.
//
// Objects become visible atomically: a local object is written to a temporary file (its
// writeback to disk started every 8 MiB, fsynced once at Commit) and renamed into place; an S3
// object is streamed up as a multipart upload (parts sent in parallel while writing continues;
// one PUT for small objects), which S3 publishes only when completed. The S3 writer is also a
// BlockWriter: a caller that fills part-sized buffers hands them over and they are uploaded
// without a copy. Stores keep their large write buffers in a BufferPool for reuse.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// ErrNotExist is returned (wrapped) when an object does not exist. It is fs.ErrNotExist, so
// errors.Is(err, fs.ErrNotExist) also works.
var ErrNotExist = fs.ErrNotExist

// ErrExist is returned (wrapped) by PutIfAbsent when the object already exists. It is fs.ErrExist.
var ErrExist = fs.ErrExist

// ErrConflict is returned (wrapped) by Update when the object changed between the read and the
// conditional write (another writer updated it first).
var ErrConflict = errors.New("object changed concurrently")

// UpdateFunc computes an object's new content from its current one (exists false: the object
// does not exist, old is nil). Returning an error leaves the object as it is.
type UpdateFunc func(old []byte, exists bool) ([]byte, error)

// Store is a flat namespace of objects under a root (a directory or a bucket prefix).
type Store interface {
	// Create starts a new object. Nothing is visible under key until Commit succeeds; Abort
	// (or a failed Commit) leaves no trace. A committed object replaces an existing one.
	Create(ctx context.Context, key string) (Writer, error)
	// Put writes a small object in one call, replacing any existing one.
	Put(ctx context.Context, key string, data []byte) error
	// PutIfAbsent writes a small object only if key does not exist yet (a create-only
	// conditional write); otherwise it returns an error wrapping ErrExist.
	PutIfAbsent(ctx context.Context, key string, data []byte) error
	// Update is a compare-and-swap of a small object: it reads the object, calls fn, and
	// writes fn's result only if the object is still the one read (S3: If-Match on its ETag,
	// or If-None-Match: * when it did not exist; local: under an advisory lock). When another
	// writer changed it in between, nothing is written and the error wraps ErrConflict.
	Update(ctx context.Context, key string, fn UpdateFunc) error
	// Open opens an object for reading (sequential and random access).
	Open(ctx context.Context, key string) (Object, error)
	// Stat returns an object's size; the error wraps ErrNotExist if it is missing.
	Stat(ctx context.Context, key string) (Info, error)
	// List returns the entries directly under dir ("" for the root), sorted by key. Entries
	// that are "directories" (common prefixes) have Dir set and no trailing slash.
	List(ctx context.Context, dir string) ([]Info, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// String describes the store's location for messages; it never includes secrets.
	String() string
	// Close releases the store's resources.
	Close() error
}

// Writer receives the bytes of a new object.
type Writer interface {
	io.Writer
	// Commit publishes the object (rename or upload). The Writer is unusable afterwards.
	Commit(ctx context.Context) error
	// Abort discards the object. It is safe to call after Commit (it then does nothing).
	Abort() error
}

// BlockWriter is a Writer that can take whole buffers over instead of copying them (the S3
// writer sends each full block as one multipart part straight from the caller's buffer).
// Writers may implement it; callers check with a type assertion.
type BlockWriter interface {
	Writer
	// BlockSize is the length every block but the last should have, and the number of blocks
	// the writer may hold at once (a caller needs a few more buffers to keep it busy).
	BlockSize() (size, blocks int)
	// WriteBlock appends b to the object. The writer only reads b and calls release exactly
	// once (possibly before WriteBlock returns, also on failure) when it no longer needs it;
	// until then the caller must not modify b. Blocks of another length than BlockSize's are
	// accepted (copied, or held as the last block).
	WriteBlock(b []byte, release func()) error
}

// Object is an open object.
type Object interface {
	io.Reader
	io.ReaderAt
	io.Closer
	// Size is the object's length in bytes.
	Size() int64
}

// Info describes one object or directory.
type Info struct {
	Key  string // path relative to the store root
	Size int64  // bytes (0 for directories)
	Dir  bool   // a directory (common prefix), not an object
}

// ValidKey reports whether key is a clean relative slash path that stays inside the root: not
// empty, no leading slash, no backslash, no "." or ".." element, no empty element.
func ValidKey(key string) error {
	if key == "" {
		return errors.New("empty object key")
	}
	if strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.ContainsRune(key, 0) {
		return fmt.Errorf("object key %q: must be a relative slash path", key)
	}
	for _, el := range strings.Split(key, "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("object key %q: %q element not allowed (keys stay inside the dataset)", key, el)
		}
	}
	if path.Clean(key) != key {
		return fmt.Errorf("object key %q is not clean", key)
	}
	return nil
}

// Open returns the store for a location: "s3://bucket/prefix" (configured by cfg, whose zero
// fields are filled from the environment: see S3Config) or a local directory, created if
// missing.
func Open(ctx context.Context, location string, cfg S3Config) (Store, error) {
	if rest, ok := strings.CutPrefix(location, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("location %q: no bucket", location)
		}
		return OpenS3(ctx, bucket, strings.Trim(prefix, "/"), cfg)
	}
	if strings.Contains(location, "://") {
		return nil, fmt.Errorf("location %q: unsupported scheme (use a directory or s3://bucket/prefix)", location)
	}
	return OpenLocal(location)
}

// Join joins key elements with slashes, skipping empty ones.
func Join(elem ...string) string {
	var parts []string
	for _, e := range elem {
		if e = strings.Trim(e, "/"); e != "" {
			parts = append(parts, e)
		}
	}
	return strings.Join(parts, "/")
}

// ReadAll reads a whole object.
func ReadAll(ctx context.Context, s Store, key string) ([]byte, error) {
	o, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	b := make([]byte, o.Size())
	if _, err := io.ReadFull(o, b); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}
