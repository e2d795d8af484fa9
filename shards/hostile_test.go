package shards

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/shards/mds"
)

// hostileFixture writes a committed version with every format and returns its directory.
func hostileFixture(t *testing.T) (root, dir string) {
	t.Helper()
	root = t.TempDir()
	dir = filepath.Join(root, "ds")
	writeVersion(t, dir, WriteOptions{Version: "v1", Formats: []Format{WebDataset, Parquet, MDS, JSONL}, MaxRecords: 4},
		realFigures(t, 10), nil)
	return root, dir
}

// editManifest rewrites v1/manifest.json through fn.
func editManifest(t *testing.T, dir string, fn func(m *Manifest)) {
	t.Helper()
	p := filepath.Join(dir, "v1", ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(&m)
	b, _ = json.Marshal(&m)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceObject writes data at v1/rel and makes the manifest agree with it, so that the
// decoders, not the hash check, must catch what is wrong inside.
func replaceObject(t *testing.T, dir, rel string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "v1", rel), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	editManifest(t, dir, func(m *Manifest) {
		for i := range m.Shards {
			if m.Shards[i].Path == rel {
				m.Shards[i].Bytes, m.Shards[i].SHA256 = int64(len(data)), hex.EncodeToString(sum[:])
			}
		}
		for i := range m.Files {
			if m.Files[i].Path == rel {
				m.Files[i].Bytes, m.Files[i].SHA256 = int64(len(data)), hex.EncodeToString(sum[:])
			}
		}
	})
}

// readErr reads every format and returns the errors met (nil entries for clean reads).
func readErrs(t *testing.T, dir string) (map[Format]error, error) {
	t.Helper()
	ctx := context.Background()
	ds, err := Open(ctx, dir, ReadOptions{})
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	out := map[Format]error{}
	for _, f := range ds.Manifest().Formats {
		out[f] = nil
		for _, err := range ds.RecordsOf(ctx, f) {
			if err != nil {
				out[f] = err
			}
		}
	}
	_, verr := ds.Verify(ctx)
	return out, verr
}

func mustContain(t *testing.T, what string, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("%s: error %q does not mention %q", what, err, s)
		}
	}
}

func TestHostileTruncatedShards(t *testing.T) {
	for _, rel := range []string{"wds/shard-000001.tar", "parquet/part-000001.parquet", "mds/shard.00001.mds.zstd", "jsonl/part-000001.jsonl"} {
		t.Run(strings.Split(rel, "/")[0], func(t *testing.T) {
			_, dir := hostileFixture(t)
			p := filepath.Join(dir, "v1", rel)
			b, _ := os.ReadFile(p)
			cut := b[:len(b)*2/3]
			if strings.HasSuffix(rel, ".jsonl") { // cut inside a line
				cut = b[:bytes.LastIndexByte(b[:len(b)-2], '\n')+20]
			}
			// As found on disk: the manifest's size and hash catch it.
			os.WriteFile(p, cut, 0o644)
			_, verr := readErrs(t, dir)
			mustContain(t, "verify", verr, rel, "sha256")
			// With a manifest that agrees, the decoder must catch it.
			replaceObject(t, dir, rel, cut)
			errs, verr := readErrs(t, dir)
			mustContain(t, "verify", verr, rel)
			format := map[string]Format{"wds": WebDataset, "parquet": Parquet, "mds": MDS, "jsonl": JSONL}[strings.Split(rel, "/")[0]]
			mustContain(t, "read", errs[format], rel)
		})
	}
}

func TestHostileTarMemberEscapes(t *testing.T) {
	root, dir := hostileFixture(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"../x", "../x.json"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg, Format: tar.FormatGNU})
		tw.Write([]byte("{}"))
	}
	tw.Close()
	replaceObject(t, dir, "wds/shard-000000.tar", buf.Bytes())
	errs, verr := readErrs(t, dir)
	mustContain(t, "verify", verr, "unsafe path")
	mustContain(t, "read", errs[WebDataset], `"../x"`, "unsafe path")
	// Nothing was written anywhere else.
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if info != nil && (info.Name() == "x" || info.Name() == "x.json") {
			t.Errorf("file written outside the dataset: %s", p)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "x")); err == nil {
		t.Fatal("x written next to the test directory")
	}
}

func TestHostileWrongHash(t *testing.T) {
	_, dir := hostileFixture(t)
	p := filepath.Join(dir, "v1", "parquet", "part-000000.parquet")
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 0xff // one flipped bit pattern inside image bytes, same size
	os.WriteFile(p, b, 0o644)
	_, verr := readErrs(t, dir)
	mustContain(t, "verify", verr, "parquet/part-000000.parquet", "sha256")
}

