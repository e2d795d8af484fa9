package shards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/eosinlab/eosin/shards/mds"
	"github.com/eosinlab/eosin/shards/pq"
	"github.com/eosinlab/eosin/shards/wds"
)

// mdsColumns are the MDS columns of each kind, with the image column encoded as "jpeg". A
// shard's image encoding is chosen when it is closed, from the images it holds (see
// mdsImageEncoding).
func mdsColumns(k Kind) []mds.Column {
	if k == KindSample {
		return []mds.Column{
			{Name: "answer", Encoding: "str"},
			{Name: "id", Encoding: "str"},
			{Name: "images", Encoding: "list[jpeg]"},
			{Name: "messages", Encoding: "json"},
			{Name: "problem", Encoding: "str"},
			{Name: "record", Encoding: "json"},
		}
	}
	return []mds.Column{
		{Name: "caption", Encoding: "str"},
		{Name: "id", Encoding: "str"},
		{Name: "image", Encoding: "jpeg"},
		{Name: "record", Encoding: "json"},
	}
}

// mdsImageColumn is the name of the MDS image column of a kind of record.
func mdsImageColumn(k Kind) string {
	if k == KindSample {
		return "images"
	}
	return "image"
}

// Image kinds in an MDS shard, as bits of a set.
const (
	mdsJPEG uint8 = 1 << iota
	mdsPNG
	mdsOtherImage
)

// mdsImageKinds returns the kinds of the images in an encoded image column value (a file, or
// for samples a list of files).
func mdsImageKinds(k Kind, v []byte) uint8 {
	items := [][]byte{v}
	if k == KindSample {
		var err error
		if items, err = mds.DecodeList(v); err != nil {
			return mdsOtherImage
		}
	}
	var m uint8
	for _, it := range items {
		switch {
		case len(it) == 0:
		case isJPEG(it):
			m |= mdsJPEG
		case isPNG(it):
			m |= mdsPNG
		default:
			m |= mdsOtherImage
		}
	}
	return m
}

// mdsImageEncoding is the encoding of the image column of a shard whose images are of kinds
// m: "png" ("list[png]") when every image is a PNG file, otherwise "jpeg" ("list[jpeg]"). MDS
// encodings are per shard, so a shard holding both JPEG and PNG files cannot be labelled
// exactly; it is labelled jpeg, which decodes PNG files as well (Streaming's jpeg and png
// decoders are both PIL's Image.open, which sniffs the format).
func mdsImageEncoding(k Kind, m uint8) string {
	enc := "jpeg"
	if m == mdsPNG {
		enc = "png"
	}
	if k == KindSample {
		return "list[" + enc + "]"
	}
	return enc
}

func (s *sink) addFigure(ctx context.Context, f *Figure) error {
	rec, err := marshalRecord(f)
	if err != nil {
		return err
	}
	ext := imageExt(f.ImageBytes, f.Image.Format)
	approx := int64(len(rec) + len(f.ImageBytes) + len(f.Caption))
	switch s.format {
	case WebDataset:
		m := map[string][]byte{"json": rec, "txt": []byte(f.Caption)}
		if len(f.ImageBytes) > 0 {
			m[s.w.wdsExt(ext)] = f.ImageBytes
		}
		approx = wds.MemberSize(len(rec)) + wds.MemberSize(len(f.Caption)) + wds.MemberSize(len(f.ImageBytes))
		return s.add(ctx, nil, &wds.Sample{Key: f.ID, Members: m}, nil, nil, approx)
	case Parquet:
		row := pq.FigureRow{ID: f.ID, Caption: f.Caption, Label: f.Label, DocSHA256: f.Doc.SHA256,
			Page: int64(f.Page), Record: string(rec), Images: []pq.Image{}}
		if len(f.ImageBytes) > 0 {
			row.Images = append(row.Images, pq.Image{Bytes: f.ImageBytes, Path: f.ID + "." + ext})
		}
		return s.add(ctx, row, nil, nil, nil, approx)
	case MDS:
		// columns in name order: caption, id, image, record
		return s.add(ctx, nil, nil, [][]byte{[]byte(f.Caption), []byte(f.ID), f.ImageBytes, rec}, nil, approx)
	default:
		return s.add(ctx, nil, nil, nil, rec, int64(len(rec)+1))
	}
}

