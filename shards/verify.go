package shards

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"

	"github.com/eosinlab/eosin/shards/mds"
	"github.com/eosinlab/eosin/shards/wds"
)

// VerifyReport summarises a verification.
type VerifyReport struct {
	Shards   int
	Files    int
	Records  map[Format]int // records decoded per format
	Bytes    int64          // bytes read and hashed
	Problems []string       // empty when the version is sound
}

// Err returns an error listing the problems, or nil.
func (r *VerifyReport) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	more := ""
	p := r.Problems
	if len(p) > 20 {
		more = fmt.Sprintf("\n  … and %d more", len(p)-20)
		p = p[:20]
	}
	return fmt.Errorf("verify: %d problem(s):\n  %s%s", len(r.Problems), strings.Join(p, "\n  "), more)
}

// Verify re-reads every object of the version: sizes and sha256 against the manifest, every
// record decoded and counted per shard, ids unique, every format holding the same records, and
// the side indexes (sizes.json, the wids index with its md5 sums, MDS index.json with its
// hashes) consistent with the shards. It returns the report and report.Err().
func (d *Dataset) Verify(ctx context.Context) (*VerifyReport, error) {
	rep := &VerifyReport{Records: map[Format]int{}}
	problem := func(format string, a ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, a...)) }
	m := d.manifest

	sideData := map[string][]byte{}
	for _, f := range m.Files {
		b, err := readSmall(ctx, d.store, f.Key(d.version), 1<<30)
		if err != nil {
			problem("%s: %v", f.Path, err)
			continue
		}
		rep.Files++
		rep.Bytes += int64(len(b))
		sum := sha256.Sum256(b)
		if int64(len(b)) != f.Bytes || hex.EncodeToString(sum[:]) != f.SHA256 {
			problem("%s: %d bytes sha256 %s, manifest says %d bytes sha256 %s", f.Path, len(b), hex.EncodeToString(sum[:]), f.Bytes, f.SHA256)
			continue
		}
		sideData[f.Path] = b
	}

	var mdsIndex map[string]mds.Entry
	if m.Has(MDS) {
		if b, ok := sideData["mds/index.json"]; !ok {
			problem("mds/index.json: missing or unreadable")
		} else if entries, err := mds.ParseIndex(b); err != nil {
			problem("mds/index.json: %v", err)
		} else {
			mdsIndex = map[string]mds.Entry{}
			for _, e := range entries {
				mdsIndex["mds/"+e.Basename()] = e
			}
			if len(entries) != len(m.ShardsOf(MDS)) {
				problem("mds/index.json lists %d shards, the manifest %d", len(entries), len(m.ShardsOf(MDS)))
			}
		}
	}
	var sizes wds.Sizes
	wids := map[string]wds.WidsShard{}
	if m.Has(WebDataset) {
		if b, ok := sideData["wds/sizes.json"]; !ok {
			problem("wds/sizes.json: missing or unreadable")
		} else if s, err := wds.ParseSizes(b); err != nil {
			problem("wds/sizes.json: %v", err)
		} else {
			sizes = s
		}
		if b, ok := sideData["wds/"+WidsIndexName]; !ok {
			problem("wds/%s: missing or unreadable", WidsIndexName)
		} else if x, err := wds.ParseWidsIndex(b); err != nil {
			problem("wds/%s: %v", WidsIndexName, err)
		} else {
			for _, s := range x.ShardList {
				// A referenced shard is listed by its path relative to this version's wds/
				// (../<version>/wds/<name>); shard names are unique across versions.
				wids[path.Base(s.URL)] = s
			}
		}
	}

	ids := map[Format][]string{}
	broken := map[Format]bool{}
	for _, sh := range m.Shards {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var shardIDs []string
		got, md5sum, err := d.verifyShard(ctx, sh, mdsIndex, &shardIDs)
		rep.Shards++
		rep.Bytes += got
		if err != nil {
			problem("%s: %v", sh.Path, err)
			broken[sh.Format] = true
			continue
		}
		if len(shardIDs) != sh.Records {
			problem("%s: %d records, the manifest says %d", sh.Path, len(shardIDs), sh.Records)
		}
		rep.Records[sh.Format] += len(shardIDs)
		ids[sh.Format] = append(ids[sh.Format], shardIDs...)
		if sh.Format == WebDataset {
			base := path.Base(sh.Path)
			if sizes != nil && sizes[base] != len(shardIDs) {
				problem("wds/sizes.json says %d samples in %s, it holds %d", sizes[base], base, len(shardIDs))
			}
			if w, ok := wids[base]; !ok {
				problem("wids index: %s missing", base)
			} else {
				if w.NSamples != len(shardIDs) {
					problem("wids index says %d samples in %s, it holds %d", w.NSamples, base, len(shardIDs))
				}
				if w.MD5Sum != "" && w.MD5Sum != md5sum {
					problem("wids index md5 of %s is %s, the file's is %s", base, w.MD5Sum, md5sum)
				}
				if w.FileSize != 0 && w.FileSize != got {
					problem("wids index says %s has %d bytes, it has %d", base, w.FileSize, got)
				}
			}
		}
	}
	if len(sizes) != len(m.ShardsOf(WebDataset)) && sizes != nil {
		problem("wds/sizes.json lists %d shards, the manifest %d", len(sizes), len(m.ShardsOf(WebDataset)))
	}
	if len(wids) != len(m.ShardsOf(WebDataset)) && m.Has(WebDataset) && len(wids) > 0 {
		problem("wids index lists %d shards, the manifest %d", len(wids), len(m.ShardsOf(WebDataset)))
	}
	var ref []string
	var refFormat Format
	for _, f := range m.Formats {
		if broken[f] {
			continue
		}
		list := ids[f]
		seen := make(map[string]struct{}, len(list))
		for _, id := range list {
			if _, dup := seen[id]; dup {
				problem("%s: id %s appears twice", f, id)
			}
			seen[id] = struct{}{}
		}
		if len(list) != m.Totals.Records {
			problem("%s: %d records, totals.records says %d", f, len(list), m.Totals.Records)
		}
		if ref == nil {
			ref, refFormat = list, f
		} else if strings.Join(ref, "\n") != strings.Join(list, "\n") {
			problem("%s and %s hold different records (or in a different order)", refFormat, f)
		}
	}
	return rep, rep.Err()
}

