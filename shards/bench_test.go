package shards

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards/storage"
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

// openStore opens a dataset location once, as a long-running writer does (the store keeps the
// client and the write buffers from one version to the next).
func openStore(b *testing.B, location string, cfg storage.S3Config) storage.Store {
	b.Helper()
	st, err := storage.Open(context.Background(), location, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// writeCorpus writes the corpus files as figure records to a WebDataset version. Each file is
// read from disk into one reused buffer, as tar reads its input (the writer keeps no reference
// to a record's bytes: TestWriterKeepsNoCallerBytes).
func writeCorpus(b *testing.B, store storage.Store, version string, dir string, names []string, opts WriteOptions) {
	b.Helper()
	ctx := context.Background()
	opts.Version = version
	w, err := CreateIn(ctx, store, opts)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	for _, n := range names {
		if buf, err = readInto(buf, filepath.Join(dir, n)); err != nil {
			b.Fatal(err)
		}
		id := n[:len(n)-4]
		if err := w.WriteFigure(ctx, &Figure{ID: id, Caption: "page " + id, Image: ImageInfo{Format: "jpeg"}, ImageBytes: buf}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

// readInto reads a whole file into buf (grown when too small) and returns the bytes.
func readInto(buf []byte, name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return buf, err
	}
	if int64(cap(buf)) < st.Size() {
		buf = make([]byte, st.Size())
	}
	buf = buf[:st.Size()]
	_, err = io.ReadFull(f, buf)
	return buf, err
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / 1e6 / d.Seconds() }

// selfCPU is the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the CPU time (user + system) process pid has used, from /proc (0 if unreadable).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// fields after the command name (which is in parentheses): state is field 3, utime 14, stime 15
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// BenchmarkWebDatasetLocal: MB/s of image bytes written as WebDataset shards to local disk,
// against GNU tar packing the same files in the same run, both into the same file system.
//
// eosin: reads each file into a reused buffer, writes figure records (image + caption + JSON)
// as 64 MiB tar shards, computes md5 (wids index) and sha256 (manifest) of every shard, fsyncs
// each shard before renaming it into place, and commits the version (side files, manifest,
// LATEST). GNU tar: `tar -cf FILE -C DIR .` (one archive of the image files only); "tar+sync"
// adds `sync FILE`, making the archive as durable as our shards. Also reported: the CPU time
// per GB of input of each side (ours: this process; tar: the child's user+system time; the
// kernel's writeback threads are in neither).
func BenchmarkWebDatasetLocal(b *testing.B) {
	tarBin := needTool(b, "tar")
	syncBin := needTool(b, "sync")
	dir, names, total := benchCorpus(b, 20)
	out := b.TempDir()
	store := openStore(b, filepath.Join(out, "ds"), storage.S3Config{})
	var ours, tarT, tarNoSync, oursCPU, tarCPU time.Duration
	i := 0
	for b.Loop() {
		i++
		start, c0 := time.Now(), selfCPU()
		writeCorpus(b, store, fmt.Sprintf("v%d", i), dir, names, WriteOptions{MaxBytes: 64 << 20})
		ours += time.Since(start)
		oursCPU += selfCPU() - c0

		tarFile := filepath.Join(out, fmt.Sprintf("gnu%d.tar", i))
		start = time.Now()
		cmd := exec.Command(tarBin, "-cf", tarFile, "-C", dir, ".")
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tar: %v %s", err, o)
		}
		tarNoSync += time.Since(start)
		tarCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if o, err := exec.Command(syncBin, tarFile).CombinedOutput(); err != nil {
			b.Fatalf("sync: %v %s", err, o)
		}
		tarT += time.Since(start)
		os.RemoveAll(filepath.Join(out, "ds", fmt.Sprintf("v%d", i)))
		os.Remove(tarFile)
	}
	n := int64(i) * total
	gb := float64(n) / 1e9
	b.ReportMetric(mbps(n, ours), "MB/s-eosin")
	b.ReportMetric(mbps(n, tarT), "MB/s-tar+sync")
	b.ReportMetric(mbps(n, tarNoSync), "MB/s-tar")
	b.ReportMetric(tarT.Seconds()/ours.Seconds(), "ratio-vs-tar+sync")
	b.ReportMetric(tarNoSync.Seconds()/ours.Seconds(), "ratio-vs-tar")
	b.ReportMetric(oursCPU.Seconds()/gb, "cpu-s/GB-eosin")
	b.ReportMetric(tarCPU.Seconds()/gb, "cpu-s/GB-tar")
	b.SetBytes(total)
}

// BenchmarkWebDatasetS3: MB/s of image bytes written as WebDataset shards to versitygw on
// loopback (TLS), against one minio-go PutObject of a file of the same total size (the GNU tar
// of the same files, in the page cache) with the same part size and threads, in the same run.
//
// eosin: CreateIn on a store opened before the timing (as the baseline's client is made
// before it; per version: the manifest Stat), reads each file into a reused buffer, tar-encodes the records, md5 + sha256 over every byte, multipart
// upload of the shard (16 MiB parts straight from the encoder's buffers, 4 in flight), then
// sizes.json, the wids index, manifest.json (If-None-Match) and LATEST. PutObject: known size,
// io.ReaderAt file, so minio-go uploads 16 MiB parts in parallel (4 threads) straight from the
// file, with no hashing of the payload (UNSIGNED-PAYLOAD over TLS), on a client made before
// the timing. Both use the same transport settings (storage.NewS3Client). Also reported: the
// CPU time per GB of this process and of the server during each side's uploads: on a machine
// with few cores the server and the client compete for them, and the sum bounds the rate.
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
	store := openStore(b, srv.prefix("bench"), cfg)
	ctx := context.Background()
	var ours, put, oursCPU, putCPU, oursSrv, putSrv time.Duration
	pid := srv.Pid()
	i := 0
	for b.Loop() {
		i++
		start, c0, s0 := time.Now(), selfCPU(), procCPU(pid)
		writeCorpus(b, store, fmt.Sprintf("v%d", i), dir, names, WriteOptions{})
		ours += time.Since(start)
		oursCPU += selfCPU() - c0
		oursSrv += procCPU(pid) - s0

		start, c0, s0 = time.Now(), selfCPU(), procCPU(pid)
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
		putCPU += selfCPU() - c0
		putSrv += procCPU(pid) - s0
	}
	n := int64(i) * total
	gb := float64(n) / 1e9
	b.ReportMetric(mbps(n, ours), "MB/s-eosin")
	b.ReportMetric(mbps(n, put), "MB/s-putobject")
	b.ReportMetric(oursCPU.Seconds()/gb, "cpu-s/GB-eosin")
	b.ReportMetric(putCPU.Seconds()/gb, "cpu-s/GB-putobject")
	b.ReportMetric(oursSrv.Seconds()/gb, "server-cpu-s/GB-eosin")
	b.ReportMetric(putSrv.Seconds()/gb, "server-cpu-s/GB-putobject")
	b.ReportMetric(put.Seconds()/ours.Seconds(), "ratio-vs-putobject")
	b.SetBytes(total)
}