// wdsExt is the WebDataset member extension for an image of extension ext.
func (w *Writer) wdsExt(ext string) string {
	if w.opts.ImageExt != "" {
		return w.opts.ImageExt
	}
	return ext
}

// sampleImagePath names image i of a sample (its Path if set).
func sampleImagePath(s *Sample, i int) string {
	if s.Images[i].Path != "" {
		return s.Images[i].Path
	}
	ext := imageExt(s.Images[i].Bytes, s.Images[i].Format)
	if len(s.Images) == 1 {
		return s.ID + "." + ext
	}
	return s.ID + "." + strconv.Itoa(i) + "." + ext
}

// withMarkers prefixes <image> markers to text that has none, one per image.
func withMarkers(text string, n int) string {
	if n == 0 || strings.Contains(text, "<image>") {
		return text
	}
	return strings.Repeat("<image>", n) + text
}

// sampleMessages returns the conversation, built from problem and answer when the sample has
// no messages, with the <image> markers trainers count.
func sampleMessages(s *Sample) []pq.Message {
	var out []pq.Message
	if len(s.Messages) == 0 {
		out = []pq.Message{{Role: "user", Content: withMarkers(s.Problem, len(s.Images))}}
		if s.Answer != "" {
			out = append(out, pq.Message{Role: "assistant", Content: s.Answer})
		}
		return out
	}
	marked := false
	for _, m := range s.Messages {
		if strings.Contains(m.Content, "<image>") {
			marked = true
		}
	}
	for _, m := range s.Messages {
		c := m.Content
		if !marked && m.Role == "user" {
			c = withMarkers(c, len(s.Images))
			marked = true
		}
		out = append(out, pq.Message{Role: m.Role, Content: c})
	}
	return out
}

func (s *sink) addSample(ctx context.Context, smp *Sample) error {
	rec, err := marshalRecord(smp)
	if err != nil {
		return err
	}
	approx := int64(len(rec))
	for _, im := range smp.Images {
		approx += int64(len(im.Bytes))
	}
	switch s.format {
	case WebDataset:
		m := map[string][]byte{"json": rec}
		approx = wds.MemberSize(len(rec))
		for i, im := range smp.Images {
			ext := s.w.wdsExt(imageExt(im.Bytes, im.Format))
			if len(smp.Images) > 1 {
				ext = strconv.Itoa(i) + "." + ext
			}
			m[ext] = im.Bytes
			approx += wds.MemberSize(len(im.Bytes))
		}
		return s.add(ctx, nil, &wds.Sample{Key: smp.ID, Members: m}, nil, nil, approx)
	case Parquet:
		msgs := sampleMessages(smp)
		var prompt []pq.Message
		for _, m := range msgs {
			if m.Role != "assistant" {
				prompt = append(prompt, m)
			}
		}
		row := pq.SampleRow{
			ID: smp.ID, Messages: msgs, Prompt: prompt,
			Problem: withMarkers(smp.Problem, len(smp.Images)), Answer: smp.Answer, Solution: smp.Answer,
			RewardModel: pq.RewardModel{Style: "rule", GroundTruth: smp.Answer},
			DataSource:  s.w.opts.DataSource, Ability: smp.Task,
			ExtraInfo: pq.ExtraInfo{Split: s.w.opts.Split, Index: int64(s.w.records), FigureID: smp.FigureID, Task: smp.Task},
			Record:    string(rec), Images: []pq.Image{},
		}
		for i, im := range smp.Images {
			row.Images = append(row.Images, pq.Image{Bytes: im.Bytes, Path: sampleImagePath(smp, i)})
		}
		return s.add(ctx, row, nil, nil, nil, approx)
	case MDS:
		imgs := make([][]byte, len(smp.Images))
		for i, im := range smp.Images {
			imgs[i] = im.Bytes
		}
		msgs, err := json.Marshal(sampleMessages(smp))
		if err != nil {
			return err
		}
		// columns in name order: answer, id, images, messages, problem, record
		return s.add(ctx, nil, nil, [][]byte{[]byte(smp.Answer), []byte(smp.ID), mds.EncodeList(imgs), msgs,
			[]byte(smp.Problem), rec}, nil, approx)
	default:
		return s.add(ctx, nil, nil, nil, rec, int64(len(rec)+1))
	}
}

