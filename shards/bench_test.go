package shards

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// benchCorpus lays out the PubLayNet page JPEGs repeated reps times as files in a directory
// (what GNU tar packs) and returns the directory, the file names and the total bytes.
func benchCorpus(b *testing.B, reps int) (dir string, names []string, total int64) {
	b.Helper()
	pageNames, pages := pubLayNetPages(b)
	dir = b.TempDir()
	for r := range reps {
		for i, n := range pageNames {
			name := fmt.Sprintf("r%03d_%02d.jpg", r, i)
			if err := os.WriteFile(filepath.Join(dir, name), pages[n], 0o644); err != nil {
				b.Fatal(err)
			}
			names = append(names, name)
			total += int64(len(pages[n]))
		}
	}
	return dir, names, total
}

// writeCorpus writes the corpus files as figure records (the bytes read from disk, as tar
// reads them) to a WebDataset version.
func writeCorpus(b *testing.B, prefix, version string, dir string, names []string, opts WriteOptions) {
	b.Helper()
	ctx := context.Background()
	opts.Version = version
	w, err := Create(ctx, prefix, opts)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			b.Fatal(err)
		}
		id := n[:len(n)-4]
		if err := w.WriteFigure(ctx, &Figure{ID: id, Caption: "page " + id, Image: ImageInfo{Format: "jpeg"}, ImageBytes: data}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / 1e6 / d.Seconds() }

// BenchmarkWebDatasetLocal: MB/s of image bytes written as WebDataset shards to local disk,
// against GNU tar packing the same files in the same run. Both make their output durable
// (our shards are fsynced before the rename; tar is followed by sync on its file).
func BenchmarkWebDatasetLocal(b *testing.B) {
	tarBin := needTool(b, "tar")
	syncBin := needTool(b, "sync")
	dir, names, total := benchCorpus(b, 20)
	out := b.TempDir()
	var ours, tarT, tarNoSync time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		writeCorpus(b, filepath.Join(out, "ds"), fmt.Sprintf("v%d", i), dir, names, WriteOptions{MaxBytes: 64 << 20})
		ours += time.Since(start)

		tarFile := filepath.Join(out, fmt.Sprintf("gnu%d.tar", i))
		start = time.Now()
		if o, err := exec.Command(tarBin, "-cf", tarFile, "-C", dir, ".").CombinedOutput(); err != nil {
			b.Fatalf("tar: %v %s", err, o)
		}
		tarNoSync += time.Since(start)
		if o, err := exec.Command(syncBin, tarFile).CombinedOutput(); err != nil {
			b.Fatalf("sync: %v %s", err, o)
		}
		tarT += time.Since(start)
		os.RemoveAll(filepath.Join(out, "ds", fmt.Sprintf("v%d", i)))
		os.Remove(tarFile)
	}
	n := int64(i) * total
	b.ReportMetric(mbps(n, ours), "MB/s-eosin")
	b.ReportMetric(mbps(n, tarT), "MB/s-tar+sync")
	b.ReportMetric(mbps(n, tarNoSync), "MB/s-tar")
	b.ReportMetric(tarT.Seconds()/ours.Seconds(), "ratio-vs-tar+sync")
	b.ReportMetric(tarNoSync.Seconds()/ours.Seconds(), "ratio-vs-tar")
	b.SetBytes(total)
}

// BenchmarkWebDatasetS3: MB/s of image bytes written as WebDataset shards to versitygw on
// loopback (TLS), against one minio-go PutObject of a file of the same total size (the GNU tar
// of the same files) with the same part size and threads.
func BenchmarkWebDatasetS3(b *testing.B) {
	tarBin := needTool(b, "tar")
	srv := startS3(b)
	dir, names, total := benchCorpus(b, 20)
	tarFile := filepath.Join(b.TempDir(), "all.tar")
	if o, err := exec.Command(tarBin, "-cf", tarFile, "-C", dir, ".").CombinedOutput(); err != nil {
		b.Fatalf("tar: %v %s", err, o)
	}
	cfg := srv.config()
	cfg.PartSize = 16 << 20
	cl := srv.client()
	ctx := context.Background()
	var ours, put time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		writeCorpus(b, srv.prefix("bench"), fmt.Sprintf("v%d", i), dir, names, WriteOptions{S3: cfg})
		ours += time.Since(start)

		start = time.Now()
		f, err := os.Open(tarFile)
		if err != nil {
			b.Fatal(err)
		}
		st, _ := f.Stat()
		_, err = cl.PutObject(ctx, "test", fmt.Sprintf("single/%d.tar", i), f, st.Size(),
			minio.PutObjectOptions{PartSize: cfg.PartSize, NumThreads: cfg.Threads, ContentType: "application/x-tar"})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		put += time.Since(start)
	}
	n := int64(i) * total
	b.ReportMetric(mbps(n, ours), "MB/s-eosin")
	b.ReportMetric(mbps(n, put), "MB/s-putobject")
	b.ReportMetric(put.Seconds()/ours.Seconds(), "ratio-vs-putobject")
	b.SetBytes(total)
}
