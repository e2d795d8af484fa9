package inspect

import (
	"context"
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
