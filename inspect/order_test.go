package inspect

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/shards"
)

func TestLinkKeys(t *testing.T) {
	for _, c := range []struct {
		name string
		ids  []string
		want []string
	}{
		{"unique ids are the keys", []string{"a", "b", "c"}, []string{"a", "b", "c"}},
		{"a repeated id gets a suffix", []string{"a", "a", "b", "a"}, []string{"a", "a~2", "b", "a~3"}},
		{"no id: position", []string{"", "x", ""}, []string{"@0", "x", "@2"}},
		{"a suffix already taken", []string{"a~2", "a", "a"}, []string{"a~2", "a", "a~3"}},
		{"position already an id", []string{"@1", ""}, []string{"@1", "@1~2"}},
		{"none", nil, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := linkKeys(c.ids); !reflect.DeepEqual(got, c.want) {
				t.Errorf("linkKeys(%q) = %q, want %q", c.ids, got, c.want)
			}
		})
	}
}

func TestDocOrderAndID(t *testing.T) {
	docs := []*docStat{
		{SHA: "ffff", URI: "/b/book.pdf"},
		{SHA: "0001"},
		{URI: "/a/z.pdf"},
		{SHA: "aaaa", URI: "/a/book.pdf"},
		{},
		{SHA: "0000"},
		{SHA: "1111", URI: "/a/book.pdf"},
	}
	for _, c := range []struct {
		a, b int
		less bool
	}{
		{3, 0, true},  // by URI
		{0, 3, false}, // by URI
		{6, 3, true},  // same URI: by sha256
		{2, 1, true},  // a URI before none
		{1, 2, false}, // none after a URI
		{5, 1, true},  // no URI: by sha256
		{1, 4, false}, // the unknown document: empty sha256 first among those without URI
		{0, 0, false}, // irreflexive
	} {
		if got := docLess(docs[c.a], docs[c.b]); got != c.less {
			t.Errorf("docLess(%+v, %+v) = %v, want %v", *docs[c.a], *docs[c.b], got, c.less)
		}
	}
	for _, c := range []struct {
		d    docStat
		want string
	}{
		{docStat{SHA: "abc", URI: "/x.pdf"}, "abc"},
		{docStat{URI: "/x.pdf"}, "/x.pdf"},
		{docStat{}, "unknown"},
	} {
		if got := docID(&c.d); got != c.want {
			t.Errorf("docID(%+v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// TestDocIdentity: a document is one entry however the inputs name it, by sha256, by URI,
// or first by URI and later by both.
func TestDocIdentity(t *testing.T) {
	src := &FileSource{path: "in.jsonl"}
	for _, c := range []struct {
		name string
		docs []shards.Doc
		want []string // the keys of the documents, in order of appearance
	}{
		{"same sha256", []shards.Doc{{SHA256: "a", URI: "/x.pdf"}, {SHA256: "a"}}, []string{"a"}},
		{"URI first, sha256 later", []shards.Doc{{URI: "/x.pdf"}, {SHA256: "a", URI: "/x.pdf"}, {URI: "/x.pdf"}}, []string{"a"}},
		{"sha256 only, then with URI", []shards.Doc{{SHA256: "a"}, {SHA256: "a", URI: "/x.pdf"}, {URI: "/x.pdf"}}, []string{"a"}},
		{"a changed file at the same URI", []shards.Doc{{SHA256: "a", URI: "/x.pdf"}, {SHA256: "b", URI: "/x.pdf"}}, []string{"a", "b"}},
		{"two URIs", []shards.Doc{{URI: "/x.pdf"}, {URI: "/y.pdf"}}, []string{"uri:/x.pdf", "uri:/y.pdf"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBuilder(Options{Jobs: 1})
			for _, d := range c.docs {
				b.doc(src, d)
			}
			var got []string
			for _, d := range b.docs {
				got = append(got, d.key)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("documents %q, want %q", got, c.want)
			}
		})
	}
}

// userFixture is an extraction folder shaped like a real one, written out of order: figures
// shuffled across documents and pages, samples whose images are files, a document reject for
// a PDF without figures, and an agreement report naming an article that gave no figure.
type userFixture struct {
	dir     string
	figs    []shards.Figure // in the order the report must show them
	samples []shards.Sample
	rejects int
	docs    []string // document ids the report must list, in order
}

func writeUserFixture(t testing.TB, dir string) userFixture {
	t.Helper()
	figs := writeSynthetic(t, dir, 60, 3, 5, 0)
	// Two figures side by side on one page: left before right.
	figs[1].BBox = shards.Box{300, figs[0].BBox[1], 540, figs[0].BBox[3]}
	figs[0].BBox = shards.Box{72, figs[0].BBox[1], 290, figs[0].BBox[3]}
	shuffled := append([]shards.Figure{}, figs...)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	writeJSONLines(t, filepath.Join(dir, "figures.jsonl"), shuffled)

	f, err := os.OpenFile(filepath.Join(dir, "rejects.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	rj, _ := json.Marshal(shards.Reject{Stage: "extract", Kind: "document", URI: "/corpus/broken.pdf", Reason: "encrypted"})
	if _, err := f.Write(append(rj, '\n')); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var samples []shards.Sample
	for i := 0; i < 12; i++ {
		fg := figs[(i*5)%len(figs)]
		samples = append(samples, shards.Sample{ID: fmt.Sprintf("s%02d", i), FigureID: fg.ID, Task: "mcq",
			Problem: "Which structure is shown in " + fg.Label + "?", Options: []string{"A. Liver", "B. Kidney"}, Answer: "A",
			Images:   []shards.SampleImage{{Path: "images/" + fg.ID + ".png", Format: "png"}},
			Messages: []shards.Message{{Role: "assistant", Content: "<think>It is the liver.</think><answer>A</answer>"}},
			Scores:   map[string]float64{"accuracy": float64(i % 2)}, Verdict: shards.Verdict{Keep: i%2 == 1}})
	}
	writeJSONLines(t, filepath.Join(dir, "samples.jsonl"), samples)

	ag := Agreement{Metric: "token F1 >= 0.8", Total: articles.Score{Articles: 2, XMLFigures: 10, PDFFigures: 9, Matched: 8, Recall: 0.8, Precision: 0.8889},
		Journals: []articles.JournalScore{
			{Journal: "J Hepatol", Score: articles.Score{Articles: 1, XMLFigures: 6, PDFFigures: 6, Matched: 6, Recall: 1, Precision: 1}},
			{Journal: "Kidney Int", Score: articles.Score{Articles: 1, XMLFigures: 4, PDFFigures: 3, Matched: 2, Recall: 0.5, Precision: 0.6667}}},
		Documents: []articles.DocAgreement{
			{URI: "/corpus/book-000.pdf", Journal: "J Hepatol", XMLFigures: 6, PDFFigures: 6, Matched: 6},
			{URI: "/corpus/article-empty", Journal: "Kidney Int", XMLFigures: 4, PDFFigures: 3, Matched: 2}}}
	b, err := json.Marshal(ag)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, articles.AgreementFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// Report order: document URI, page, top to bottom, left to right (figures 0 and 1 are
	// side by side). The synthetic documents are /corpus/book-000..002.pdf.
	figs = reportOrder(figs)
	sha := func(d int) string { return fmt.Sprintf("%064x", d+1) }
	return userFixture{dir: dir, figs: figs, samples: samples, rejects: 60/50 + 1,
		docs: []string{"/corpus/article-empty", sha(0), sha(1), sha(2), "/corpus/broken.pdf"}}
}

// reportOrder returns figures in the order the report shows them, as the documentation states
// it: by document URI, page, then top to bottom and left to right; input order otherwise.
func reportOrder(figs []shards.Figure) []shards.Figure {
	out := append([]shards.Figure{}, figs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.Doc.URI != b.Doc.URI:
			return a.Doc.URI < b.Doc.URI
		case a.Page != b.Page:
			return a.Page < b.Page
		case a.BBox[1] != b.BBox[1]:
			return a.BBox[1] < b.BBox[1]
		}
		return a.BBox[0] < b.BBox[0]
	})
	return out
}

func writeJSONLines[T any](t testing.TB, path string, vs []T) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readChunks decodes data/<kind>-NNNN.js files in order until one is missing.
func readChunks[T any](t testing.TB, dir, kind string) []T {
	t.Helper()
	var out []T
	for n := 0; ; n++ {
		p := filepath.Join(dir, "data", fmt.Sprintf("%s-%04d.js", kind, n))
		if _, err := os.Stat(p); err != nil {
			return out
		}
		var chunk []T
		readScript(t, p, &chunk)
		out = append(out, chunk...)
	}
}

// TestReportOrderAndLinks builds a report over a shuffled extraction and checks what a
// person relies on: figures in document, page and position order whatever order the input
// has; the link key of a figure is its id; every document listed (those without figures
// too) under its stable id; samples, flags and rejects pointing at the right figures and
// documents; the agreement report carried into the index.
func TestReportOrderAndLinks(t *testing.T) {
	fx := writeUserFixture(t, t.TempDir())
	src, err := OpenDir(fx.dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r")
	sum, err := Build(context.Background(), Options{Dir: out, ChunkSize: 7, Jobs: 2}, src)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Figures != len(fx.figs) || sum.Rejects != fx.rejects || sum.Documents != len(fx.docs) || sum.Samples != len(fx.samples) {
		t.Fatalf("summary %+v; want %d figures, %d rejects, %d documents", sum, len(fx.figs), fx.rejects, len(fx.docs))
	}
	figs := readChunks[figJSON](t, out, "figures")
	var keys []string
	readScript(t, filepath.Join(out, "data", "ids-0000.js"), &keys)
	var idx indexJSON
	readScript(t, filepath.Join(out, "data", "index.js"), &idx)
	if len(figs) != len(fx.figs) || len(keys) != len(fx.figs) {
		t.Fatalf("%d figures, %d keys; want %d", len(figs), len(keys), len(fx.figs))
	}
	var docIDs []string
	for _, d := range idx.Docs {
		docIDs = append(docIDs, d.ID)
	}
	if !reflect.DeepEqual(docIDs, fx.docs) {
		t.Errorf("documents %q, want %q", docIDs, fx.docs)
	}
	pos := map[string]int{}
	for i, f := range figs {
		want := fx.figs[i]
		if f.ID != want.ID || f.I != i || keys[i] != want.ID || f.Key != "" {
			t.Fatalf("figure %d is %s (#%d, key %q/%q), want %s", i, f.ID, f.I, keys[i], f.Key, want.ID)
		}
		if d := idx.Docs[f.Doc]; d.SHA != want.Doc.SHA256 || idx.FDoc[i] != f.Doc {
			t.Errorf("figure %s: document %s (fdoc %d), want %s", f.ID, d.SHA, idx.FDoc[i], want.Doc.SHA256)
		}
		if !strings.HasPrefix(f.PK, want.Doc.SHA256[:16]) || !strings.HasSuffix(f.PK, pageSuffix(want.Page)) {
			t.Errorf("figure %s: page key %s", f.ID, f.PK)
		}
		pos[f.ID] = i
	}
	for _, fl := range idx.Flags {
		for k, i := range fl.Members {
			if !contains(fx.figs[i].Quality.Flags, fl.Name) || (k > 0 && fl.Members[k-1] >= i) {
				t.Errorf("flag %s: member %d (%s) is not flagged so, or out of order", fl.Name, i, fx.figs[i].ID)
			}
		}
	}
	for _, sm := range readChunks[sampleJSON](t, out, "samples") {
		if sm.Fig < 0 || figs[sm.Fig].ID != sm.FigID {
			t.Errorf("sample %s points at figure %d, want %s (#%d)", sm.ID, sm.Fig, sm.FigID, pos[sm.FigID])
		}
	}
	rejects := readChunks[rejectJSON](t, out, "rejects")
	last := -1
	for _, r := range rejects {
		if r.Doc < 0 {
			t.Errorf("reject %+v names no document", r)
			continue
		}
		if r.Doc < last {
			t.Errorf("rejects out of document order: %d after %d", r.Doc, last)
		}
		last = r.Doc
		if d := idx.Docs[r.Doc]; r.URI != "" && d.URI != r.URI {
			t.Errorf("reject of %s filed under %s", r.URI, d.URI)
		}
	}
	if len(rejects) != fx.rejects {
		t.Errorf("%d rejects written, want %d", len(rejects), fx.rejects)
	}
	for _, d := range idx.Docs {
		if (d.ID == "/corpus/article-empty" || d.ID == "/corpus/broken.pdf") && d.Figures != 0 {
			t.Errorf("document %s: %d figures, want 0", d.ID, d.Figures)
		}
		if d.ID == "/corpus/article-empty" && d.Journal != "Kidney Int" {
			t.Errorf("document %s: journal %q", d.ID, d.Journal)
		}
	}
	if len(idx.Agreements) != 1 || len(idx.Agreements[0].Journals) != 2 || idx.Agreements[0].Total.Matched != 8 || idx.Agreements[0].Source != fx.dir {
		t.Errorf("agreements in the index: %+v", idx.Agreements)
	}
	if entries, _ := filepath.Glob(filepath.Join(out, ".spill-*")); len(entries) > 0 {
		t.Errorf("spill files left behind: %v", entries)
	}

	// The same inputs in another order give the same report data: links stay valid.
	again := filepath.Join(t.TempDir(), "r")
	lines, err := os.ReadFile(filepath.Join(fx.dir, "figures.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ls := strings.Split(strings.TrimSuffix(string(lines), "\n"), "\n")
	for i, j := 0, len(ls)-1; i < j; i, j = i+1, j-1 {
		ls[i], ls[j] = ls[j], ls[i]
	}
	if err := os.WriteFile(filepath.Join(fx.dir, "figures.jsonl"), []byte(strings.Join(ls, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), Options{Dir: again, ChunkSize: 7, Jobs: 2}, src); err != nil {
		t.Fatal(err)
	}
	var keys2 []string
	readScript(t, filepath.Join(again, "data", "ids-0000.js"), &keys2)
	if !reflect.DeepEqual(keys, keys2) {
		t.Errorf("figure order depends on the input order:\n%q\n%q", keys, keys2)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// commitFixtureDataset commits the fixture's figures as dataset version v1 and rewrites its
// manifest the way the corpus build writes one: rejects in a reject file the manifest
// references (none listed in the manifest itself), counts in reject_counts, and documents
// that gave no record listed by sha256 only.
func commitFixtureDataset(t testing.TB, fx userFixture, prefix string, extraDocs []string) {
	t.Helper()
	ctx := context.Background()
	w, err := shards.Create(ctx, prefix, shards.WriteOptions{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fx.figs {
		f.ImageBytes, err = os.ReadFile(filepath.Join(fx.dir, "images", f.ID+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFigure(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	w.SetStat("figures", len(fx.figs))
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(prefix, "v1", shards.ManifestName)
	b, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	var m shards.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var rej []byte
	m.RejectCounts = map[string]int{}
	if err := ReadJSONL(ctx, filepath.Join(fx.dir, "rejects.jsonl"), func(r shards.Reject) error {
		line, _ := json.Marshal(r)
		rej = append(append(rej, line...), '\n')
		m.RejectCounts[r.Stage+"/"+r.Reason]++
		m.Totals.Rejects++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	name := "rejects/part-v1-000000.jsonl"
	if err := os.MkdirAll(filepath.Join(prefix, "v1", "rejects"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prefix, "v1", filepath.FromSlash(name)), rej, 0o644); err != nil {
		t.Fatal(err)
	}
	m.Files = append(m.Files, shards.FileInfo{Format: shards.JSONL, Path: name, Bytes: int64(len(rej))})
	m.Rejects = []shards.Reject{}
	m.Documents = append(m.Documents, extraDocs...)
	b, err = json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mp, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDatasetRejectsAndDocuments: a dataset version whose rejects live in reject files shows
// them all (not the empty list of its manifest), and every document of its manifest is
// listed, with 0 figures where so.
func TestDatasetRejectsAndDocuments(t *testing.T) {
	fx := writeUserFixture(t, t.TempDir())
	prefix := filepath.Join(t.TempDir(), "figures")
	empty := strings.Repeat("e", 64)
	commitFixtureDataset(t, fx, prefix, []string{empty})
	src, err := OpenDataset(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "r")
	sum, err := Build(context.Background(), Options{Dir: out, Jobs: 2}, src)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejects != fx.rejects {
		t.Errorf("report shows %d rejects, the reject file holds %d", sum.Rejects, fx.rejects)
	}
	var idx indexJSON
	readScript(t, filepath.Join(out, "data", "index.js"), &idx)
	if got := idx.Manifests[0].Counts["rejects"]; got != int64(fx.rejects) {
		t.Errorf("manifest counts %d rejects, want %d", got, fx.rejects)
	}
	byID := map[string]*docStat{}
	for _, d := range idx.Docs {
		byID[d.ID] = d
	}
	for _, c := range []struct {
		id      string
		figures int
	}{
		{fmt.Sprintf("%064x", 1), 20},
		{fmt.Sprintf("%064x", 3), 20},
		{empty, 0},
		{"/corpus/broken.pdf", 0},
	} {
		d := byID[c.id]
		if d == nil {
			t.Errorf("document %s not listed (listed: %d)", c.id, len(idx.Docs))
			continue
		}
		if d.Figures != c.figures {
			t.Errorf("document %s: %d figures, want %d", c.id, d.Figures, c.figures)
		}
	}
	if n := len(idx.Docs); n != 5 {
		t.Errorf("%d documents listed, want 5 (three with figures, one from the manifest only, one rejected)", n)
	}
	// Shards are in hash order; the gallery is not.
	figs := readChunks[figJSON](t, out, "figures")
	for i, f := range figs {
		if f.ID != fx.figs[i].ID {
			t.Fatalf("figure %d is %s, want %s", i, f.ID, fx.figs[i].ID)
		}
	}
}
