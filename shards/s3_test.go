package shards

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"github.com/eosinlab/eosin/internal/s3test"
	"github.com/eosinlab/eosin/shards/mds"
	"github.com/eosinlab/eosin/shards/wds"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards/storage"
	"github.com/minio/minio-go/v7"
)

// TestS3RoundTrip writes every format to versitygw over TLS (parallel multipart for shards
// above the 5 MiB part size), reads it back, verifies it, and checks the create-only manifest.
func TestS3RoundTrip(t *testing.T) {
	srv := startS3(t)
	ctx := context.Background()
	figs := realFigures(t, 20)
	prefix := srv.prefix("corpus/figures")
	opts := WriteOptions{Version: "v1", Formats: []Format{WebDataset, Parquet, MDS, JSONL}, MaxRecords: 12, S3: srv.config()}
	w, err := Create(ctx, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		if err := w.WriteFigure(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Commit(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, srv.Log())
	}
	big := false
	for _, s := range m.Shards {
		if s.Bytes > 5<<20 {
			big = true
		}
	}
	if !big {
		t.Fatal("no shard above the part size: multipart not exercised")
	}
	ds, err := Open(ctx, prefix, ReadOptions{S3: srv.config()})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	for _, f := range opts.Formats {
		i := 0
		for rec, err := range ds.RecordsOf(ctx, f) {
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if f != JSONL {
				sameRecord(t, figs[i], rec)
			}
			i++
		}
		if i != len(figs) {
			t.Fatalf("%s: %d records", f, i)
		}
	}
	if _, err := ds.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	vs, err := Versions(ctx, prefix, ReadOptions{S3: srv.config()})
	if err != nil || len(vs) != 1 || !vs[0].Latest || vs[0].Manifest.Totals.Records != len(figs) {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	// The manifest is written with If-None-Match: *: a second writer of v1 cannot replace it.
	st, err := storage.OpenS3(ctx, "test", "corpus/figures", srv.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutIfAbsent(ctx, "v1/"+ManifestName, []byte("{}")); !errors.Is(err, storage.ErrExist) {
		t.Fatalf("create-only manifest write over an existing one: %v", err)
	}
	if _, err := Create(ctx, prefix, opts); !errors.Is(err, ErrVersionExists) {
		t.Fatalf("re-create v1: %v", err)
	}
}

// killingTransport stops the server when the second part of a multipart upload is sent: the
// upload has begun (part 1 stored) and dies in the middle.
type killingTransport struct {
	base http.RoundTripper
	once sync.Once
	srv  *s3Server
	hit  atomic.Bool
}

func (k *killingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Get("partNumber") == "2" {
		k.once.Do(func() {
			k.srv.Stop()
			k.hit.Store(true)
		})
	}
	return k.base.RoundTrip(req)
}

// TestS3ServerStopsMidUpload stops the server in the middle of a multipart shard upload: the
// writer must fail clearly and no manifest may be visible; after a restart, rerunning the same
// version commits and verifies.
func TestS3ServerStopsMidUpload(t *testing.T) {
	srv := startS3(t)
	ctx := context.Background()
	figs := realFigures(t, 40)
	prefix := srv.prefix("sft")
	// Capture the log: retries are logged, secrets must never be.
	var logBuf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(srv.CertFile)
	pool.AppendCertsFromPEM(pem)
	kt := &killingTransport{srv: srv, base: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	faulty := srv.config()
	faulty.Transport = kt
	opts := WriteOptions{Version: "v7", Formats: []Format{WebDataset, MDS}, MaxRecords: 40, Uploads: 1, S3: faulty}
	w, err := Create(ctx, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for _, f := range figs {
		if werr = w.WriteFigure(ctx, f); werr != nil {
			break
		}
	}
	_, cerr := w.Commit(ctx)
	if !kt.hit.Load() {
		t.Fatal("no multipart upload happened: the shards are too small for the fault test")
	}
	if cerr == nil {
		t.Fatal("commit succeeded with the server down")
	}
	err = cerr
	if werr != nil {
		err = werr
	}
	if msg := err.Error(); !strings.Contains(msg, "upload s3://test/sft/v7/") {
		t.Fatalf("unclear failure: %v", err)
	}
	t.Logf("failure reported: %v", err)
	if strings.Contains(logBuf.String()+msgOf(werr)+msgOf(cerr), s3test.SecretKey) {
		t.Fatal("the secret key appears in a log line or an error")
	}
	if !strings.Contains(logBuf.String(), "retrying") {
		t.Fatalf("no retry logged:\n%s", logBuf.String())
	}

	srv.Restart()
	st, err := storage.OpenS3(ctx, "test", "sft", srv.config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "v7/"+ManifestName); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("manifest visible after a failed upload: %v", err)
	}
	if _, err := st.Stat(ctx, LatestName); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("LATEST written after a failed upload: %v", err)
	}
	if _, err := Open(ctx, prefix+"@v7", ReadOptions{S3: srv.config()}); !errors.Is(err, ErrNotCommitted) {
		t.Fatalf("open of the failed version: %v", err)
	}
	// Nothing half-written is left as an object: every stored shard is complete (multipart
	// uploads that failed were aborted or never completed).
	stored := 0
	for o := range srv.client().ListObjects(ctx, "test", minio.ListObjectsOptions{Prefix: "sft/v7/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		key := strings.TrimPrefix(o.Key, "sft/")
		obj, err := st.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(key, ".tar"):
			r := wds.NewReader(bytes.NewReader(data), wds.ReaderOptions{})
			for {
				_, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("partial object %s visible: %v", key, err)
				}
			}
		case strings.HasSuffix(key, ".zstd"):
			raw, err := mds.Decompress(data, "zstd", 1<<30)
			if err == nil {
				_, err = mds.ParseShard(raw)
			}
			if err != nil {
				t.Fatalf("partial object %s visible: %v", key, err)
			}
		}
		stored++
	}
	t.Logf("%d complete objects stored before the failure, none partial", stored)

	// Rerun the same version: shards are overwritten, the version commits and verifies.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	opts.S3 = srv.config()
	w, err = Create(rctx, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		if err := w.WriteFigure(rctx, f); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Commit(rctx)
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, srv.Log())
	}
	ds, err := Open(rctx, prefix, ReadOptions{S3: srv.config()})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	rep, err := ds.Verify(rctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records[WebDataset] != len(figs) || rep.Records[MDS] != len(figs) || m.Totals.Records != len(figs) {
		t.Fatalf("after rerun: %+v", rep)
	}
}

func msgOf(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestS3BlockWriter writes objects through the S3 writer's two paths (copying Write and
// zero-copy WriteBlock), mixed in every order the writer must accept, and compares the stored
// bytes; every block must be released exactly once, also on Abort.
func TestS3BlockWriter(t *testing.T) {
	srv := startS3(t)
	ctx := context.Background()
	st, err := storage.OpenS3(ctx, "test", "blocks", srv.config()) // 5 MiB parts
	if err != nil {
		t.Fatal(err)
	}
	const part = 5 << 20
	data := make([]byte, 3*part+12345)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	type op struct {
		block bool
		n     int
	}
	for _, c := range []struct {
		name string
		ops  []op
	}{
		{"blocks", []op{{true, part}, {true, part}, {true, 777}}},
		{"one-short-block", []op{{true, 4096}}},
		{"one-full-block", []op{{true, part}}},
		{"write-then-blocks", []op{{false, 100}, {true, part}, {true, part}}},
		{"short-block-then-write", []op{{true, 1000}, {false, part}, {true, part}}},
		{"blocks-write-blocks", []op{{true, part}, {false, 3}, {true, part}, {true, 20}}},
		{"long-block", []op{{true, part + 10}, {true, part}}},
		{"empty", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := st.Create(ctx, c.name)
			if err != nil {
				t.Fatal(err)
			}
			bw := w.(storage.BlockWriter)
			if size, n := bw.BlockSize(); size != part || n != 4 {
				t.Fatalf("BlockSize %d, %d", size, n)
			}
			var taken, released atomic.Int32
			off := 0
			for _, o := range c.ops {
				p := data[off : off+o.n]
				off += o.n
				if o.block {
					taken.Add(1)
					err = bw.WriteBlock(p, func() { released.Add(1) })
				} else {
					_, err = w.Write(p)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if taken.Load() != released.Load() {
				t.Fatalf("%d blocks, %d released", taken.Load(), released.Load())
			}
			got, err := storage.ReadAll(ctx, st, c.name)
			if err != nil || !bytes.Equal(got, data[:off]) {
				t.Fatalf("stored %d bytes (want %d): %v", len(got), off, err)
			}
		})
	}
	t.Run("abort", func(t *testing.T) {
		w, err := st.Create(ctx, "aborted")
		if err != nil {
			t.Fatal(err)
		}
		bw := w.(storage.BlockWriter)
		var released atomic.Int32
		for _, n := range []int{part, 99} {
			if err := bw.WriteBlock(data[:n], func() { released.Add(1) }); err != nil {
				t.Fatal(err)
			}
		}
		w.Abort()
		if released.Load() != 2 {
			t.Fatalf("%d of 2 blocks released", released.Load())
		}
		if _, err := st.Stat(ctx, "aborted"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("aborted object: %v", err)
		}
	})
}
