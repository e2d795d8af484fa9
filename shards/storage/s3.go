package storage

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config configures access to an S3-compatible service. Zero fields are taken from the
// usual environment variables, in this order:
//
//	Endpoint      AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, S3_ENDPOINT_URL (default s3.amazonaws.com)
//	Region        AWS_REGION, AWS_DEFAULT_REGION
//	CABundle      AWS_CA_BUNDLE
//	credentials   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then
//	              MINIO_ROOT_USER / MINIO_ROOT_PASSWORD, then ~/.aws/credentials (AWS_PROFILE),
//	              then the EC2/ECS instance role
//
// An endpoint other than Amazon's is addressed path-style (http://host/bucket/key), which
// S3-compatible servers expect. Secrets are never logged or printed: String and LogValue
// redact them.
type S3Config struct {
	Endpoint     string // host[:port] or http(s)://host[:port]
	Region       string
	Insecure     bool   // plain HTTP for a bare host:port endpoint
	CABundle     string // PEM file with extra trusted certificate authorities
	AccessKey    string
	SecretKey    string
	SessionToken string
	Profile      string // profile in ~/.aws/credentials

	PartSize   uint64 // multipart part size (default 16 MiB, at least 5 MiB)
	Threads    uint   // parallel part uploads per object (default 4)
	MaxRetries int    // retries per request (default 10; 1 disables)
	// Transport overrides the HTTP transport (CABundle is then ignored).
	Transport http.RoundTripper
}

// String describes the configuration without secrets.
func (c S3Config) String() string {
	key := "unset"
	if c.AccessKey != "" {
		key = "set"
	}
	return fmt.Sprintf("endpoint=%s region=%s access_key=%s", c.Endpoint, c.Region, key)
}

// LogValue keeps secrets out of structured logs.
func (c S3Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", c.Endpoint), slog.String("region", c.Region))
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// S3 is a Store under a bucket prefix.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string
	cfg    S3Config
	bufs   *BufferPool
}

// Buffers is the store's pool of PartSize buffers, shared by its writers and their callers.
func (s *S3) Buffers() *BufferPool { return s.bufs }

// OpenS3 connects to a bucket. It does not create the bucket; it checks that it exists.
func OpenS3(ctx context.Context, bucket, prefix string, cfg S3Config) (*S3, error) {
	cfg = cfg.withDefaults()
	client, err := NewS3Client(cfg)
	if err != nil {
		return nil, err
	}
	// enough idle parts for a writer's uploads in flight plus the blocks its caller fills
	s := &S3{client: client, bucket: bucket, prefix: strings.Trim(prefix, "/"), cfg: cfg,
		bufs: NewBufferPool(int(cfg.Threads) + 4)}
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("S3 bucket %s at %s: %w", bucket, client.EndpointURL().Host, err)
	}
	if !ok {
		return nil, fmt.Errorf("S3 bucket %s at %s does not exist", bucket, client.EndpointURL().Host)
	}
	return s, nil
}

// withDefaults fills zero fields from the environment and the defaults.
func (cfg S3Config) withDefaults() S3Config {
	if cfg.Endpoint == "" {
		cfg.Endpoint = firstEnv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "S3_ENDPOINT_URL")
	}
	if cfg.Region == "" {
		cfg.Region = firstEnv("AWS_REGION", "AWS_DEFAULT_REGION")
	}
	if cfg.CABundle == "" {
		cfg.CABundle = os.Getenv("AWS_CA_BUNDLE")
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = 16 << 20
	}
	if cfg.PartSize < 5<<20 {
		cfg.PartSize = 5 << 20 // the S3 minimum for all but the last part
	}
	if cfg.Threads == 0 {
		cfg.Threads = 4
	}
	return cfg
}

