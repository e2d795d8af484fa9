package shards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// pythonWith returns a python3 that can import the modules (Debian's first: python3-zstd is a
// Debian package), or skips (fails on CI).
func pythonWith(t *testing.T, modules string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import "+modules).Run() == nil {
			return p
		}
	}
	missing(t, "python3 with %s (Debian packages python3-zstd python3-xxhash python3-pil)", modules)
	return ""
}

func runJSON(t *testing.T, out any, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s output: %v\n%s", name, err, b)
	}
}

// TestWebDatasetPythonTarfile reads our shards with Python's tarfile and WebDataset's key rule.
func TestWebDatasetPythonTarfile(t *testing.T) {
	py := pythonWith(t, "tarfile")
	figs := realFigures(t, 10)
	samples := samplesFrom(figs)
	for _, c := range []struct {
		name    string
		gzip    bool
		smp     bool
		uniform bool
	}{{"figures", false, false, false}, {"samples-gz", true, true, false}, {"figures-uniform-jpg", false, false, true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var fs []*Figure
			var ss []*Sample
			if c.smp {
				ss = samples
			} else {
				fs = figs
			}
			opts := WriteOptions{Version: "v1", Gzip: c.gzip, MaxRecords: 4}
			if c.uniform {
				opts.ImageExt = "jpg"
			}
			writeVersion(t, dir, opts, fs, ss)
			var got struct {
				Shards []struct {
					URL     string
					Samples int
				}
				Samples []struct {
					Key    string
					Exts   []string
					JSONID string `json:"json_id"`
					Txt    *string
					Images map[string]string
				}
			}
			runJSON(t, &got, py, "testdata/wds_check.py", filepath.Join(dir, "v1", "wds"))
			if len(got.Shards) != 3 {
				t.Fatalf("python saw %d shards, want 3", len(got.Shards))
			}
			n := len(fs) + len(ss)
			if len(got.Samples) != n {
				t.Fatalf("python grouped %d samples, want %d", len(got.Samples), n)
			}
			for i, g := range got.Samples {
				if c.smp {
					s := ss[i]
					if g.Key != s.ID || g.JSONID != s.ID || len(g.Images) != len(s.Images) {
						t.Fatalf("sample %d: %+v", i, g)
					}
					for j, im := range s.Images {
						ext := imageExt(im.Bytes, im.Format)
						if len(s.Images) > 1 {
							ext = string(rune('0'+j)) + "." + ext
						}
						if g.Images[ext] != sha(im.Bytes) {
							t.Fatalf("sample %s: image %s differs (python saw %v)", s.ID, ext, g.Exts)
						}
					}
					continue
				}
				f := fs[i]
				ext := imageExt(f.ImageBytes, f.Image.Format)
				if c.uniform {
					ext = "jpg"
					if strings.Join(g.Exts, ",") != strings.Join(got.Samples[0].Exts, ",") {
						t.Fatalf("sample %d: key set %v differs from the first sample's %v", i, g.Exts, got.Samples[0].Exts)
					}
				}
				want := []string{"json", ext, "txt"}
				if ext < "json" {
					want = []string{ext, "json", "txt"}
				}
				if g.Key != f.ID || g.JSONID != f.ID || g.Txt == nil || *g.Txt != f.Caption ||
					strings.Join(g.Exts, ",") != strings.Join(want, ",") || g.Images[ext] != sha(f.ImageBytes) {
					t.Fatalf("figure %d: python saw %+v", i, g)
				}
			}
		})
	}
}

