package pipelines

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// needOutside skips (fails on CI) unless the command runs: the
// outside readers are installed by make deps.
func needOutside(t *testing.T, what string, name string, args ...string) {
	t.Helper()
	if err := exec.Command(name, args...).Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing on CI (run make deps): %v", what, err)
		}
		t.Skipf("%s missing (run make deps): %v", what, err)
	}
}

// outputOf runs a command and returns its stdout, failing with its stderr.
func outputOf(t *testing.T, cmd *exec.Cmd) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	return out
}

// wdsKeysPy lists, for every tar of a folder, each sample key (the name up to the first dot
// of the file name, WebDataset's rule) with its member extensions, using Python's tarfile.
const wdsKeysPy = `
import glob, json, sys, tarfile, os
keys = {}
for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.tar"))):
    with tarfile.open(p) as tf:
        for m in tf.getmembers():
            base = os.path.basename(m.name)
            k, _, ext = base.partition(".")
            keys.setdefault(k, []).append(ext)
            tf.extractfile(m).read()
print(json.dumps(keys))
`

// mdsPy reads an MDS folder as MosaicML Streaming lays it out: index.json, each shard's
// zstd file decompressed and checked against its raw size, the sample count of its header,
// and each sample's id column.
const mdsPy = `
import json, os, struct, sys, zstd
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
ids = []
for s in idx["shards"]:
    raw = zstd.decompress(open(os.path.join(d, s["zip_data"]["basename"]), "rb").read())
    assert len(raw) == s["raw_data"]["bytes"], "raw size"
    n = struct.unpack("<I", raw[:4])[0]
    assert n == s["samples"], "sample count"
    offs = struct.unpack("<%dI" % (n + 1), raw[4:4 + 4 * (n + 1)])
    names, encs, sizes = s["column_names"], s["column_encodings"], s["column_sizes"]
    for i in range(n):
        b = raw[offs[i]:offs[i + 1]]
        var = [j for j, z in enumerate(sizes) if z is None]
        lens = struct.unpack("<%dI" % len(var), b[:4 * len(var)])
        pos, cols = 4 * len(var), {}
        for j, name in enumerate(names):
            size = sizes[j] if sizes[j] is not None else lens[var.index(j)]
            cols[name] = b[pos:pos + size]
            pos += size
        ids.append(cols["id"].decode())
        json.loads(cols["record"])
print(json.dumps(ids))
`

// TestBuildFormatsOutsideReaders builds the figure dataset in every format and reads it with
// the tools its users have: Python's tarfile (WebDataset), DuckDB (Parquet, with the Hugging
// Face features metadata), the MDS layout as MosaicML Streaming reads it, and the JSON lines;
// each holds exactly the figures the manifest lists.
func TestBuildFormatsOutsideReaders(t *testing.T) {
	py := "/usr/bin/python3"
	needOutside(t, "python3 with zstd", py, "-c", "import tarfile, zstd")
	needOutside(t, "node", "node", "--version")
	nodePath, _ := filepath.Abs(filepath.Join("..", "testdata", "cache", "node-shards", "node_modules"))
	if _, err := os.Stat(filepath.Join(nodePath, "@duckdb", "node-api", "package.json")); err != nil {
		needOutside(t, "@duckdb/node-api", "false")
	}
	root := t.TempDir()
	in, out := filepath.Join(root, "in"), filepath.Join(root, "out")
	copyDocs(t, in, docOutliers, docPartitioning)
	cfg := testConfig(in, out)
	cfg.Formats = []string{"webdataset", "parquet", "mds", "jsonl"}
	sum, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, figs := readDataset(t, out, shards.ReadOptions{})
	want := make([]string, 0, len(figs))
	for id := range figs {
		want = append(want, id)
	}
	slices.Sort(want)
	if len(want) < 3 {
		t.Fatalf("only %d figures", len(want))
	}
	vdir := filepath.Join(out, sum.Version)
	sameIDs := func(reader string, got []string) {
		t.Helper()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s reads %d ids %v, the manifest lists %d", reader, len(got), got, len(want))
		}
	}

	t.Run("webdataset/tarfile", func(t *testing.T) {
		var keys map[string][]string
		if err := json.Unmarshal(outputOf(t, exec.Command(py, "-c", wdsKeysPy, filepath.Join(vdir, "wds"))), &keys); err != nil {
			t.Fatal(err)
		}
		var got []string
		for k, exts := range keys {
			got = append(got, k)
			if !slices.Contains(exts, "json") || !slices.Contains(exts, "txt") || !(slices.Contains(exts, "png") || slices.Contains(exts, "jpg")) {
				t.Errorf("sample %s: members %v", k, exts)
			}
		}
		sameIDs("tarfile", got)
	})

	t.Run("parquet/duckdb", func(t *testing.T) {
		cmd := exec.Command("node", filepath.Join("..", "shards", "testdata", "duckdb_check.cjs"), filepath.Join(vdir, "parquet", "*.parquet"))
		cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
		var got struct {
			Metadata []struct{ Key, Value string }
			Rows     []struct {
				ID     string
				Images []struct{ SHA256 string }
			}
		}
		if err := json.Unmarshal(outputOf(t, cmd), &got); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got.Rows {
			ids = append(ids, r.ID)
			if len(r.Images) != 1 || r.Images[0].SHA256 == "" {
				t.Errorf("row %s: images %+v", r.ID, r.Images)
			}
		}
		sameIDs("DuckDB", ids)
		hf := false
		for _, kv := range got.Metadata {
			hf = hf || (kv.Key == "huggingface" && strings.Contains(kv.Value, `"Image"`))
		}
		if !hf {
			t.Errorf("no Hugging Face features metadata with an Image feature: %+v", got.Metadata)
		}
	})

	t.Run("mds/streaming-layout", func(t *testing.T) {
		var ids []string
		if err := json.Unmarshal(outputOf(t, exec.Command(py, "-c", mdsPy, filepath.Join(vdir, "mds"))), &ids); err != nil {
			t.Fatal(err)
		}
		sameIDs("MDS", ids)
	})

	t.Run("jsonl", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(vdir, "jsonl", "*.jsonl"))
		var ids []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
				var rec struct{ ID string }
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				ids = append(ids, rec.ID)
			}
		}
		sameIDs("JSON lines", ids)
	})
}