// NewS3Client builds the minio client OpenS3 uses (for tools and tests that need bucket
// operations).
func NewS3Client(cfg S3Config) (*minio.Client, error) {
	cfg = cfg.withDefaults()
	host, secure, custom := "s3.amazonaws.com", true, false
	if cfg.Endpoint != "" {
		custom = true
		if strings.Contains(cfg.Endpoint, "://") {
			u, err := url.Parse(cfg.Endpoint)
			if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				return nil, fmt.Errorf("S3 endpoint %q: want host:port or http(s)://host:port", cfg.Endpoint)
			}
			host, secure = u.Host, u.Scheme == "https"
		} else {
			host, secure = cfg.Endpoint, !cfg.Insecure
		}
		if strings.HasSuffix(host, "amazonaws.com") {
			custom = false
		}
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.EnvMinio{},
			&credentials.FileAWSCredentials{Profile: cfg.Profile},
			&credentials.IAM{},
		})
	}
	transport := cfg.Transport
	if transport == nil {
		t, err := minio.DefaultTransport(secure)
		if err != nil {
			return nil, fmt.Errorf("S3 transport: %w", err)
		}
		if cfg.CABundle != "" {
			pem, err := os.ReadFile(cfg.CABundle)
			if err != nil {
				return nil, fmt.Errorf("S3 CA bundle: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("S3 CA bundle %s: no certificates", cfg.CABundle)
			}
			if t.TLSClientConfig == nil {
				t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			t.TLSClientConfig.RootCAs = pool
		}
		transport = t
	}
	lookup := minio.BucketLookupAuto
	if custom {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       cfg.Region,
		Transport:    transport,
		BucketLookup: lookup,
		MaxRetries:   cfg.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", host, err)
	}
	return client, nil
}

// Client returns the underlying minio client (for tests and tools).
func (s *S3) Client() *minio.Client { return s.client }

// String returns s3://bucket/prefix.
func (s *S3) String() string { return "s3://" + path.Join(s.bucket, s.prefix) }

// Close does nothing: the client holds no resources that need releasing.
func (s *S3) Close() error { return nil }

func (s *S3) objectKey(key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return Join(s.prefix, key), nil
}

func isNotFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == "NotFound" || code == minio.NoSuchBucket
}

// Create streams the object up as it is written: the first PartSize bytes are held in
// memory; a small object goes up with one PUT at Commit, a larger one as a multipart upload
// whose parts are sent in the background (Threads at a time) while writing continues. The
// object becomes visible only when Commit completes the upload; Abort (or a failure) aborts it.
// The Writer is also a BlockWriter: whole PartSize blocks go up as parts without a copy.
func (s *S3) Create(ctx context.Context, key string) (Writer, error) {
	k, err := s.objectKey(key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &s3Writer{s: s, key: key, objKey: k, ctx: ctx, cancel: cancel,
		sem: make(chan struct{}, s.cfg.Threads)}
	return w, nil
}

type s3Writer struct {
	s           *S3
	key, objKey string
	ctx         context.Context
	cancel      context.CancelFunc
	buf         []byte // bytes given to Write, not yet sent (nil until the first Write)
	last        []byte // a short block given to WriteBlock, sent at Commit
	lastRelease func()
	sem         chan struct{} // parts in flight
	uploadID    string
	parts       []minio.CompletePart
	nextPart    int
	size        int64
	wg          sync.WaitGroup
	mu          sync.Mutex
	err         error
	done        bool
}

// getBuf takes a part buffer from the store's pool (at most Threads are uploading and one is
// being filled at a time).
func (w *s3Writer) getBuf() []byte { return w.s.bufs.Get(int(w.s.cfg.PartSize)) }

// dropBuf gives the Write buffer back.
func (w *s3Writer) dropBuf() {
	if w.buf != nil {
		w.s.bufs.Put(w.buf)
		w.buf = nil
	}
}

func (w *s3Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *s3Writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
		w.cancel()
	}
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if err := w.failed(); err != nil {
		return 0, err
	}
	if err := w.unhold(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = w.getBuf()
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.sendBuf(); err != nil {
				return n - len(p), err
			}
		}
	}
	w.size += int64(n)
	return n, nil
}

