package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Local is a Store in a local directory. Every operation goes through an os.Root, so neither
// a hostile key nor a symbolic link inside the directory can reach files outside it.
type Local struct {
	dir  string
	root *os.Root
	bufs *BufferPool
}

// Buffers is the store's pool of write buffers, shared by the callers that fill them.
func (l *Local) Buffers() *BufferPool { return l.bufs }

// OpenLocal opens (creating it if needed) a directory as a Store.
func OpenLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dataset directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset directory: %w", err)
	}
	return &Local{dir: dir, root: root, bufs: NewBufferPool(16)}, nil
}

// String returns the directory.
func (l *Local) String() string { return l.dir }

// Close releases the directory handle.
func (l *Local) Close() error { return l.root.Close() }

func (l *Local) name(key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return filepath.FromSlash(key), nil
}

func tempSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Create starts an object in a hidden temporary file beside its final name.
func (l *Local) Create(ctx context.Context, key string) (Writer, error) {
	name, err := l.name(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(name)
	if dir != "." {
		if err := l.root.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", key, err)
		}
	}
	tmp := filepath.Join(dir, "."+filepath.Base(name)+".tmp-"+tempSuffix())
	f, err := l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return &localWriter{l: l, key: key, name: name, tmp: tmp, f: f}, nil
}

type localWriter struct {
	l              *Local
	key, name, tmp string
	f              *os.File
	done           bool
	written        int64 // bytes written
	flushed        int64 // bytes whose writeback has been started
}

// writebackEvery is how many written bytes start their writeback to disk: the disk works while
// the object is still being written, and Commit's fsync waits only for the tail.
const writebackEvery = 8 << 20

func (w *localWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.key, err)
	}
	if w.written-w.flushed >= writebackEvery {
		startWriteback(w.f, w.flushed, w.written-w.flushed)
		w.flushed = w.written
	}
	return n, nil
}

func (w *localWriter) Commit(ctx context.Context) error {
	if w.done {
		return fmt.Errorf("commit %s: already finished", w.key)
	}
	w.done = true
	err := ctx.Err()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.l.root.Rename(w.tmp, w.name)
	}
	if err != nil {
		_ = w.l.root.Remove(w.tmp)
		return fmt.Errorf("commit %s: %w", w.key, err)
	}
	return nil
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	_ = w.f.Close()
	if err := w.l.root.Remove(w.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort %s: %w", w.key, err)
	}
	return nil
}

// Put writes a small object atomically (temporary file + rename).
func (l *Local) Put(ctx context.Context, key string, data []byte) error {
	w, err := l.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Abort()
		return err
	}
	return w.Commit(ctx)
}

// PutIfAbsent writes the complete object to a temporary file, then hard-links it to key, which
// fails if key exists: readers never see a partial object, and only one writer wins.
func (l *Local) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	w, err := l.Create(ctx, key)
	if err != nil {
		return err
	}
	lw := w.(*localWriter)
	defer lw.Abort() //nolint:errcheck // removes the temporary file
	if _, err := lw.Write(data); err != nil {
		return err
	}
	if err := lw.f.Sync(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := l.root.Link(lw.tmp, lw.name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("put %s: %w", key, ErrExist)
		}
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Update reads key, calls fn and writes its result (temporary file + rename) while holding an
// advisory lock on a hidden lock file beside key, which every Update of key takes: readers
// never see a partial object, and of two concurrent updates the second sees the first's
// result. The lock file stays (unlinking a lock file races with its waiters).
func (l *Local) Update(ctx context.Context, key string, fn UpdateFunc) error {
	name, err := l.name(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(name)
	if dir != "." {
		if err := l.root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("update %s: %w", key, err)
		}
	}
	lf, err := l.root.OpenFile(filepath.Join(dir, "."+filepath.Base(name)+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("update %s: lock: %w", key, err)
	}
	defer lf.Close() // releases the lock
	if err := lockFile(lf); err != nil {
		return fmt.Errorf("update %s: lock: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var old []byte
	exists := true
	o, err := l.Open(ctx, key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		exists = false
	case err != nil:
		return fmt.Errorf("update %s: %w", key, err)
	default:
		old, err = io.ReadAll(o)
		o.Close()
		if err != nil {
			return fmt.Errorf("update %s: %w", key, err)
		}
	}
	data, err := fn(old, exists)
	if err != nil {
		return err
	}
	return l.Put(ctx, key, data)
}

// CleanTemporaries removes the temporary files of writers that died (killed builds: a
// committed or aborted object leaves none) last modified more than olderThan ago, and returns
// how many it removed. Younger ones may belong to writers still running.
func (l *Local) CleanTemporaries(ctx context.Context, olderThan time.Duration) (int, error) {
	n := 0
	cutoff := time.Now().Add(-olderThan)
	err := fs.WalkDir(l.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), ".") || !strings.Contains(d.Name(), ".tmp-") {
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			return nil
		}
		if err := l.root.Remove(filepath.FromSlash(p)); err == nil {
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("clean temporaries in %s: %w", l.dir, err)
	}
	return n, nil
}

type localObject struct {
	*os.File
	size int64
}

func (o localObject) Size() int64 { return o.size }

// Open opens a regular file.
func (l *Local) Open(ctx context.Context, key string) (Object, error) {
	name, err := l.name(key)
	if err != nil {
		return nil, err
	}
	f, err := l.root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file", key)
	}
	return localObject{File: f, size: st.Size()}, nil
}

// Stat returns a regular file's size.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	name, err := l.name(key)
	if err != nil {
		return Info{}, err
	}
	st, err := l.root.Stat(name)
	if err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		return Info{}, fmt.Errorf("stat %s: not a regular file: %w", key, ErrNotExist)
	}
	return Info{Key: key, Size: st.Size()}, nil
}

// List returns the files and directories directly under dir, skipping temporary files.
func (l *Local) List(ctx context.Context, dir string) ([]Info, error) {
	name := "."
	if dir != "" {
		var err error
		if name, err = l.name(dir); err != nil {
			return nil, err
		}
	}
	f, err := l.root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []Info
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		key := path.Join(dir, e.Name())
		switch {
		case e.IsDir():
			out = append(out, Info{Key: key, Dir: true})
		case e.Type().IsRegular():
			fi, err := e.Info()
			if err != nil {
				continue
			}
			out = append(out, Info{Key: key, Size: fi.Size()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes a file, then the directories above it that it leaves empty (as in an
// object store, a directory exists only while it holds objects).
func (l *Local) Delete(ctx context.Context, key string) error {
	name, err := l.name(key)
	if err != nil {
		return err
	}
	if err := l.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	for dir := filepath.Dir(name); dir != "." && dir != string(filepath.Separator); dir = filepath.Dir(dir) {
		if l.root.Remove(dir) != nil { // not empty (or gone): stop
			break
		}
	}
	return nil
}

var _ io.ReaderAt = localObject{}
