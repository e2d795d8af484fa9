package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/shards"
)

// FigureItem is one figure handed to the report builder, with where its crop lives.
type FigureItem struct {
	Figure shards.Figure
	// ImagePath is a local file holding the crop; used when Figure.ImageBytes is empty.
	ImagePath string
	// ImageRoot is the folder ImagePath must not leave: the crop is read only when no symlink
	// leads out of it (default: the directory of ImagePath).
	ImageRoot string
}

// SampleItem is one chain-of-thought sample handed to the report builder.
type SampleItem struct {
	Sample shards.Sample
	// ImagePaths are local files holding the sample's images, index by index, used where the
	// image's Bytes are empty ("" when unknown).
	ImagePaths []string
	// ImageRoot is the folder the ImagePaths must not leave (default: the directory of each).
	ImageRoot string
}

// Manifest is what a committed dataset version says about itself.
type Manifest struct {
	// Version names the committed version.
	Version string `json:"version,omitempty"`
	// Counts are record counts by kind (figures, samples, rejects, …).
	Counts map[string]int64 `json:"counts,omitempty"`
	// Rejects are reject counts by reason.
	Rejects map[string]int64 `json:"rejects,omitempty"`
	// Stats holds the free-form statistics of the build (pages, OCR, dedup removals, …).
	Stats map[string]any `json:"stats,omitempty"`
}

// Source is a place the report reads records from: the output directory of `eosin extract`,
// a committed dataset version, or a JSONL file.
type Source interface {
	// Name describes the source in the report and in errors.
	Name() string
	// BaseDir is a local directory against which relative document URIs are resolved
	// ("" when there is none).
	BaseDir() string
	// Manifest returns the manifest of a committed dataset version, or nil.
	Manifest() *Manifest
	// Agreement returns the agreement report of an extraction of article packages, or nil.
	Agreement() (*Agreement, error)
	// Documents calls fn for every source document the input lists, those without figures
	// or rejects included (a dataset's manifest, an extraction's agreement report). The
	// documents of figures and rejects are listed by those records.
	Documents(ctx context.Context, fn func(shards.Doc) error) error
	// Figures calls fn for every figure, in order.
	Figures(ctx context.Context, fn func(FigureItem) error) error
	// Samples calls fn for every chain-of-thought sample, in order.
	Samples(ctx context.Context, fn func(SampleItem) error) error
	// Rejects calls fn for every reject record, in order.
	Rejects(ctx context.Context, fn func(shards.Reject) error) error
}

// DirSource reads the output directory of `eosin extract`: figures.jsonl, images/<id>.png,
// rejects.jsonl, and samples.jsonl and agreement.json when present. Each JSONL file may also
// be zstd-compressed (name.jsonl.zst).
type DirSource struct {
	dir string
}

// OpenDir opens an `eosin extract` output directory. It must hold figures.jsonl or
// samples.jsonl (optionally .zst).
func OpenDir(dir string) (*DirSource, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open extract output: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open extract output %s: not a directory", dir)
	}
	s := &DirSource{dir: dir}
	if s.find("figures.jsonl") == "" && s.find("samples.jsonl") == "" {
		return nil, fmt.Errorf("open extract output %s: no figures.jsonl or samples.jsonl (is this the -o directory of `eosin extract`?)", dir)
	}
	return s, nil
}

// IsExtractDir reports whether dir looks like the output directory of `eosin extract`.
func IsExtractDir(dir string) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	s := &DirSource{dir: dir}
	return s.find("figures.jsonl") != "" || s.find("samples.jsonl") != ""
}

// Name returns the directory.
func (s *DirSource) Name() string { return s.dir }

// BaseDir returns the directory.
func (s *DirSource) BaseDir() string { return s.dir }

// Manifest returns nil: an extract directory has no manifest.
func (s *DirSource) Manifest() *Manifest { return nil }

// Agreement reads agreement.json (nil when the directory has none).
func (s *DirSource) Agreement() (*Agreement, error) {
	a, err := readAgreement(s.dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.dir, err)
	}
	return a, nil
}

// Documents lists the documents of documents.jsonl (every input document of the extraction),
// or, in a folder written before that file existed, the articles of agreement.json.
func (s *DirSource) Documents(ctx context.Context, fn func(shards.Doc) error) error {
	if p := s.find(articles.DocumentsFile); p != "" {
		return ReadJSONL(ctx, p, fn) // each line is a shards.Doc with counts beside it
	}
	a, err := s.Agreement()
	if err != nil || a == nil {
		return err
	}
	for _, d := range a.Documents {
		if d.URI == "" {
			continue
		}
		if err := fn(shards.Doc{URI: d.URI, DOI: d.DOI, Journal: d.Journal}); err != nil {
			return err
		}
	}
	return nil
}

