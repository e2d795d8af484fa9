package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

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

// match expands one input into document URIs: an s3:// prefix (every *.pdf object under it),
// a glob (local), a directory (every *.pdf below it), or a file. Local results are absolute
// paths. The result is sorted.
func (s *stores) match(ctx context.Context, input string) ([]string, error) {
	if bucket, prefix, ok := splitS3(input); ok {
		st, err := s.bucket(ctx, bucket)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(strings.ToLower(prefix), ".pdf") {
			if _, err := st.Stat(ctx, prefix); err == nil {
				return []string{"s3://" + bucket + "/" + prefix}, nil
			}
		}
		var out []string
		var walk func(dir string) error
		walk = func(dir string) error {
			infos, err := st.List(ctx, dir)
			if err != nil {
				return fmt.Errorf("list %s: %w", input, err)
			}
			for _, in := range infos {
				if in.Dir {
					if err := walk(in.Key); err != nil {
						return err
					}
				} else if isPDFName(in.Key) {
					out = append(out, "s3://"+bucket+"/"+in.Key)
				}
			}
			return nil
		}
		if err := walk(prefix); err != nil {
			return nil, err
		}
		sort.Strings(out)
		return out, nil
	}
	var out []string
	paths := []string{input}
	if strings.ContainsAny(input, "*?[") {
		m, err := filepath.Glob(input)
		if err != nil {
			return nil, fmt.Errorf("glob %q: %w", input, err)
		}
		paths = m
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && isPDFName(path) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
	}
	for i, p := range out {
		if a, err := filepath.Abs(p); err == nil {
			out[i] = a
		}
	}
	sort.Strings(out)
	return out, nil
}

func isPDFName(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".pdf") }