// Record is one record read back: a Figure or a Sample, with image bytes when the format
// carries them (all but JSONL).
type Record struct {
	Figure *Figure
	Sample *Sample
}

// ID returns the record's id.
func (r *Record) ID() string {
	if r.Figure != nil {
		return r.Figure.ID
	}
	if r.Sample != nil {
		return r.Sample.ID
	}
	return ""
}

// MarshalJSON encodes the record itself (without image bytes).
func (r *Record) MarshalJSON() ([]byte, error) {
	if r.Figure != nil {
		return marshalRecord(r.Figure)
	}
	return marshalRecord(r.Sample)
}

// marshalRecord encodes a record as compact JSON without HTML escaping (so "<image>" stays
// readable).
func marshalRecord(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeRecord decodes a record's JSON; images are attached by the caller.
func decodeRecord(kind Kind, b []byte) (*Record, error) {
	if kind == KindSample {
		var s Sample
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("sample json: %w", err)
		}
		return &Record{Sample: &s}, nil
	}
	var f Figure
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("figure json: %w", err)
	}
	return &Record{Figure: &f}, nil
}

// attachImages puts image bytes into a decoded record, checking the count.
func attachImages(r *Record, imgs [][]byte) error {
	if r.Figure != nil {
		switch len(imgs) {
		case 0:
		case 1:
			r.Figure.ImageBytes = imgs[0]
		default:
			return fmt.Errorf("figure %s: %d images, want at most 1", r.Figure.ID, len(imgs))
		}
		return nil
	}
	if len(imgs) != len(r.Sample.Images) {
		return fmt.Errorf("sample %s: %d images stored, its record lists %d", r.Sample.ID, len(imgs), len(r.Sample.Images))
	}
	for i := range imgs {
		r.Sample.Images[i].Bytes = imgs[i]
	}
	return nil
}

// fromWDS turns a WebDataset sample into a record.
func fromWDS(kind Kind, s *wds.Sample) (*Record, error) {
	js, ok := s.Members["json"]
	if !ok {
		return nil, fmt.Errorf("sample %s: no json member", s.Key)
	}
	r, err := decodeRecord(kind, js)
	if err != nil {
		return nil, fmt.Errorf("sample %s: %w", s.Key, err)
	}
	if r.ID() != s.Key {
		return nil, fmt.Errorf("sample %s: its json says id %q", s.Key, r.ID())
	}
	var imgs [][]byte
	indexed := map[int][]byte{}
	for ext, data := range s.Members {
		if i, rest, ok := strings.Cut(ext, "."); ok {
			n, err := strconv.Atoi(i)
			if err != nil || !isImageExt(rest) || n < 0 || n >= 1<<16 {
				continue
			}
			indexed[n] = data
		} else if isImageExt(ext) {
			imgs = append(imgs, data)
		}
	}
	if len(indexed) > 0 {
		if len(imgs) > 0 {
			return nil, fmt.Errorf("sample %s: both plain and numbered image members", s.Key)
		}
		for i := range len(indexed) {
			d, ok := indexed[i]
			if !ok {
				return nil, fmt.Errorf("sample %s: image %d missing", s.Key, i)
			}
			imgs = append(imgs, d)
		}
	}
	if len(imgs) > 1 && len(indexed) == 0 {
		return nil, fmt.Errorf("sample %s: several unnumbered image members", s.Key)
	}
	if err := attachImages(r, imgs); err != nil {
		return nil, err
	}
	return r, nil
}