func TestHostileLyingIndexes(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(t *testing.T, dir string)
		wants []string
		read  Format // a format whose reading must fail too ("" if only verify can tell)
	}{
		{"sizes.json", func(t *testing.T, dir string) {
			replaceObject(t, dir, "wds/sizes.json", []byte(`{"shard-000000.tar": 5, "shard-000001.tar": 4, "shard-000002.tar": 2}`))
		}, []string{"sizes.json says 5"}, ""},
		{"wids", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "v1", "wds", WidsIndexName))
			b = bytes.Replace(b, []byte(`"nsamples": 4`), []byte(`"nsamples": 40`), 1)
			replaceObject(t, dir, "wds/"+WidsIndexName, b)
		}, []string{"wids index says 40"}, ""},
		{"wids-md5", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "v1", "wds", WidsIndexName))
			var x map[string]any
			json.Unmarshal(b, &x)
			x["shardlist"].([]any)[1].(map[string]any)["md5sum"] = strings.Repeat("0", 32)
			b, _ = json.Marshal(x)
			replaceObject(t, dir, "wds/"+WidsIndexName, b)
		}, []string{"md5"}, ""},
		{"mds-index", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "v1", "mds", "index.json"))
			b = bytes.Replace(b, []byte(`"samples": 4`), []byte(`"samples": 3`), 1)
			replaceObject(t, dir, "mds/index.json", b)
		}, []string{"index.json says 3"}, MDS},
		{"manifest-counts", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *Manifest) { // totals still add up
				for i := range m.Shards {
					switch m.Shards[i].Path {
					case "jsonl/part-000000.jsonl":
						m.Shards[i].Records++
					case "jsonl/part-000001.jsonl":
						m.Shards[i].Records--
					}
				}
			})
		}, []string{"jsonl/part-000000.jsonl", "manifest says 5"}, JSONL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, dir := hostileFixture(t)
			c.edit(t, dir)
			errs, verr := readErrs(t, dir)
			mustContain(t, "verify", verr, c.wants...)
			if c.read != "" {
				mustContain(t, "read "+string(c.read), errs[c.read])
			}
		})
	}
}

func TestHostileManifest(t *testing.T) {
	ctx := context.Background()
	for name, edit := range map[string]func(m *Manifest){
		"path-escape":  func(m *Manifest) { m.Shards[0].Path = "../../etc/passwd" },
		"totals":       func(m *Manifest) { m.Totals.Records++ },
		"shard-count":  func(m *Manifest) { m.Totals.Shards-- },
		"version-name": func(m *Manifest) { m.Version = "v2" },
	} {
		t.Run(name, func(t *testing.T) {
			_, dir := hostileFixture(t)
			editManifest(t, dir, edit)
			if ds, err := Open(ctx, dir, ReadOptions{}); err == nil {
				ds.Close()
				t.Fatal("manifest accepted")
			}
		})
	}
	_, dir := hostileFixture(t)
	os.WriteFile(filepath.Join(dir, "v1", ManifestName), []byte(`{"manifest_version": 1, "shards": [`), 0o644)
	if _, err := Open(ctx, dir, ReadOptions{}); err == nil || !strings.Contains(err.Error(), "manifest") {
		t.Fatalf("truncated manifest: %v", err)
	}
}

// TestMDSImageLabelChecked: a png image column holding a JPEG file is refused by the reader
// (an index that lies about its encodings); jpeg columns may hold PNG files (mixed shards).
func TestMDSImageLabelChecked(t *testing.T) {
	var jpg, png *Figure
	for _, f := range realFigures(t, 40) {
		switch {
		case isJPEG(f.ImageBytes) && jpg == nil:
			jpg = f
		case isPNG(f.ImageBytes) && png == nil:
			png = f
		}
	}
	if jpg == nil || png == nil {
		t.Fatal("test material lacks a JPEG or a PNG figure")
	}
	for _, c := range []struct {
		name string
		f    *Figure
		enc  string
		ok   bool
	}{
		{"png-in-png", png, "png", true}, {"jpeg-in-png", jpg, "png", false},
		{"png-in-jpeg", png, "jpeg", true}, {"jpeg-in-jpeg", jpg, "jpeg", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := mds.NewConfig(mdsColumns(KindFigure), "", nil, 0)
			if err == nil {
				cfg, err = cfg.WithEncoding("image", c.enc)
			}
			if err != nil {
				t.Fatal(err)
			}
			rec, err := marshalRecord(c.f)
			if err != nil {
				t.Fatal(err)
			}
			sample, err := cfg.EncodeSample([][]byte{[]byte(c.f.Caption), []byte(c.f.ID), c.f.ImageBytes, rec})
			if err != nil {
				t.Fatal(err)
			}
			got, err := fromMDS(KindFigure, cfg, sample)
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				sameRecord(t, c.f, got)
				return
			}
			if err == nil || !strings.Contains(err.Error(), "encoded png but image 0 is a jpg file") {
				t.Fatalf("want a clear refusal, got %v", err)
			}
		})
	}
}
