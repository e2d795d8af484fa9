package cotbeam

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/shards"
)

// The elements of the pipeline. Figures and samples carry their image bytes (one figure image,
// typically tens to hundreds of KB): they are what the model reads and what the shards hold.
// Image bytes are the bulk of what the runner moves, so they travel as few times as the graph
// allows: a figure's image once from generate to the shard keying (however many samples share
// it), then once per sample to its shard's writer; dedup, rejects and statistics never carry
// them.

// figureElem is one input figure: its record (JSON of shards.Figure) and image, or why the
// image could not be used (cot.FigureInput.ImageError).
type figureElem struct {
	Record     []byte
	Image      []byte
	Format     string
	ImageError string
}

func (f figureElem) input() (cot.FigureInput, error) {
	var fig shards.Figure
	if err := json.Unmarshal(f.Record, &fig); err != nil {
		return cot.FigureInput{}, fmt.Errorf("figure record: %w", err)
	}
	return cot.FigureInput{Figure: fig, Image: f.Image, ImageFormat: f.Format, ImageError: f.ImageError}, nil
}

// sampleElem is one kept sample. Key is the id of the SFT sample (an RL sample's SFT twin), so
// that a near-duplicate decision about the SFT sample reaches its RL twin too. Inside a
// figureSamples its images are ImageRefs into the figure's Images; on its way to the writer it
// carries the bytes themselves.
type sampleElem struct {
	Key       string
	ID        string
	RL        bool
	Record    []byte   // JSON of shards.Sample (image bytes excluded)
	Images    [][]byte // the bytes of Sample.Images, in order
	ImageRefs []int    // instead of Images: indexes into figureSamples.Images
}

// figureSamples are the kept samples (SFT and RL) of one figure as they leave generate. The
// image bytes of its samples (the figure's image, shared by an SFT sample and its RL twin)
// travel once, up to the step that assigns the samples to shards.
type figureSamples struct {
	Samples []sampleElem
	Images  [][]byte
}

// add appends a sample, storing its images once.
func (fs *figureSamples) add(key string, rl bool, s *shards.Sample) error {
	e, err := newSampleElem(key, rl, s)
	if err != nil {
		return err
	}
	for _, im := range e.Images {
		ref := slices.IndexFunc(fs.Images, func(b []byte) bool { return bytes.Equal(b, im) })
		if ref < 0 {
			ref = len(fs.Images)
			fs.Images = append(fs.Images, im)
		}
		e.ImageRefs = append(e.ImageRefs, ref)
	}
	e.Images = nil
	fs.Samples = append(fs.Samples, e)
	return nil
}

// count returns how many of its samples are RL samples (rl) or SFT samples.
func (fs *figureSamples) count(rl bool) int {
	n := 0
	for _, e := range fs.Samples {
		if e.RL == rl {
			n++
		}
	}
	return n
}

// sample returns sample i with its image bytes.
func (fs *figureSamples) sample(i int) (sampleElem, error) {
	e := fs.Samples[i]
	e.Images = make([][]byte, len(e.ImageRefs))
	for j, ref := range e.ImageRefs {
		if ref < 0 || ref >= len(fs.Images) {
			return e, fmt.Errorf("sample %s: image %d of %d", e.ID, ref, len(fs.Images))
		}
		e.Images[j] = fs.Images[ref]
	}
	e.ImageRefs = nil
	return e, nil
}

func newSampleElem(key string, rl bool, s *shards.Sample) (sampleElem, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return sampleElem{}, fmt.Errorf("sample %s: %w", s.ID, err)
	}
	e := sampleElem{Key: key, ID: s.ID, RL: rl, Record: b}
	for _, im := range s.Images {
		e.Images = append(e.Images, im.Bytes)
	}
	return e, nil
}

func (e sampleElem) sample() (*shards.Sample, error) {
	var s shards.Sample
	if err := json.Unmarshal(e.Record, &s); err != nil {
		return nil, fmt.Errorf("sample record: %w", err)
	}
	if len(s.Images) != len(e.Images) {
		return nil, fmt.Errorf("sample %s: %d images listed, %d carried", s.ID, len(s.Images), len(e.Images))
	}
	for i := range e.Images {
		s.Images[i].Bytes = e.Images[i]
	}
	return &s, nil
}

// sigElem is an SFT sample's MinHash signature: sent once keyed by its id, then only to the
// LSH band buckets it shares with another sample.
type sigElem struct {
	ID  string
	Sig []byte // cot.Signature, little-endian
}

func encodeSig(s *cot.Signature) []byte {
	b := make([]byte, 8*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func decodeSig(b []byte) (cot.Signature, error) {
	var s cot.Signature
	if len(b) != 8*len(s) {
		return s, fmt.Errorf("signature of %d bytes", len(b))
	}
	for i := range s {
		s[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return s, nil
}

// batchStats are the exact counts of one bundle of the generate step.
type batchStats struct {
	Figures   int   `json:"figures"`
	Requested int   `json:"requested"`
	Requests  int64 `json:"requests"`
	CacheHits int64 `json:"cache_hits"`
	Attempts  int64 `json:"attempts"`
	Failures  int64 `json:"failures"`
}

// commitPart is one input of the commit step: exactly one field is set.
type commitPart struct {
	SFT    *shards.Part   `json:"sft,omitempty"`
	RL     *shards.Part   `json:"rl,omitempty"`
	Reject *shards.Reject `json:"reject,omitempty"`
	Stats  *batchStats    `json:"stats,omitempty"`
	Marker bool           `json:"marker,omitempty"`
}

func (p commitPart) encode() []byte {
	b, _ := json.Marshal(p)
	return b
}

func init() {
	for _, t := range []any{figureElem{}, sampleElem{}, figureSamples{}, sigElem{}, shards.Reject{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
}
