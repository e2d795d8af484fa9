package shards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards/storage"
)

// TestPartsMatchWriter writes the same records once with a Writer and once as parts (each
// part the records of one of the Writer's shards) and checks that every shard and side file is
// byte-identical, that the manifests agree, and that Verify and the readers accept the result.
func TestPartsMatchWriter(t *testing.T) {
	figs := realFigures(t, 12)
	samples := samplesFrom(figs)
	all := []Format{WebDataset, Parquet, MDS, JSONL}
	cases := []struct {
		name    string
		opts    WriteOptions
		samples bool
	}{
		{"samples", WriteOptions{Formats: all, MaxRecords: 5}, true},
		{"figures", WriteOptions{Formats: all, MaxRecords: 4}, false},
		{"samples-gzip-zstd", WriteOptions{Formats: []Format{WebDataset, JSONL}, Gzip: true, JSONLZstd: true, MaxRecords: 7}, true},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Version = "v1"
			stats := map[string]any{"n": 1}
			rej := Reject{Stage: "cot", Kind: "sample", ID: "x", DocSHA: strings.Repeat("b", 64), Reason: "parse_error"}
			// The Writer's version.
			wdir := t.TempDir()
			w, err := Create(ctx, wdir, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			n := len(figs)
			for i := 0; i < n; i++ {
				if c.samples {
					err = w.WriteSample(ctx, samples[i])
				} else {
					err = w.WriteFigure(ctx, figs[i])
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			w.AddReject(rej)
			w.SetStat("n", 1)
			want, err := w.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// The same records as parts, written in reverse order as independent workers might.
			pdir := t.TempDir()
			st, err := storage.Open(ctx, pdir, storage.S3Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var parts []Part
			per := c.opts.MaxRecords
			for first := (n - 1) / per * per; first >= 0; first -= per {
				var recs PartRecords
				end := min(first+per, n)
				if c.samples {
					recs.Samples = samples[first:end]
				} else {
					recs.Figures = figs[first:end]
				}
				p, err := WritePart(ctx, st, c.opts, first/per, first, recs)
				if err != nil {
					t.Fatal(err)
				}
				// parts travel between workers as JSON
				b, _ := json.Marshal(p)
				var back Part
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				parts = append(parts, back)
			}
			kind := KindFigure
			if c.samples {
				kind = KindSample
			}
			got, err := CommitParts(ctx, st, c.opts, parts, CommitOptions{Kind: kind, Created: want.Created, Rejects: []Reject{rej}, Stats: stats})
			if err != nil {
				t.Fatal(err)
			}
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(got)
			if string(wj) != string(gj) {
				t.Fatalf("manifests differ:\nwriter %s\nparts  %s", wj, gj)
			}
			d, err := Open(ctx, pdir, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			rep, err := d.Verify(ctx)
			if err != nil || rep.Err() != nil {
				t.Fatalf("verify: %v %v", err, rep.Err())
			}
			for _, f := range all[:2] {
				if !got.Has(f) {
					continue
				}
				i := 0
				for rec, err := range d.RecordsOf(ctx, f) {
					if err != nil {
						t.Fatal(err)
					}
					if c.samples {
						sameRecord(t, samples[i], rec)
					} else {
						sameRecord(t, figs[i], rec)
					}
					i++
				}
				if i != n {
					t.Fatalf("%s: %d records read, want %d", f, i, n)
				}
			}
			// One shard at a time, as distributed readers do.
			i := 0
			for _, sh := range got.ShardsOf(d.PreferredFormat()) {
				for rec, err := range d.ShardRecords(ctx, sh) {
					if err != nil {
						t.Fatal(err)
					}
					if rec.ID() == "" {
						t.Fatal("record without id")
					}
					i++
				}
			}
			if i != n {
				t.Fatalf("ShardRecords: %d records, want %d", i, n)
			}
			// A retried commit writes the same manifest and succeeds; a different one is refused.
			if _, err := CommitParts(ctx, st, c.opts, parts, CommitOptions{Kind: kind, Created: want.Created, Rejects: []Reject{rej}, Stats: stats}); err != nil {
				t.Fatalf("retried commit: %v", err)
			}
			if _, err := CommitParts(ctx, st, c.opts, parts[1:], CommitOptions{Kind: kind, Created: want.Created}); !errors.Is(err, ErrVersionExists) {
				t.Fatalf("different manifest: %v", err)
			}
		})
	}
}

// TestPartsEdgeCases: an empty version, a part too big for one MDS shard, duplicate parts.
func TestPartsEdgeCases(t *testing.T) {
	ctx := context.Background()
	figs := realFigures(t, 6)
	samples := samplesFrom(figs)
	dir := t.TempDir()
	st, err := storage.Open(ctx, dir, storage.S3Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts := WriteOptions{Formats: []Format{WebDataset, MDS}, Version: "empty"}
	m, err := CommitParts(ctx, st, opts, nil, CommitOptions{Kind: KindSample, Created: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if m.Totals.Records != 0 || m.Totals.Shards != 2 {
		t.Fatalf("empty version: %+v", m.Totals)
	}
	d, err := Open(ctx, dir+"@empty", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := d.Verify(ctx); err != nil || rep.Err() != nil {
		t.Fatalf("verify empty: %v %v", err, rep.Err())
	}
	d.Close()

	big := WriteOptions{Formats: []Format{MDS}, Version: "big", MDSSizeLimit: 1 << 20, MDSCompression: "none"}
	if _, err := WritePart(ctx, st, big, 0, 0, PartRecords{Samples: samples}); err == nil || !errors.Is(err, errPartFull) {
		t.Fatalf("oversized part: %v", err)
	}
	// Without an explicit limit a part larger than MDS's 64 MiB default is still one shard.
	large := make([]*Sample, 3)
	for i := range large {
		img := make([]byte, 30<<20)
		for j := range img {
			img[j] = byte(j*7 + i)
		}
		large[i] = &Sample{ID: fmt.Sprintf("large-%d", i), Task: "mcq", Problem: "p", Answer: "A",
			Images: []SampleImage{{Format: "png", Bytes: append([]byte("\x89PNG\r\n\x1a\n"), img...)}}}
	}
	lopts := WriteOptions{Formats: []Format{MDS}, Version: "large", MDSCompression: "none"}
	lp, err := WritePart(ctx, st, lopts, 0, 0, PartRecords{Samples: large})
	if err != nil {
		t.Fatalf("part over the default MDS size limit: %v", err)
	}
	if len(lp.Shards) != 1 || lp.Shards[0].Bytes < 90<<20 || lp.Records != 3 {
		t.Fatalf("large part: %+v", lp)
	}
	if _, err := CommitParts(ctx, st, lopts, []Part{*lp}, CommitOptions{Kind: KindSample}); err != nil {
		t.Fatal(err)
	}
	ld, err := Open(ctx, dir+"@large", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := ld.Verify(ctx); err != nil || rep.Err() != nil {
		t.Fatalf("verify large: %v %v", err, rep.Err())
	}
	ld.Close()

	v := WriteOptions{Formats: []Format{JSONL}, Version: "dup"}
	p, err := WritePart(ctx, st, v, 3, 0, PartRecords{Samples: samples[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if p.Shards[0].Path != "jsonl/part-000003.jsonl" || p.Records != 2 {
		t.Fatalf("part: %+v", p)
	}
	if _, err := CommitParts(ctx, st, v, []Part{*p, *p}, CommitOptions{Kind: KindSample}); err == nil {
		t.Fatal("duplicate part accepted")
	}
	if _, err := WritePart(ctx, st, v, 0, 0, PartRecords{Samples: samples[:1], Figures: figs[:1]}); err == nil {
		t.Fatal("mixed kinds accepted")
	}
	if _, err := filepath.Glob(filepath.Join(dir, "dup", "manifest.json")); err != nil {
		t.Fatal(err)
	}
}
