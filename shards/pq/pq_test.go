package pq

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

func TestWriterReader(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter[SampleRow](&buf)
	if err != nil {
		t.Fatal(err)
	}
	var rows []SampleRow
	for i := range 250 { // three row groups
		r := SampleRow{ID: "s" + string(rune('a'+i%26)), Images: []Image{{Bytes: []byte{byte(i), 1, 2}, Path: "x.jpg"}},
			Messages: []Message{{Role: "user", Content: "<image>q"}, {Role: "assistant", Content: "a"}},
			Prompt:   []Message{{Role: "user", Content: "<image>q"}}, Problem: "<image>q", Answer: "a",
			RewardModel: RewardModel{Style: "rule", GroundTruth: "a"}, ExtraInfo: ExtraInfo{Index: int64(i)}}
		if i%2 == 1 {
			r.Images = append(r.Images, Image{Bytes: bytes.Repeat([]byte{7}, i)})
		}
		rows = append(rows, r)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := OpenReader[SampleRow](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if rd.NumRows() != 250 {
		t.Fatalf("rows %d", rd.NumRows())
	}
	meta, ok := rd.Metadata("huggingface")
	var hf map[string]any
	if !ok || json.Unmarshal([]byte(meta), &hf) != nil {
		t.Fatalf("huggingface metadata: %q", meta)
	}
	var got []SampleRow
	for {
		r, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	a, _ := json.Marshal(rows)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Fatal("rows differ after the round trip (or rows alias each other's buffers)")
	}
	// A figure file lacks the sample columns.
	if _, err := OpenReader[FigureRow](bytes.NewReader(buf.Bytes()), int64(buf.Len())); err == nil {
		t.Fatal("figure reader accepted a sample file")
	}
	for _, cut := range []int{0, 4, buf.Len() / 2, buf.Len() - 1} {
		if _, err := OpenReader[SampleRow](bytes.NewReader(buf.Bytes()[:cut]), int64(cut)); err == nil {
			t.Fatalf("truncated file (%d bytes) accepted", cut)
		}
	}
}