// TestMDSPythonZstd decodes our MDS shards with python-zstd + struct following the layout,
// checks the embedded config against Python's json.dumps and the hashes with hashlib/xxhash,
// and opens every image with PIL.
func TestMDSPythonZstd(t *testing.T) {
	py := pythonWith(t, "zstd, xxhash, PIL")
	figs := realFigures(t, 10)
	var pngs []*Figure // rendered crops
	for _, f := range realFigures(t, 40) {
		if isPNG(f.ImageBytes) && len(pngs) < 6 {
			pngs = append(pngs, f)
		}
	}
	if len(pngs) < 2 {
		t.Fatalf("only %d PNG figures in the test material", len(pngs))
	}
	samples := samplesFrom(figs)
	labels := map[string]bool{}
	for _, c := range []struct {
		name string
		figs []*Figure
		smp  bool
		comp string
	}{
		{"figures-zstd", figs, false, ""}, {"figures-png", pngs, false, ""},
		{"samples-zstd7", figs, true, "zstd:7"}, {"samples-raw", figs, true, "none"}, {"samples-png", pngs, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var fs []*Figure
			var ss []*Sample
			if c.smp {
				ss = samples
				if c.figs[0] != figs[0] {
					ss = samplesFrom(c.figs)
				}
			} else {
				fs = c.figs
			}
			m := writeVersion(t, dir, WriteOptions{Version: "v1", Formats: []Format{MDS}, MDSCompression: c.comp, MaxRecords: 4}, fs, ss)
			var got struct {
				Shards []struct {
					Basename  string
					Samples   int
					Encodings map[string]string
				}
				Samples []map[string]json.RawMessage
			}
			runJSON(t, &got, py, "testdata/mds_check.py", filepath.Join(dir, "v1", "mds"))
			if len(got.Shards) != len(m.ShardsOf(MDS)) || len(got.Samples) != len(fs)+len(ss) {
				t.Fatalf("python saw %d shards / %d samples", len(got.Shards), len(got.Samples))
			}
			// Each shard's image column is labelled after the images it holds: png when all
			// are PNG files, jpeg otherwise (the checker refuses a non-PNG in a png column).
			kind, col := KindFigure, "image"
			if c.smp {
				kind, col = KindSample, "images"
			}
			next := 0
			for _, sh := range got.Shards {
				var mask uint8
				for i := next; i < next+sh.Samples; i++ {
					var ims [][]byte
					if c.smp {
						for _, im := range ss[i].Images {
							ims = append(ims, im.Bytes)
						}
					} else {
						ims = [][]byte{fs[i].ImageBytes}
					}
					for _, im := range ims {
						switch {
						case isPNG(im):
							mask |= mdsPNG
						case isJPEG(im):
							mask |= mdsJPEG
						default:
							mask |= mdsOtherImage
						}
					}
				}
				next += sh.Samples
				want := "jpeg"
				if mask == mdsPNG {
					want = "png"
				}
				if c.smp {
					want = "list[" + want + "]"
				}
				if sh.Encodings[col] != want {
					t.Fatalf("shard %s (images %03b): %s encoded %q, want %q", sh.Basename, mask, col, sh.Encodings[col], want)
				}
				labels[string(kind)+" "+want] = true
			}
			// The Go reader agrees.
			d, err := Open(context.Background(), dir, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			i := 0
			for rec, err := range d.RecordsOf(context.Background(), MDS) {
				if err != nil {
					t.Fatal(err)
				}
				if c.smp {
					sameRecord(t, ss[i], rec)
				} else {
					sameRecord(t, fs[i], rec)
				}
				i++
			}
			type img struct {
				SHA256 string
				Size   []int
				Format string
			}
			for i, g := range got.Samples {
				var id string
				json.Unmarshal(g["id"], &id)
				var rec map[string]any
				json.Unmarshal(g["record"], &rec)
				if c.smp {
					s := ss[i]
					var imgs []img
					json.Unmarshal(g["images"], &imgs)
					var answer string
					json.Unmarshal(g["answer"], &answer)
					if id != s.ID || rec["id"] != s.ID || answer != s.Answer || len(imgs) != len(s.Images) {
						t.Fatalf("sample %d: %v", i, g)
					}
					for j := range imgs {
						if imgs[j].SHA256 != sha(s.Images[j].Bytes) || imgs[j].Size[0] == 0 {
							t.Fatalf("sample %s image %d differs", s.ID, j)
						}
					}
					continue
				}
				f := fs[i]
				var im img
				json.Unmarshal(g["image"], &im)
				var caption string
				json.Unmarshal(g["caption"], &caption)
				if id != f.ID || caption != f.Caption || im.SHA256 != sha(f.ImageBytes) || (im.Format == "PNG") != isPNG(f.ImageBytes) {
					t.Fatalf("figure %d: %v", i, g)
				}
				if f.Image.Width > 0 && (im.Size[0] != f.Image.Width || im.Size[1] != f.Image.Height) {
					t.Fatalf("figure %s: PIL size %v, want %dx%d", f.ID, im.Size, f.Image.Width, f.Image.Height)
				}
			}
		})
	}
	for _, l := range []string{"figure png", "figure jpeg", "sample list[png]", "sample list[jpeg]"} {
		if !labels[l] {
			t.Errorf("no shard labelled %s (labels seen: %v)", l, labels)
		}
	}
}

// duckdbNodePath finds the node_modules the deps script installs DuckDB into.
func duckdbNodePath(t *testing.T) string {
	t.Helper()
	needTool(t, "node")
	p, _ := filepath.Abs(filepath.Join("..", "testdata", "cache", "node-shards", "node_modules"))
	if _, err := os.Stat(filepath.Join(p, "@duckdb", "node-api", "package.json")); err != nil {
		missing(t, "@duckdb/node-api in %s (scripts/deps.d/50-shards.sh)", p)
	}
	return p
}

