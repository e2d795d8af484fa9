package shards_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/eosinlab/eosin/shards"
)

// A build writes a version, a trainer reads it back.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "dataset")
	defer os.RemoveAll(dir)
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 'J', 'F', 'I', 'F'} // image bytes (truncated here)

	// Write: shards in two formats, rejects and stats, then Commit (manifest.json, LATEST).
	w, err := shards.Create(ctx, dir, shards.WriteOptions{ // or "s3://bucket/prefix"
		Formats: []shards.Format{shards.WebDataset, shards.Parquet},
		Version: "v1",
	})
	if err != nil {
		log.Fatal(err)
	}
	fig := &shards.Figure{ID: "doc1_p3_0", Page: 3, Label: "Figure 2", Caption: "Figure 2. Granuloma (H&E).",
		Image: shards.ImageInfo{Format: "jpeg"}, ImageBytes: jpeg}
	if err := w.WriteFigure(ctx, fig); err != nil {
		log.Fatal(err)
	}
	w.AddReject(shards.Reject{Stage: "extract", Kind: "document", URI: "scan.pdf", Reason: "encrypted"})
	w.SetStat("documents", 2)
	if _, err := w.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	// Read: PREFIX opens the version LATEST names; PREFIX@VERSION a given one.
	ds, err := shards.Open(ctx, dir, shards.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer ds.Close()
	m := ds.Manifest()
	fmt.Println(ds.Version(), m.Kind, m.Totals.Records, "records,", m.Totals.Shards, "shards,", m.Totals.Rejects, "reject")
	for rec, err := range ds.Records(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rec.Figure.ID, rec.Figure.Caption, len(rec.Figure.ImageBytes), "image bytes")
	}
	if _, err := ds.Verify(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// v1 figure 1 records, 2 shards, 1 reject
	// doc1_p3_0 Figure 2. Granuloma (H&E). 8 image bytes
}