// find returns the path of name or name.zst inside the directory, or "".
func (s *DirSource) find(name string) string {
	for _, n := range []string{name, name + ".zst"} {
		p := filepath.Join(s.dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// Figures reads figures.jsonl; the crop of figure X is images/X.png (or another image
// extension when no PNG exists).
func (s *DirSource) Figures(ctx context.Context, fn func(FigureItem) error) error {
	p := s.find("figures.jsonl")
	if p == "" {
		return nil
	}
	return ReadJSONL(ctx, p, func(f shards.Figure) error {
		return fn(FigureItem{Figure: f, ImagePath: s.imagePath(f), ImageRoot: s.dir})
	})
}

func (s *DirSource) imagePath(f shards.Figure) string {
	if !safeName(f.ID) {
		return ""
	}
	exts := []string{"png"}
	if f.Image.Format != "" && f.Image.Format != "png" {
		exts = append(exts, f.Image.Format)
	}
	exts = append(exts, "jpg", "jpeg", "webp")
	for _, e := range exts {
		// Lstat: a symlink is the crop's file too; whether it may be read (it must not lead
		// out of the directory) is decided when it is copied, with a message naming it.
		p := filepath.Join(s.dir, "images", f.ID+"."+e)
		if _, err := os.Lstat(p); err == nil {
			return p
		}
	}
	return ""
}

// Samples reads samples.jsonl when present; image paths are resolved against the directory.
func (s *DirSource) Samples(ctx context.Context, fn func(SampleItem) error) error {
	p := s.find("samples.jsonl")
	if p == "" {
		return nil
	}
	return ReadJSONL(ctx, p, func(sm shards.Sample) error {
		it := SampleItem{Sample: sm, ImageRoot: s.dir}
		for _, im := range sm.Images {
			q := ""
			if im.Path != "" && !filepath.IsAbs(im.Path) && !strings.Contains(im.Path, "..") {
				q = filepath.Join(s.dir, filepath.FromSlash(im.Path))
			}
			it.ImagePaths = append(it.ImagePaths, q)
		}
		return fn(it)
	})
}

// Rejects reads rejects.jsonl when present.
func (s *DirSource) Rejects(ctx context.Context, fn func(shards.Reject) error) error {
	p := s.find("rejects.jsonl")
	if p == "" {
		return nil
	}
	return ReadJSONL(ctx, p, fn)
}

// maxLine bounds one JSONL record (figures carry mentions, samples carry long reasoning).
const maxLine = 64 << 20

// ReadJSONL decodes one T per line of a JSONL file (zstd-compressed when the name ends in
// .zst), calling fn for each; blank lines are skipped. Errors name the file and line.
func ReadJSONL[T any](ctx context.Context, path string, fn func(T) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".zst") {
		zr, err := zstd.NewReader(f)
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	if err := DecodeJSONL(ctx, r, fn); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// DecodeJSONL decodes one T per line of r, calling fn for each; blank lines are skipped.
func DecodeJSONL[T any](ctx context.Context, r io.Reader, fn func(T) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if line%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("line %d: record longer than %d bytes", line+1, maxLine)
		}
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

// FileSource reads one JSONL file of figures or samples (told apart by their fields). Figure
// crops are looked up in an images/ directory beside the file.
type FileSource struct {
	path string
}

// OpenFile opens a JSONL file (optionally .zst) of figure or sample records.
func OpenFile(path string) (*FileSource, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open records: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open records %s: %w", path, fs.ErrInvalid)
	}
	return &FileSource{path: path}, nil
}

// Name returns the file path.
func (s *FileSource) Name() string { return s.path }

// BaseDir returns the file's directory.
func (s *FileSource) BaseDir() string { return filepath.Dir(s.path) }

// Manifest returns nil.
func (s *FileSource) Manifest() *Manifest { return nil }

// Agreement returns nil: a records file carries no agreement report.
func (s *FileSource) Agreement() (*Agreement, error) { return nil, nil }

// Documents lists nothing: a records file lists its documents only through its records.
func (s *FileSource) Documents(context.Context, func(shards.Doc) error) error { return nil }

// record holds the fields that tell a figure line from a sample line.
type record struct {
	shards.Figure
	Problem  string           `json:"problem"`
	Messages []shards.Message `json:"messages"`
}

func (s *FileSource) each(ctx context.Context, figs func(FigureItem) error, samples func(SampleItem) error) error {
	dir := filepath.Dir(s.path)
	return ReadJSONL(ctx, s.path, func(raw json.RawMessage) error {
		var probe record
		if err := json.Unmarshal(raw, &probe); err != nil {
			return err
		}
		if probe.Problem != "" || len(probe.Messages) > 0 {
			if samples == nil {
				return nil
			}
			var sm shards.Sample
			if err := json.Unmarshal(raw, &sm); err != nil {
				return err
			}
			it := SampleItem{Sample: sm, ImageRoot: dir}
			for _, im := range sm.Images {
				q := ""
				if im.Path != "" && !filepath.IsAbs(im.Path) && !strings.Contains(im.Path, "..") {
					q = filepath.Join(dir, filepath.FromSlash(im.Path))
				}
				it.ImagePaths = append(it.ImagePaths, q)
			}
			return samples(it)
		}
		if figs == nil {
			return nil
		}
		d := &DirSource{dir: dir}
		return figs(FigureItem{Figure: probe.Figure, ImagePath: d.imagePath(probe.Figure), ImageRoot: dir})
	})
}

// Figures calls fn for every figure line.
func (s *FileSource) Figures(ctx context.Context, fn func(FigureItem) error) error {
	return s.each(ctx, fn, nil)
}

// Samples calls fn for every sample line.
func (s *FileSource) Samples(ctx context.Context, fn func(SampleItem) error) error {
	return s.each(ctx, nil, fn)
}

// Rejects returns nothing: a records file carries no rejects.
func (s *FileSource) Rejects(context.Context, func(shards.Reject) error) error { return nil }

// safeName reports whether s can be used as a file name as it is.
func safeName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
