package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/shards/storage"
)

// S3Settings are the non-secret S3 settings that travel to workers.
type S3Settings = beamrun.S3Settings

// stores opens and caches one storage.Store per S3 bucket (one per DoFn instance).
type stores struct {
	s3 S3Settings
	mu sync.Mutex
	m  map[string]storage.Store
}

func newStores(s S3Settings) *stores { return &stores{s3: s, m: map[string]storage.Store{}} }

// bucket returns the store at the root of an s3:// bucket.
func (s *stores) bucket(ctx context.Context, bucket string) (storage.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[bucket]; ok {
		return st, nil
	}
	st, err := storage.Open(ctx, "s3://"+bucket, s.s3.Config())
	if err != nil {
		return nil, err
	}
	s.m[bucket] = st
	return st, nil
}

func (s *stores) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.m {
		st.Close()
		delete(s.m, k)
	}
}

// splitS3 cuts "s3://bucket/key" into bucket and key.
func splitS3(uri string) (bucket, key string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, strings.Trim(key, "/"), bucket != ""
}

// readAll returns the bytes of a document: a local path or an s3:// object.
func (s *stores) readAll(ctx context.Context, uri string) ([]byte, error) {
	if bucket, key, ok := splitS3(uri); ok {
		st, err := s.bucket(ctx, bucket)
		if err != nil {
			return nil, err
		}
		return storage.ReadAll(ctx, st, key)
	}
	b, err := os.ReadFile(uri)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", uri, err)
	}
	return b, nil
}

// fingerprint streams a document through sha256 and returns the digest and size.
func (s *stores) fingerprint(ctx context.Context, uri string) (sum string, size int64, err error) {
	var r io.ReadCloser
	if bucket, key, ok := splitS3(uri); ok {
		st, err := s.bucket(ctx, bucket)
		if err != nil {
			return "", 0, err
		}
		o, err := st.Open(ctx, key)
		if err != nil {
			return "", 0, err
		}
		r = o
	} else {
		f, err := os.Open(uri)
		if err != nil {
			return "", 0, fmt.Errorf("fingerprint: %w", err)
		}
		r = f
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, fmt.Errorf("fingerprint %s: %w", uri, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// match expands one input into documents: an s3:// prefix (every *.pdf object under it, and
// every .tar.gz/.tgz article package), a glob (local), a directory, or a file. Directories
// and files are expanded as articles.Inputs does: folders holding a .nxml, .tar.gz/.tgz files
// and .nxml/.xml files with a PDF of the same name are article packages, the other *.pdf are
// plain PDFs. Local results are absolute paths. The result is sorted by URI.
func (s *stores) match(ctx context.Context, input string) ([]docRef, error) {
	if bucket, prefix, ok := splitS3(input); ok {
		return s.matchS3(ctx, input, bucket, prefix)
	}
	paths := []string{input}
	if strings.ContainsAny(input, "*?[") {
		m, err := filepath.Glob(input)
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", input, err)
		}
		paths = m
	}
	ins, err := articles.Inputs(paths)
	if err != nil {
		return nil, err
	}
	out := make([]docRef, 0, len(ins))
	for _, in := range ins {
		p := in.Path
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		out = append(out, docRef{URI: p, Package: in.Package})
	}
	slices.SortFunc(out, func(a, b docRef) int { return strings.Compare(a.URI, b.URI) })
	return out, nil
}

// matchS3 lists the documents under an s3:// prefix (or the one object it names).
func (s *stores) matchS3(ctx context.Context, input, bucket, prefix string) ([]docRef, error) {
	st, err := s.bucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	if isPDFName(prefix) || isPackageName(prefix) {
		if _, err := st.Stat(ctx, prefix); err == nil {
			return []docRef{{URI: "s3://" + bucket + "/" + prefix, Package: isPackageName(prefix)}}, nil
		}
	}
	var out []docRef
	var walk func(dir string) error
	walk = func(dir string) error {
		infos, err := st.List(ctx, dir)
		if err != nil {
			return fmt.Errorf("list %s: %w", input, err)
		}
		for _, in := range infos {
			switch {
			case in.Dir:
				if err := walk(in.Key); err != nil {
					return err
				}
			case isPDFName(in.Key):
				out = append(out, docRef{URI: "s3://" + bucket + "/" + in.Key})
			case isPackageName(in.Key):
				out = append(out, docRef{URI: "s3://" + bucket + "/" + in.Key, Package: true})
			}
		}
		return nil
	}
	if err := walk(prefix); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b docRef) int { return strings.Compare(a.URI, b.URI) })
	return out, nil
}

func isPDFName(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".pdf") }
