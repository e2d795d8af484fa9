package shards

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeVersion(t testing.TB, dir string, opts WriteOptions, figs []*Figure, samples []*Sample) *Manifest {
	t.Helper()
	ctx := context.Background()
	w, err := Create(ctx, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		if err := w.WriteFigure(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range samples {
		if err := w.WriteSample(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	w.AddReject(Reject{Stage: "extract", Kind: "document", URI: "x.pdf", DocSHA: strings.Repeat("a", 64), Reason: "encrypted"})
	w.SetStat("pdfs", 3)
	m, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	figs := realFigures(t, 12)
	samples := samplesFrom(figs)
	all := []Format{WebDataset, Parquet, MDS, JSONL}
	cases := []struct {
		name    string
		opts    WriteOptions
		samples bool
	}{
		{"figures", WriteOptions{Formats: all, MaxRecords: 5}, false},
		{"samples", WriteOptions{Formats: all, MaxRecords: 5}, true},
		{"figures-compressed", WriteOptions{Formats: []Format{WebDataset, JSONL}, Gzip: true, JSONLZstd: true, MaxBytes: 300 << 10}, false},
		{"samples-uniform-jpg", WriteOptions{Formats: []Format{WebDataset}, ImageExt: "jpg", MaxRecords: 3}, true},
		{"samples-mds-raw-small-limit", WriteOptions{Formats: []Format{MDS}, MDSCompression: "none", MDSSizeLimit: 1 << 20}, true},
		{"empty", WriteOptions{Formats: all}, false},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.opts.Version = "v1"
			var fs []*Figure
			var ss []*Sample
			if c.name != "empty" {
				if c.samples {
					ss = samples
				} else {
					fs = figs
				}
			}
			m := writeVersion(t, dir, c.opts, fs, ss)
			n := len(fs) + len(ss)
			if m.Totals.Records != n {
				t.Fatalf("manifest records %d, want %d", m.Totals.Records, n)
			}
			if n > 0 && c.opts.MaxRecords == 5 && len(m.ShardsOf(c.opts.Formats[0])) < 3 {
				t.Fatalf("no roll-over: %d shards", len(m.ShardsOf(c.opts.Formats[0])))
			}
			if c.opts.MDSSizeLimit > 0 && len(m.ShardsOf(MDS)) < 2 {
				t.Fatalf("MDS size limit did not roll over: %+v", m.ShardsOf(MDS))
			}
			ds, err := Open(ctx, dir, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			if ds.Version() != "v1" {
				t.Fatalf("LATEST gave %s", ds.Version())
			}
			for _, f := range c.opts.Formats {
				i := 0
				for rec, err := range ds.RecordsOf(ctx, f) {
					if err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					if f == JSONL { // metadata only
						if rec.ID() != ids(fs, ss)[i] {
							t.Fatalf("jsonl record %d: %s", i, rec.ID())
						}
					} else if c.samples {
						sameRecord(t, ss[i], rec)
					} else {
						sameRecord(t, fs[i], rec)
					}
					i++
				}
				if i != n {
					t.Fatalf("%s: read %d records, want %d", f, i, n)
				}
			}
			rep, err := ds.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Shards != m.Totals.Shards {
				t.Fatalf("verify read %d shards, want %d", rep.Shards, m.Totals.Shards)
			}
			if m.RejectCounts["extract/encrypted"] != 1 || len(m.Documents) == 0 || m.Stats["pdfs"] != 3 {
				t.Fatalf("manifest extras: %+v %v %v", m.RejectCounts, m.Documents, m.Stats)
			}
		})
	}
}

func ids(fs []*Figure, ss []*Sample) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func TestCommitProtocol(t *testing.T) {
	ctx := context.Background()
	figs := realFigures(t, 3)
	dir := t.TempDir()
	writeVersion(t, dir, WriteOptions{Version: "v1"}, figs, nil)

	// A committed version is never overwritten.
	if _, err := Create(ctx, dir, WriteOptions{Version: "v1"}); !errors.Is(err, ErrVersionExists) {
		t.Fatalf("re-create v1: %v", err)
	}
	// An interrupted build leaves shards but no manifest: readers refuse it, LATEST stays.
	w, err := Create(ctx, dir, WriteOptions{Version: "v2", MaxRecords: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		if err := w.WriteFigure(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
	if _, err := os.Stat(filepath.Join(dir, "v2", "wds", "shard-000000.tar")); err != nil {
		t.Fatalf("rolled-over shard of the aborted build should exist: %v", err)
	}
	if _, err := Open(ctx, dir+"@v2", ReadOptions{}); !errors.Is(err, ErrNotCommitted) {
		t.Fatalf("open uncommitted v2: %v", err)
	}
	ds, err := Open(ctx, dir, ReadOptions{})
	if err != nil || ds.Version() != "v1" {
		t.Fatalf("LATEST after abort: %v %v", ds, err)
	}
	ds.Close()
	vs, err := Versions(ctx, dir, ReadOptions{})
	if err != nil || len(vs) != 2 || !vs[0].Committed || !vs[0].Latest || vs[1].Committed {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	// Rerun of v2 overwrites its shards and commits.
	writeVersion(t, dir, WriteOptions{Version: "v2", MaxRecords: 1}, figs, nil)
	ds, err = Open(ctx, dir, ReadOptions{})
	if err != nil || ds.Version() != "v2" {
		t.Fatalf("LATEST after rerun: %v", err)
	}
	if _, err := ds.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	ds.Close()
	// Incremental builds: the documents of committed versions (records and rejects).
	done, err := CommittedDocuments(ctx, dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]bool{strings.Repeat("a", 64): true}
	for _, f := range figs {
		docs[f.Doc.SHA256] = true
		if !done[f.Doc.SHA256] {
			t.Fatalf("document %s of a committed figure not reported done", f.Doc.SHA256)
		}
	}
	if !done[strings.Repeat("a", 64)] || len(done) != len(docs) {
		t.Fatalf("done documents: %v", done)
	}
	// Mixed kinds, duplicate ids and bad ids are refused.
	w, err = Create(ctx, dir, WriteOptions{Version: "v3"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.WriteFigure(ctx, figs[0]); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"duplicate": w.WriteFigure(ctx, figs[0]),
		"kind":      w.WriteSample(ctx, &Sample{ID: "s1"}),
		"dots":      w.WriteFigure(ctx, &Figure{ID: "a.b"}),
		"markers":   w.WriteSample(ctx, &Sample{ID: "s2", Messages: []Message{{Role: "user", Content: "<image><image>"}}}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSplitRef(t *testing.T) {
	for _, c := range []struct{ in, prefix, version string }{
		{"/data/figs", "/data/figs", ""},
		{"/data/figs@v1", "/data/figs", "v1"},
		{"s3://b/p/q@20261122T104544Z", "s3://b/p/q", "20261122T104544Z"},
		{"s3://b/p@v1/x", "s3://b/p@v1/x", ""},
	} {
		p, v := SplitRef(c.in)
		if p != c.prefix || v != c.version {
			t.Errorf("SplitRef(%q) = %q, %q", c.in, p, v)
		}
	}
	_ = fmt.Sprint()
}

// TestWriterKeepsNoCallerBytes: once WriteFigure or WriteSample returns, the writer no longer
// reads the record's byte slices, in every format, so a caller may reuse its read buffer (as
// the benchmarks do). The test scribbles over every image after writing it.
func TestWriterKeepsNoCallerBytes(t *testing.T) {
	figs := realFigures(t, 8)
	all := []Format{WebDataset, Parquet, MDS, JSONL}
	ctx := context.Background()
	for _, smp := range []bool{false, true} {
		t.Run(map[bool]string{false: "figures", true: "samples"}[smp], func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(ctx, dir, WriteOptions{Version: "v1", Formats: all, MaxRecords: 3})
			if err != nil {
				t.Fatal(err)
			}
			var want []any
			for _, f := range figs {
				buf := bytes.Clone(f.ImageBytes)
				if smp {
					s := samplesFrom([]*Figure{f})[0]
					s.Images[0].Bytes = buf
					err = w.WriteSample(ctx, s)
					want = append(want, samplesFrom([]*Figure{f})[0])
				} else {
					g := *f
					g.ImageBytes = buf
					err = w.WriteFigure(ctx, &g)
					want = append(want, f)
				}
				if err != nil {
					t.Fatal(err)
				}
				for i := range buf {
					buf[i] = 0xAA
				}
			}
			if _, err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			d, err := Open(ctx, dir, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if rep, err := d.Verify(ctx); err != nil || rep.Err() != nil {
				t.Fatalf("verify: %v %v", err, rep.Err())
			}
			for _, f := range all[:3] {
				i := 0
				for rec, err := range d.RecordsOf(ctx, f) {
					if err != nil {
						t.Fatalf("%s: %v", f, err)
					}
					sameRecord(t, want[i], rec)
					i++
				}
				if i != len(want) {
					t.Fatalf("%s: %d records", f, i)
				}
			}
		})
	}
}