// TestParquetDuckDB reads our Parquet files back with DuckDB: column types, the Hugging Face
// features metadata, image bytes and the trainer columns.
func TestParquetDuckDB(t *testing.T) {
	nodePath := duckdbNodePath(t)
	figs := realFigures(t, 10)
	samples := samplesFrom(figs)
	for _, smp := range []bool{false, true} {
		name := map[bool]string{false: "figures", true: "samples"}[smp]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var fs []*Figure
			var ss []*Sample
			if smp {
				ss = samples
			} else {
				fs = figs
			}
			writeVersion(t, dir, WriteOptions{Version: "v1", Formats: []Format{Parquet}, MaxRecords: 4, DataSource: "eosin/pathology"}, fs, ss)
			cmd := exec.Command("node", "testdata/duckdb_check.cjs", filepath.Join(dir, "v1", "parquet", "*.parquet"))
			cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("duckdb: %v\n%s", err, stderr.String())
			}
			type msg struct{ Role, Content string }
			var got struct {
				Types    map[string]string
				Metadata []struct{ Key, Value string }
				Rows     []struct {
					ID                                                          string
					Images                                                      []struct{ SHA256, Path string }
					Caption, Problem, Answer, Solution, GT, DataSource, Ability string
					DataSourceRaw                                               string `json:"data_source"`
					Messages, Prompt                                            []msg
					Idx                                                         int
				}
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			wantTypes := map[string]string{
				"id":     "VARCHAR",
				"images": "STRUCT(\"bytes\" BLOB, path VARCHAR)[]",
			}
			if smp {
				wantTypes["messages"] = "STRUCT(\"role\" VARCHAR, \"content\" VARCHAR)[]"
				wantTypes["prompt"] = wantTypes["messages"]
				wantTypes["reward_model"] = "STRUCT(\"style\" VARCHAR, ground_truth VARCHAR)"
				wantTypes["problem"], wantTypes["answer"], wantTypes["solution"] = "VARCHAR", "VARCHAR", "VARCHAR"
				wantTypes["data_source"], wantTypes["ability"] = "VARCHAR", "VARCHAR"
			}
			for col, typ := range wantTypes {
				if norm(got.Types[col]) != norm(typ) {
					t.Errorf("column %s: DuckDB type %q, want %q", col, got.Types[col], typ)
				}
			}
			if smp && !strings.HasPrefix(got.Types["extra_info"], "STRUCT(") {
				t.Errorf("extra_info: %s", got.Types["extra_info"])
			}
			hf := ""
			for _, kv := range got.Metadata {
				if kv.Key == "huggingface" {
					hf = kv.Value
				}
			}
			var feats struct {
				Info struct {
					Features map[string]json.RawMessage
				}
			}
			if err := json.Unmarshal([]byte(hf), &feats); err != nil {
				t.Fatalf("huggingface metadata %q: %v", hf, err)
			}
			if string(feats.Info.Features["images"]) != `{"_type":"List","feature":{"_type":"Image"}}` {
				t.Fatalf("images feature: %s", feats.Info.Features["images"])
			}
			if len(got.Rows) != len(fs)+len(ss) {
				t.Fatalf("duckdb read %d rows", len(got.Rows))
			}
			for i, r := range got.Rows {
				if !smp {
					f := fs[i]
					if r.ID != f.ID || r.Caption != f.Caption || len(r.Images) != 1 || r.Images[0].SHA256 != sha(f.ImageBytes) {
						t.Fatalf("row %d: %+v", i, r)
					}
					continue
				}
				s := ss[i]
				if r.ID != s.ID || len(r.Images) != len(s.Images) || r.Answer != s.Answer || r.Solution != s.Answer ||
					r.GT != s.Answer || r.DataSourceRaw != "eosin/pathology" || r.Ability != s.Task || r.Idx != i {
					t.Fatalf("row %d: %+v", i, r)
				}
				for j := range s.Images {
					if r.Images[j].SHA256 != sha(s.Images[j].Bytes) {
						t.Fatalf("row %d image %d differs", i, j)
					}
				}
				// verl and LLaMA-Factory: <image> markers in the user turns = number of images.
				markers := 0
				for _, m := range r.Prompt {
					if m.Role == "assistant" {
						t.Fatalf("row %d: assistant turn in prompt", i)
					}
					markers += strings.Count(m.Content, "<image>")
				}
				if markers != len(s.Images) || strings.Count(r.Problem, "<image>") != len(s.Images) {
					t.Fatalf("row %d: %d markers for %d images", i, markers, len(s.Images))
				}
				if len(r.Messages) != len(s.Messages) || r.Messages[2].Content != s.Messages[2].Content {
					t.Fatalf("row %d messages: %+v", i, r.Messages)
				}
			}
		})
	}
	_ = context.Background
}

func norm(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, `"`, ""), " ", "") }
