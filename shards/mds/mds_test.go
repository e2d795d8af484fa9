package mds

import (
	"bytes"
	"testing"
)

func TestConfigJSONMatchesPython(t *testing.T) {
	// The example of the MDS format reference, as Python's json.dumps(sort_keys=True) writes it.
	want := `{"column_encodings": ["str", "list[jpeg]", "json", "int32"], "column_names": ["id", "images", "messages", "n_images"], "column_sizes": [null, null, null, 4], "compression": "zstd:3", "format": "mds", "hashes": ["sha1", "xxh3_64"], "size_limit": 67108864, "version": 2}`
	cfg, err := NewConfig([]Column{
		{"n_images", "int32"}, {"messages", "json"}, {"id", "str"}, {"images", "list[jpeg]"},
	}, "zstd:3", []string{"xxh3_64", "sha1", "sha1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(cfg.JSON()); got != want || len(got) != 268 {
		t.Fatalf("config JSON (%d bytes):\n%s\nwant\n%s", len(got), got, want)
	}
}

func TestPyJSONStrings(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{"µm β → 😀", `"\u00b5m \u03b2 \u2192 \ud83d\ude00"`},
		{"q\"\\\n\t\x01<>&/", `"q\"\\\n\t\u0001<>&/"`},
	} {
		b, err := pyJSON(c.in)
		if err != nil || string(b) != c.want {
			t.Errorf("pyJSON(%q) = %s, want %s", c.in, b, c.want)
		}
	}
}

func TestShardRoundTripAndRollOver(t *testing.T) {
	cfg, err := NewConfig([]Column{{"id", "str"}, {"n", "int32"}, {"images", "list[png]"}}, "zstd", []string{"sha1"}, 400)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(cfg)
	var added [][][]byte
	for i := 0; ; i++ {
		vals := [][]byte{[]byte("k" + string(rune('a'+i))), EncodeList([][]byte{[]byte("img"), {}}), {byte(i), 0, 0, 0}}
		s, err := cfg.EncodeSample(vals)
		if err != nil {
			t.Fatal(err)
		}
		if !b.Fits(len(s)) {
			break
		}
		if err := b.Add(s); err != nil {
			t.Fatal(err)
		}
		added = append(added, vals)
	}
	raw := b.Bytes()
	if int64(len(raw)) > cfg.SizeLimit || len(added) == 0 {
		t.Fatalf("shard of %d bytes with %d samples for a %d limit", len(raw), len(added), cfg.SizeLimit)
	}
	z, err := Compress(raw, cfg.Compression)
	if err != nil {
		t.Fatal(err)
	}
	// The frame header must carry the content size (python-zstd's one-shot decompress).
	if z[4]&0xc0 == 0 && z[4]&0x20 == 0 {
		t.Fatalf("zstd frame without content size: descriptor %08b", z[4])
	}
	back, err := Decompress(z, cfg.Compression, 1<<20)
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("decompress: %v", err)
	}
	sh, err := ParseShard(raw)
	if err != nil || sh.Len() != len(added) || !bytes.Equal(sh.ConfigJSON(), cfg.JSON()) {
		t.Fatalf("parse: %v", err)
	}
	for i := range added {
		vals, err := cfg.DecodeSample(sh.Sample(i))
		if err != nil {
			t.Fatal(err)
		}
		for j := range vals {
			if !bytes.Equal(vals[j], added[i][j]) {
				t.Fatalf("sample %d column %d differs", i, j)
			}
		}
		items, err := DecodeList(vals[1])
		if err != nil || len(items) != 2 || string(items[0]) != "img" {
			t.Fatalf("list: %q %v", items, err)
		}
	}
	for cut := 0; cut < len(raw); cut += 7 {
		if _, err := ParseShard(raw[:cut]); err == nil {
			t.Fatalf("truncated shard (%d of %d bytes) accepted", cut, len(raw))
		}
	}
}

func TestMerge(t *testing.T) {
	cfg, _ := NewConfig([]Column{{"id", "str"}}, "zstd", nil, 0)
	e := Entry{Config: cfg, Samples: 1, RawData: FileInfo{Basename: "shard.00000.mds"}, ZipData: &FileInfo{Basename: "shard.00000.mds.zstd"}}
	merged := Merge([]Part{{Dir: "part-00001", Entries: []Entry{e}}, {Dir: "part-00000", Entries: []Entry{e}}})
	if merged[0].ZipData.Basename != "part-00000/shard.00000.mds.zstd" || merged[1].RawData.Basename != "part-00001/shard.00000.mds" || e.ZipData.Basename != "shard.00000.mds.zstd" {
		t.Fatalf("merge: %+v %+v", merged[0].ZipData, merged[1].RawData)
	}
	back, err := ParseIndex(IndexJSON(merged))
	if err != nil || len(back) != 2 || back[1].Basename() != "part-00001/shard.00000.mds.zstd" {
		t.Fatalf("index round trip: %v", err)
	}
	bad := bytes.Replace(IndexJSON(merged), []byte("part-00000/"), []byte("../../"), 1)
	if _, err := ParseIndex(bad); err == nil {
		t.Fatal("index with ../ basename accepted")
	}
}

func FuzzParseShard(f *testing.F) {
	cfg, _ := NewConfig([]Column{{"id", "str"}, {"images", "list[jpeg]"}, {"n", "int64"}}, "", nil, 0)
	b := NewBuilder(cfg)
	s, _ := cfg.EncodeSample([][]byte{[]byte("id"), EncodeList([][]byte{[]byte("x")}), make([]byte, 8)})
	b.Add(s)
	f.Add(b.Bytes())
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		sh, err := ParseShard(data)
		if err != nil {
			return
		}
		for i := range sh.Len() {
			vals, err := cfg.DecodeSample(sh.Sample(i))
			if err == nil {
				DecodeList(vals[1])
			}
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	cfg, _ := NewConfig([]Column{{"id", "str"}}, "zstd", []string{"sha1"}, 0)
	f.Add(IndexJSON([]Entry{{Config: cfg, Samples: 3, RawData: FileInfo{Basename: "shard.00000.mds"}, ZipData: &FileInfo{Basename: "shard.00000.mds.zstd"}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseIndex(data)
	})
}