// BlockSize is PartSize (every block but the last is one part) and Threads (the parts in
// flight at once).
func (w *s3Writer) BlockSize() (size, blocks int) {
	return int(w.s.cfg.PartSize), int(w.s.cfg.Threads)
}

// WriteBlock sends a PartSize block as the next part straight from b, in the background; a
// shorter block is held as the last part (or the whole object) until Commit. Blocks that do not
// follow that pattern (after a Write, or after a short block) are copied as by Write. release
// is called once, when b is no longer read.
func (w *s3Writer) WriteBlock(b []byte, release func()) error {
	if err := w.failed(); err != nil {
		release()
		return err
	}
	if len(w.buf) > 0 || w.last != nil || len(b) > int(w.s.cfg.PartSize) {
		_, err := w.Write(b)
		release()
		return err
	}
	w.size += int64(len(b))
	if len(b) < int(w.s.cfg.PartSize) {
		w.last, w.lastRelease = b, release
		return nil
	}
	return w.sendPart(b, release)
}

// unhold turns a held short block into buffered bytes, so that more bytes can follow it.
func (w *s3Writer) unhold() error {
	if w.last == nil {
		return nil
	}
	b, release := w.last, w.lastRelease
	w.last, w.lastRelease = nil, nil
	w.size -= int64(len(b))
	_, err := w.Write(b)
	release()
	return err
}

// sendBuf sends the Write buffer as the next part.
func (w *s3Writer) sendBuf() error {
	data := w.buf
	w.buf = nil
	return w.sendPart(data, func() { w.s.bufs.Put(data) })
}