type multiHash struct{ sha, md hash.Hash }

func (h multiHash) Write(p []byte) (int, error) {
	h.sha.Write(p)
	if h.md != nil {
		h.md.Write(p)
	}
	return len(p), nil
}

// verifyShard hashes and decodes one shard. It returns the bytes read and the md5 (WebDataset).
func (d *Dataset) verifyShard(ctx context.Context, sh ShardInfo, mdsIndex map[string]mds.Entry, ids *[]string) (int64, string, error) {
	o, err := d.store.Open(ctx, sh.Key(d.version))
	if err != nil {
		return 0, "", err
	}
	defer o.Close()
	h := multiHash{sha: sha256.New()}
	if sh.Format == WebDataset {
		h.md = md5.New()
	}
	collect := func(r *Record) bool {
		*ids = append(*ids, r.ID())
		return true
	}
	var n int64
	var decErr error
	hashErr := func() error {
		sum := hex.EncodeToString(h.sha.Sum(nil))
		if n != sh.Bytes || sum != sh.SHA256 {
			return fmt.Errorf("%d bytes sha256 %s, manifest says %d bytes sha256 %s", n, sum, sh.Bytes, sh.SHA256)
		}
		return nil
	}
	switch sh.Format {
	case Parquet:
		// Random access: hash in a first pass, decode in a second.
		n, err = io.Copy(h, io.NewSectionReader(o, 0, o.Size()))
		if err != nil {
			return n, "", err
		}
		if err := hashErr(); err != nil {
			return n, "", err
		}
		decErr = decodeShard(ctx, d.manifest.Kind, sh, o, o.Size(), nil, d.opts.MaxObjectSize, collect)
	case MDS:
		if o.Size() > d.opts.MaxObjectSize {
			return 0, "", fmt.Errorf("%d bytes exceeds the %d-byte limit", o.Size(), d.opts.MaxObjectSize)
		}
		data := make([]byte, o.Size())
		if _, err := io.ReadFull(o, data); err != nil {
			return 0, "", err
		}
		n = int64(len(data))
		h.Write(data)
		if err := hashErr(); err != nil {
			return n, "", err
		}
		if entry, ok := mdsIndex[sh.Path]; ok {
			if err := checkMDSHashes(entry, data); err != nil {
				return n, "", err
			}
		}
		decErr = decodeShard(ctx, d.manifest.Kind, sh, bytes.NewReader(data), n, mdsIndex, d.opts.MaxObjectSize, collect)
	default:
		cr := &countingReader{r: io.TeeReader(o, h)}
		decErr = decodeShard(ctx, d.manifest.Kind, sh, cr, o.Size(), nil, d.opts.MaxObjectSize, collect)
		// Hash what the decoder did not need (tar padding), or the rest after a decoding error.
		_, err = io.Copy(io.Discard, cr)
		n = cr.n
		if err != nil {
			return n, "", err
		}
		if err := hashErr(); err != nil {
			if decErr != nil {
				return n, "", fmt.Errorf("%w; %v", err, trimPath(decErr, sh.Path))
			}
			return n, "", err
		}
	}
	if decErr != nil {
		return n, "", trimPath(decErr, sh.Path)
	}
	md := ""
	if h.md != nil {
		md = hex.EncodeToString(h.md.Sum(nil))
	}
	return n, md, nil
}

// trimPath drops the "path: " prefix decoders put on their errors (the report adds it).
func trimPath(err error, path string) error {
	if msg, ok := strings.CutPrefix(err.Error(), path+": "); ok {
		return errors.New(msg)
	}
	return err
}

func checkMDSHashes(e mds.Entry, data []byte) error {
	check := func(what string, fi *mds.FileInfo, b []byte) error {
		if fi.Bytes != int64(len(b)) {
			return fmt.Errorf("index.json %s: %d bytes, the data has %d", what, fi.Bytes, len(b))
		}
		for algo, want := range fi.Hashes {
			got, err := mds.Hashes(b, []string{algo})
			if err != nil {
				return fmt.Errorf("index.json %s: %w", what, err)
			}
			if got[algo] != want {
				return fmt.Errorf("index.json %s %s is %s, the data's is %s", what, algo, want, got[algo])
			}
		}
		return nil
	}
	raw := data
	if e.ZipData != nil {
		if err := check("zip_data", e.ZipData, data); err != nil {
			return err
		}
		var err error
		if raw, err = mds.Decompress(data, e.Config.Compression, 4<<30); err != nil {
			return err
		}
	}
	return check("raw_data", &e.RawData, raw)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
