// Package safefile reads the files of a dataset or extraction folder without ever leaving it:
// a symlink (or "..") that leads out of the folder is refused, as is anything that is not a
// regular file (a FIFO would block the reader, a device would never end), and reads are
// bounded. It also checks image bytes against what their record says (format magic bytes,
// sha256).
package safefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrOutside is the error of a path that leads out of its root (through a symlink or "..").
var ErrOutside = errors.New("leads out of the folder (symlink?)")

// ErrNotRegular is the error of a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is the error of a file over the size limit of a read.
var ErrTooLarge = errors.New("file too large")

// Stat returns the file info of root/rel (rel slash-separated, relative), following symlinks
// only while they stay inside root. It fails with ErrOutside (wrapped) for a path that leads
// out of root and with fs.ErrNotExist for a missing one.
func Stat(root, rel string) (fs.FileInfo, error) {
	name, err := clean(root, rel)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fi, err := r.Stat(name)
	if err != nil {
		return nil, explain(root, name, err)
	}
	return fi, nil
}

// Open opens the regular file root/rel for reading, following symlinks only while they stay
// inside root (race-free: through os.Root). Errors name the file: ErrOutside for a path
// leading out of root, ErrNotRegular for a directory, FIFO, device or socket.
func Open(root, rel string) (*os.File, error) {
	name, err := clean(root, rel)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fi, err := r.Stat(name)
	if err != nil {
		return nil, explain(root, name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", filepath.Join(root, name), ErrNotRegular, fi.Mode().Type())
	}
	// O_NONBLOCK: should the file have become a FIFO since Stat, opening it does not block.
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, explain(root, name, err)
	}
	if got, err := f.Stat(); err != nil || !got.Mode().IsRegular() || !os.SameFile(fi, got) {
		f.Close()
		return nil, fmt.Errorf("%s: %w (changed while opened)", filepath.Join(root, name), ErrNotRegular)
	}
	return f, nil
}

// ReadFile reads the regular file root/rel as Open does, at most limit bytes: a larger file
// is an ErrTooLarge error.
func ReadFile(root, rel string, limit int64) ([]byte, error) {
	f, err := Open(root, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w (over %d bytes)", filepath.Join(root, filepath.FromSlash(rel)), ErrTooLarge, limit)
	}
	return b, nil
}

// clean checks that rel is a local relative path and returns it in the OS's form.
func clean(root, rel string) (string, error) {
	name := filepath.FromSlash(rel)
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("%s: %w", filepath.Join(root, name), ErrOutside)
	}
	return name, nil
}

// explain wraps an os.Root error so that it names the file and says why: a path escaping the
// root becomes ErrOutside.
func explain(root, name string, err error) error {
	p := filepath.Join(root, name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		target, _ := os.Readlink(p)
		if target != "" {
			return fmt.Errorf("%s → %s: %w", p, target, ErrOutside)
		}
		return fmt.Errorf("%s: %w", p, ErrOutside)
	}
	return fmt.Errorf("%s: %w", p, err)
}

// Sniff names the image format of b from its magic bytes: png, jpeg, gif, webp, jp2, tiff or
// bmp; "" when b starts like none of them.
func Sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return "webp"
	case bytes.HasPrefix(b, []byte("\x00\x00\x00\x0cjP  \r\n\x87\n")), bytes.HasPrefix(b, []byte("\xff\x4f\xff\x51")):
		return "jp2"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(b, []byte("BM")) && len(b) >= 26:
		return "bmp"
	}
	return ""
}

// NormFormat is the canonical name of an image format or file extension: jpg → jpeg,
// j2k/jpx → jp2, tif → tiff, lower case.
func NormFormat(f string) string {
	f = strings.ToLower(strings.TrimPrefix(f, "."))
	switch f {
	case "jpg", "jpe":
		return "jpeg"
	case "j2k", "jpx", "jpf", "j2c":
		return "jp2"
	case "tif":
		return "tiff"
	}
	return f
}

// CheckImage checks image bytes against their record: they must start like an image, like a
// format image when format (a format name or file extension) is one Sniff knows, and hash to
// sha256hex when it is not empty. The error says what differs; name (the file or record)
// leads it.
func CheckImage(name string, b []byte, format, sha256hex string) error {
	got := Sniff(b)
	want := NormFormat(format)
	switch {
	case len(b) == 0:
		return fmt.Errorf("%s: empty image", name)
	case got == "":
		return fmt.Errorf("%s: not an image (no %s magic bytes)", name, orAny(want))
	case want != "" && knownFormat(want) && got != want:
		return fmt.Errorf("%s: holds %s bytes, not %s", name, got, want)
	}
	if sha256hex != "" {
		sum := sha256.Sum256(b)
		if h := hex.EncodeToString(sum[:]); !strings.EqualFold(h, sha256hex) {
			return fmt.Errorf("%s: sha256 %s differs from the record's %s", name, h[:16], shortHash(sha256hex))
		}
	}
	return nil
}

func knownFormat(f string) bool {
	switch f {
	case "png", "jpeg", "gif", "webp", "jp2", "tiff", "bmp":
		return true
	}
	return false
}

func orAny(f string) string {
	if knownFormat(f) {
		return f
	}
	return "image"
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