// sendPart starts the upload of data as the next part; release is called when data is no
// longer read (also on failure).
func (w *s3Writer) sendPart(data []byte, release func()) error {
	if w.uploadID == "" {
		id, err := w.s.core().NewMultipartUpload(w.ctx, w.s.bucket, w.objKey, minio.PutObjectOptions{ContentType: contentType(w.key)})
		if err != nil {
			err = fmt.Errorf("upload %s/%s: start multipart upload: %w", w.s, w.key, err)
			w.fail(err)
			release()
			return err
		}
		w.uploadID = id
	}
	w.nextPart++
	part := w.nextPart
	w.mu.Lock()
	w.parts = append(w.parts, minio.CompletePart{PartNumber: part})
	w.mu.Unlock()
	w.sem <- struct{}{}
	w.wg.Add(1)
	go func() {
		defer func() { <-w.sem; w.wg.Done(); release() }()
		if w.failed() != nil {
			return
		}
		var etag string
		err := w.s.retry(w.ctx, fmt.Sprintf("%s part %d", w.key, part), func() error {
			p, err := w.s.core().PutObjectPart(w.ctx, w.s.bucket, w.objKey, w.uploadID, part,
				bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
			etag = p.ETag
			return err
		})
		if err != nil {
			w.fail(fmt.Errorf("upload %s/%s part %d (%d bytes): %w", w.s, w.key, part, len(data), err))
			return
		}
		w.mu.Lock()
		w.parts[part-1].ETag = etag
		w.mu.Unlock()
	}()
	return nil
}

// dropLast releases a held short block.
func (w *s3Writer) dropLast() {
	if w.last != nil {
		w.lastRelease()
		w.last, w.lastRelease = nil, nil
	}
}

func (w *s3Writer) Commit(ctx context.Context) error {
	if w.done {
		return fmt.Errorf("commit %s: already finished", w.key)
	}
	w.done = true
	defer w.cancel()
	if w.uploadID == "" { // small object: one PUT
		defer w.dropLast()
		defer w.dropBuf()
		if err := w.failed(); err != nil {
			return err
		}
		data := w.buf
		if w.last != nil {
			data = w.last
		}
		return w.s.upload(ctx, w.key, w.objKey, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	}
	var err error
	switch {
	case w.last != nil:
		last, release := w.last, w.lastRelease
		w.last, w.lastRelease = nil, nil
		err = w.sendPart(last, release)
	case len(w.buf) > 0:
		err = w.sendBuf()
	}
	if err != nil {
		w.abortUpload()
		return err
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.abortUpload()
		return err
	}
	err = w.s.retry(ctx, w.key+" complete", func() error {
		_, err := w.s.core().CompleteMultipartUpload(ctx, w.s.bucket, w.objKey, w.uploadID, w.parts,
			minio.PutObjectOptions{ContentType: contentType(w.key)})
		return err
	})
	if err != nil {
		w.abortUpload()
		return fmt.Errorf("upload %s/%s (%d bytes): complete: %w", w.s, w.key, w.size, err)
	}
	return nil
}

// abortUpload cancels an unfinished multipart upload (best effort: the server may be gone;
// an incomplete upload is never visible as an object).
func (w *s3Writer) abortUpload() {
	w.wg.Wait()
	if w.uploadID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.s.core().AbortMultipartUpload(ctx, w.s.bucket, w.objKey, w.uploadID); err != nil {
		slog.Debug("abort multipart upload", "object", w.s.String()+"/"+w.key, "err", err)
	}
}

func (w *s3Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.fail(errors.New("aborted"))
	w.dropLast()
	w.dropBuf()
	w.abortUpload()
	return nil
}

func (s *S3) core() minio.Core { return minio.Core{Client: s.client} }

// retry runs op up to 3 times on transient failures, with a short backoff; minio-go also
// retries each request.
func (s *S3) retry(ctx context.Context, what string, op func() error) error {
	const attempts = 3
	var err error
	for a := 1; a <= attempts; a++ {
		if err = op(); err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable(err) || a == attempts {
			break
		}
		slog.Warn("S3 request failed, retrying", "object", s.String()+"/"+what, "attempt", a, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(a) * time.Second):
		}
	}
	return err
}

// upload sends a known-size object with one PutObject (parallel multipart from ReadAt above
// PartSize).
func (s *S3) upload(ctx context.Context, key, objKey string, r io.ReaderAt, size int64, opts minio.PutObjectOptions) error {
	opts.PartSize = s.cfg.PartSize
	opts.NumThreads = s.cfg.Threads
	opts.ContentType = contentType(key)
	err := s.retry(ctx, key, func() error {
		_, err := s.client.PutObject(ctx, s.bucket, objKey, io.NewSectionReader(r, 0, size), size, opts)
		return err
	})
	if err != nil {
		return fmt.Errorf("upload %s/%s (%d bytes): %w", s, key, size, err)
	}
	return nil
}

// retryable tells transient failures (network, server errors) from definite answers (4xx).
func retryable(err error) bool {
	resp := minio.ToErrorResponse(err)
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		return false
	}
	return true
}

func contentType(key string) string {
	switch path.Ext(key) {
	case ".json":
		return "application/json"
	case ".tar":
		return "application/x-tar"
	case ".gz":
		return "application/gzip"
	case ".zst", ".zstd":
		return "application/zstd"
	case ".jsonl":
		return "application/jsonl"
	case ".parquet":
		return "application/vnd.apache.parquet"
	}
	return "application/octet-stream"
}

// Put uploads a small object.
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	k, err := s.objectKey(key)
	if err != nil {
		return err
	}
	return s.upload(ctx, key, k, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
}

// PutIfAbsent uploads with If-None-Match: * so that an existing object is never replaced.
func (s *S3) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	k, err := s.objectKey(key)
	if err != nil {
		return err
	}
	opts := minio.PutObjectOptions{}
	opts.SetMatchETagExcept("*")
	err = s.upload(ctx, key, k, bytes.NewReader(data), int64(len(data)), opts)
	if errorStatus(err) == http.StatusPreconditionFailed {
		return fmt.Errorf("put %s/%s: %w", s, key, ErrExist)
	}
	return err
}

