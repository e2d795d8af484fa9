package inspect

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// readScript decodes the value a data/*.js file hands to EOSIN.put.
func readScript(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "EOSIN.put(") || !strings.HasSuffix(s, ");\n") {
		t.Fatalf("%s: not a data script: %.60q", path, s)
	}
	s = s[strings.Index(s, ",")+1 : len(s)-3]
	s = s[strings.Index(s, ",")+1:]
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestBuildChunks checks the data files: figures from two inputs land in chunks in report
// order (document URI, page, top to bottom; none overwritten), search text follows the same
// order, counts add up.
func TestBuildChunks(t *testing.T) {
	ctx := context.Background()
	a, b := t.TempDir(), t.TempDir()
	figsA := writeSynthetic(t, a, 700, 3, 5, 10)
	figsB := writeSynthetic(t, b, 650, 2, 5, 0)
	srcA, err := OpenDir(a)
	if err != nil {
		t.Fatal(err)
	}
	srcB, err := OpenDir(b)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r")
	sum, err := Build(ctx, Options{Dir: out, ChunkSize: 500, Jobs: 2}, srcA, srcB)
	if err != nil {
		t.Fatal(err)
	}
	all := reportOrder(append(append([]shards.Figure{}, figsA...), figsB...))
	if sum.Figures != len(all) || sum.Samples != 10 || sum.Rejects != 700/50+650/50 || sum.MissingImages != 0 {
		t.Fatalf("summary %+v", sum)
	}
	var got []figJSON
	for n := 0; n < 3; n++ {
		var chunk []figJSON
		readScript(t, filepath.Join(out, "data", "figures-000"+string(rune('0'+n))+".js"), &chunk)
		if want := min(500, len(all)-500*n); len(chunk) != want {
			t.Fatalf("chunk %d holds %d figures, want %d", n, len(chunk), want)
		}
		got = append(got, chunk...)
	}
	var joined string
	readScript(t, filepath.Join(out, "data", "text-0000.js"), &joined)
	text := strings.Split(joined, "\n")
	if len(text) != len(all) {
		t.Fatalf("search text for %d figures, want %d", len(text), len(all))
	}
	for i, f := range all {
		if got[i].I != i || got[i].ID != f.ID || got[i].Caption != f.Caption {
			t.Fatalf("figure %d is %s (#%d), want %s", i, got[i].ID, got[i].I, f.ID)
		}
		if text[i] != SearchText(f) {
			t.Fatalf("search text %d = %q, want %q", i, text[i], SearchText(f))
		}
		if _, err := os.Stat(filepath.Join(out, got[i].Img)); err != nil {
			t.Fatalf("figure %d: %v", i, err)
		}
	}
	var idx indexJSON
	readScript(t, filepath.Join(out, "data", "index.js"), &idx)
	if len(idx.FDoc) != len(all) || len(idx.Docs) != 3 || idx.Chunk != 500 || idx.TextChunk != 5000 {
		t.Fatalf("index: %d fdoc, %d docs, chunk %d/%d", len(idx.FDoc), len(idx.Docs), idx.Chunk, idx.TextChunk)
	}
	nfig := 0
	for _, d := range idx.Docs {
		nfig += d.Figures
		if d.Note == "" {
			t.Errorf("document %s: no note although its source does not exist", d.URI)
		}
	}
	if nfig != len(all) {
		t.Errorf("per-document figures add up to %d, want %d", nfig, len(all))
	}
	flagged := 0
	for _, f := range all {
		if len(f.Quality.Flags) > 0 {
			flagged++
		}
	}
	members := 0
	for _, f := range idx.Flags {
		members += len(f.Members)
	}
	if members != flagged || idx.Totals["flagged"].(float64) != float64(flagged) {
		t.Errorf("flag members %d, flagged %v, want %d", members, idx.Totals["flagged"], flagged)
	}
	for _, name := range []string{"index.html", "assets/app.js", "assets/style.css", "data/pages.js", "data/samples-0000.js", "data/rejects-0000.js"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestSplitReasoning(t *testing.T) {
	for _, c := range []struct{ in, think, answer string }{
		{"<think>a b</think><answer>C</answer>", "a b", "C"},
		{"<think>\nstep 1\n</think>\n<answer> B. Portal tract </answer>", "step 1", "B. Portal tract"},
		{"plain answer", "", "plain answer"},
		{"<think>unfinished", "unfinished", ""},
		{"<answer>only</answer>", "", "only"},
		{"<think>x</think>tail without tags", "x", "tail without tags"},
		{"", "", ""},
	} {
		th, an := SplitReasoning(c.in)
		if th != c.think || an != c.answer {
			t.Errorf("SplitReasoning(%q) = %q, %q; want %q, %q", c.in, th, an, c.think, c.answer)
		}
	}
}

func TestSearchText(t *testing.T) {
	f := shards.Figure{ID: "abc_1", Label: "Figure 2.1", Caption: "  Liver  biopsy,\nH&E ",
		SubFigures: []shards.SubFigure{{Label: "(A)", Caption: "Portal TRACT"}}}
	if got, want := SearchText(f), "abc_1 figure 2.1 liver biopsy, h&e (a) portal tract"; got != want {
		t.Errorf("SearchText = %q, want %q", got, want)
	}
}

func TestImageName(t *testing.T) {
	for _, c := range []struct{ id, format, path, want string }{
		{"a1b2", "png", "/x/images/a1b2.png", "a1b2.png"},
		{"a1b2", "jpeg", "", "a1b2.jpeg"},
		{"a1b2", "jp2", "", ""}, // browsers do not show JPEG 2000
		{"a1b2", "", "", "a1b2.png"},
		{"../etc/passwd", "png", "", "f7-"},
		{"doc.1", "png", "", "f7-"},
	} {
		got := imageName(c.id, 7, c.format, c.path)
		if strings.HasSuffix(c.want, "-") {
			if !strings.HasPrefix(got, c.want) || strings.ContainsAny(got, "/\\") || strings.Count(got, ".") != 1 {
				t.Errorf("imageName(%q) = %q, want a safe hashed name", c.id, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("imageName(%q, %q, %q) = %q, want %q", c.id, c.format, c.path, got, c.want)
		}
	}
}

func TestHistogram(t *testing.T) {
	h := histogram("r", []float64{0, 0.05, 0.5, 0.99, 1})
	if len(h.Bins) != 10 || h.Bins[0] != 2 || h.Bins[5] != 1 || h.Bins[9] != 2 || h.Edges[0] != 0 || h.Edges[10] != 1 {
		t.Errorf("histogram %+v", h)
	}
	h = histogram("len", []float64{-3, 7})
	if h.Min != -3 || h.Max != 7 || h.Bins[0] != 1 || h.Bins[9] != 1 || h.Mean != 2 {
		t.Errorf("histogram %+v", h)
	}
	h = histogram("const", []float64{2, 2})
	if len(h.Bins) != 1 || h.Bins[0] != 2 {
		t.Errorf("histogram %+v", h)
	}
}

func TestResolveDocument(t *testing.T) {
	dir := t.TempDir()
	pdf := filepath.Join(dir, "a.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4 test"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _ := fileSHA256(pdf)
	for _, c := range []struct {
		name   string
		d      docStat
		roots  []string
		want   string
		noteHa string
	}{
		{"absolute", docStat{URI: pdf, SHA: sum}, nil, pdf, ""},
		{"file url", docStat{URI: "file://" + pdf, SHA: sum}, nil, pdf, ""},
		{"relative to input", docStat{URI: "a.pdf", SHA: sum, baseDir: dir}, nil, filepath.Join(dir, "a.pdf"), ""},
		{"moved, found in root", docStat{URI: "/gone/a.pdf", SHA: sum}, []string{dir}, filepath.Join(dir, "a.pdf"), ""},
		{"changed", docStat{URI: pdf, SHA: strings.Repeat("0", 64)}, nil, "", "changed"},
		{"missing", docStat{URI: "/gone/b.pdf"}, nil, "", "not found"},
		{"remote", docStat{URI: "s3://bucket/a.pdf"}, nil, "", "not a local file"},
		{"no uri", docStat{}, nil, "", "no source"},
	} {
		got, note := resolveDocument(&c.d, c.roots)
		if got != c.want || !strings.Contains(note, c.noteHa) || (c.want == "") == (note == "") {
			t.Errorf("%s: resolveDocument = %q, %q; want %q, note with %q", c.name, got, note, c.want, c.noteHa)
		}
	}
}

func TestDecodeJSONLErrors(t *testing.T) {
	ctx := context.Background()
	n := 0
	err := DecodeJSONL(ctx, strings.NewReader("{\"id\":\"a\"}\n\n{\"id\":\"b\"}\n{broken\n"), func(f shards.Figure) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "line 4") || n != 2 {
		t.Errorf("got %v after %d records, want an error naming line 4 after 2", err, n)
	}
	dir := t.TempDir()
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "figures.jsonl") {
		t.Errorf("OpenDir of an empty directory: %v", err)
	}
	if _, err := OpenSource(ctx, filepath.Join(dir, "nothing-here")); err == nil {
		t.Error("OpenSource of a missing path succeeded")
	}
}

// FuzzDecodeJSONL feeds arbitrary bytes to the JSONL reader: errors, never panics.
func FuzzDecodeJSONL(f *testing.F) {
	f.Add([]byte("{\"id\":\"a\",\"bbox\":[1,2,3,4]}\n"))
	f.Add([]byte("{\"problem\":\"q\",\"messages\":[{\"role\":\"assistant\",\"content\":\"<think>x</think><answer>y</answer>\"}]}\n"))
	f.Add([]byte("\n\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = DecodeJSONL(context.Background(), strings.NewReader(string(data)), func(s shards.Sample) error {
			SplitReasoning(s.Problem)
			for _, m := range s.Messages {
				SplitReasoning(m.Content)
			}
			return nil
		})
	})
}
