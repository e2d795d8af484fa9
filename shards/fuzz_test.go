package shards

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/eosinlab/eosin/shards/mds"
)

func FuzzParseManifest(f *testing.F) {
	m := Manifest{ManifestVersion: 1, Version: "v1", Kind: KindFigure, Formats: []Format{WebDataset},
		Totals: Totals{Records: 2, Shards: 1}, Shards: []ShardInfo{{Format: WebDataset, Path: "wds/shard-000000.tar", Records: 2}}}
	b, _ := json.Marshal(m)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		for _, s := range m.Shards {
			if bytes.Contains([]byte(s.Path), []byte("..")) && bytes.Contains([]byte("/"+s.Path+"/"), []byte("/../")) {
				t.Fatalf("escaping path accepted: %q", s.Path)
			}
		}
	})
}

// FuzzDecodeMDSRecord feeds arbitrary sample bytes to the record decoder of MDS shards.
func FuzzDecodeMDSRecord(f *testing.F) {
	cfg, _ := mds.NewConfig(mdsColumns(KindSample), "", nil, 0)
	s, _ := cfg.EncodeSample([][]byte{[]byte("A"), []byte("s1"), mds.EncodeList([][]byte{{0xff, 0xd8, 0xff}}), []byte("[]"), []byte("q"),
		[]byte(`{"id":"s1","images":[{"format":"jpeg"}]}`)})
	f.Add(s)
	f.Fuzz(func(t *testing.T, data []byte) {
		fromMDS(KindSample, cfg, data)
	})
}

// FuzzDecodeShard feeds arbitrary bytes to every format's shard decoder.
func FuzzDecodeShard(f *testing.F) {
	f.Add([]byte("{\"id\":\"a\"}\n"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		formats := []ShardInfo{
			{Format: WebDataset, Path: "wds/shard-000000.tar"},
			{Format: WebDataset, Path: "wds/shard-000000.tar.gz"},
			{Format: Parquet, Path: "parquet/part-000000.parquet"},
			{Format: JSONL, Path: "jsonl/part-000000.jsonl"},
			{Format: JSONL, Path: "jsonl/part-000000.jsonl.zst"},
		}
		sh := formats[int(which)%len(formats)]
		decodeShard(context.Background(), KindFigure, sh, bytes.NewReader(data), int64(len(data)), nil, 1<<20,
			func(*Record) bool { return true })
	})
}