// Update reads key with its ETag, calls fn and uploads the result with If-Match on that ETag
// (If-None-Match: * when the key did not exist), so that the server refuses the write when
// another writer replaced the object in between (HTTP 412: the error wraps ErrConflict).
func (s *S3) Update(ctx context.Context, key string, fn UpdateFunc) error {
	k, err := s.objectKey(key)
	if err != nil {
		return err
	}
	var old []byte
	exists, etag := true, ""
	// One GET: the content and the ETag of the same object.
	body, info, _, err := s.core().GetObject(ctx, s.bucket, k, minio.GetObjectOptions{})
	switch {
	case err != nil && isNotFound(err):
		exists = false
	case err != nil:
		return fmt.Errorf("update %s/%s: %w", s, key, err)
	default:
		etag = info.ETag
		old, err = io.ReadAll(body)
		body.Close()
		if err != nil {
			return fmt.Errorf("update %s/%s: %w", s, key, err)
		}
	}
	data, err := fn(old, exists)
	if err != nil {
		return err
	}
	opts := minio.PutObjectOptions{}
	if exists {
		opts.SetMatchETag(etag)
	} else {
		opts.SetMatchETagExcept("*")
	}
	err = s.upload(ctx, key, k, bytes.NewReader(data), int64(len(data)), opts)
	// A key created by another writer between the read and the write answers 409 on some
	// servers, 412 on others.
	if c := errorStatus(err); c == http.StatusPreconditionFailed || c == http.StatusConflict {
		return fmt.Errorf("update %s/%s: %w", s, key, ErrConflict)
	}
	return err
}

// errorStatus is the HTTP status of an S3 error response in err's chain (0 when none);
// PreconditionFailed counts as 412 whatever the status.
func errorStatus(err error) int {
	if err == nil {
		return 0
	}
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		er = minio.ToErrorResponse(errors.Unwrap(err))
	}
	if er.Code == "PreconditionFailed" {
		return http.StatusPreconditionFailed
	}
	return er.StatusCode
}

type s3Object struct {
	*minio.Object
	size int64
}

func (o s3Object) Size() int64 { return o.size }

// Open opens an object for reading; ReadAt issues ranged GETs.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	k, err := s.objectKey(key)
	if err != nil {
		return nil, err
	}
	o, err := s.client.GetObject(ctx, s.bucket, k, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("open %s/%s: %w", s, key, err)
	}
	st, err := o.Stat()
	if err != nil {
		o.Close()
		if isNotFound(err) {
			return nil, fmt.Errorf("open %s/%s: %w", s, key, ErrNotExist)
		}
		return nil, fmt.Errorf("open %s/%s: %w", s, key, err)
	}
	return s3Object{Object: o, size: st.Size}, nil
}

// Stat returns an object's size.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	k, err := s.objectKey(key)
	if err != nil {
		return Info{}, err
	}
	st, err := s.client.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return Info{}, fmt.Errorf("stat %s/%s: %w", s, key, ErrNotExist)
		}
		return Info{}, fmt.Errorf("stat %s/%s: %w", s, key, err)
	}
	return Info{Key: key, Size: st.Size}, nil
}

// List lists one level under dir.
func (s *S3) List(ctx context.Context, dir string) ([]Info, error) {
	p := s.prefix
	if dir != "" {
		if err := ValidKey(dir); err != nil {
			return nil, err
		}
		p = Join(s.prefix, dir)
	}
	if p != "" {
		p += "/"
	}
	var out []Info
	for o := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: p}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", s, dir, o.Err)
		}
		rel := strings.TrimPrefix(o.Key, p)
		if rel == "" {
			continue
		}
		if strings.HasSuffix(rel, "/") {
			out = append(out, Info{Key: path.Join(dir, strings.TrimSuffix(rel, "/")), Dir: true})
			continue
		}
		out = append(out, Info{Key: path.Join(dir, rel), Size: o.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes an object.
func (s *S3) Delete(ctx context.Context, key string) error {
	k, err := s.objectKey(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, k, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s/%s: %w", s, key, err)
	}
	return nil
}
