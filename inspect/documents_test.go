package inspect

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// TestDirSourceDocuments: an extraction lists every input document in documents.jsonl (a PDF
// that gave neither a figure nor a reject included); without that file, the articles of
// agreement.json are all it can list.
func TestDirSourceDocuments(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"figures.jsonl", "rejects.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lines := `{"sha256":"aa","uri":"/in/empty.pdf","pages":3,"figures":0,"rejects":0,"status":"ok"}
{"sha256":"bb","uri":"/in/PMC1","title":"T","license":"CC BY 4.0","package":true,"pages":9,"figures":4,"rejects":0,"status":"ok"}
`
	if err := os.WriteFile(filepath.Join(dir, "documents.jsonl"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []shards.Doc
	if err := src.Documents(context.Background(), func(d shards.Doc) error { got = append(got, d); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []shards.Doc{{SHA256: "aa", URI: "/in/empty.pdf"}, {SHA256: "bb", URI: "/in/PMC1", Title: "T", License: "CC BY 4.0"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("documents %+v, want %+v", got, want)
	}
}

// TestDatasetAgreement: a dataset version built from article packages carries the agreement
// report of its build in the manifest (stats.build.agreement); the report shows it.
func TestDatasetAgreement(t *testing.T) {
	fx := writeUserFixture(t, t.TempDir())
	prefix := filepath.Join(t.TempDir(), "figures")
	commitFixtureDataset(t, fx, prefix, nil)
	mp := filepath.Join(prefix, "v1", shards.ManifestName)
	b, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	var m shards.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	src, err := OpenDataset(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := src.Agreement(); err != nil || a != nil {
		t.Errorf("no packages: agreement %+v, %v", a, err)
	}
	src.Close()
	if m.Stats == nil {
		m.Stats = map[string]any{}
	}
	m.Stats["build"] = map[string]any{"documents_found": 2, "agreement": map[string]any{
		"metric": "token F1 >= 0.8", "total": map[string]any{"articles": 2, "xml_figures": 5, "pdf_figures": 4, "matched": 4, "recall": 0.8, "precision": 1},
		"journals": []any{map[string]any{"journal": "Trials", "articles": 2, "xml_figures": 5, "pdf_figures": 4, "matched": 4, "recall": 0.8, "precision": 1}}}}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err = OpenDataset(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a, err := src.Agreement()
	if err != nil || a == nil {
		t.Fatalf("agreement %+v, %v", a, err)
	}
	if a.Total.Articles != 2 || a.Total.Recall != 0.8 || len(a.Journals) != 1 || a.Journals[0].Journal != "Trials" {
		t.Errorf("agreement %+v", a)
	}
}
