// Package pq writes and reads the Parquet files SFT/RL trainers load (LLaMA-Factory, ms-swift,
// verl, EasyR1, TRL): one row per example, images embedded as Hugging Face Image structs
// {bytes, path}, chat columns as lists of {role, content}, and the Hugging Face features
// metadata (file key "huggingface") so that `datasets` types the image column as images.
package pq

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// Image is a Hugging Face Image value: the encoded file bytes and a name.
type Image struct {
	Bytes []byte `parquet:"bytes"`
	Path  string `parquet:"path"`
}

// Message is one chat turn.
type Message struct {
	Role    string `parquet:"role"`
	Content string `parquet:"content"`
}

// RewardModel is verl's reward_model column.
type RewardModel struct {
	Style       string `parquet:"style"`
	GroundTruth string `parquet:"ground_truth"`
}

// ExtraInfo is verl's extra_info column.
type ExtraInfo struct {
	Split    string `parquet:"split"`
	Index    int64  `parquet:"index"`
	FigureID string `parquet:"figure_id"`
	Task     string `parquet:"task"`
}

// SampleRow is one SFT/RL example. Record holds the full eosin record as JSON (lossless
// round trip); the other columns are what the trainers read.
type SampleRow struct {
	ID          string      `parquet:"id"`
	Images      []Image     `parquet:"images,list"`
	Messages    []Message   `parquet:"messages,list"`
	Prompt      []Message   `parquet:"prompt,list"`
	Problem     string      `parquet:"problem"`
	Answer      string      `parquet:"answer"`
	Solution    string      `parquet:"solution"`
	RewardModel RewardModel `parquet:"reward_model"`
	DataSource  string      `parquet:"data_source"`
	Ability     string      `parquet:"ability"`
	ExtraInfo   ExtraInfo   `parquet:"extra_info"`
	Record      string      `parquet:"record"`
}

// FigureRow is one figure with its caption (image–text pretraining, inspection).
type FigureRow struct {
	ID        string  `parquet:"id"`
	Images    []Image `parquet:"images,list"`
	Caption   string  `parquet:"caption"`
	Label     string  `parquet:"label"`
	DocSHA256 string  `parquet:"doc_sha256"`
	Page      int64   `parquet:"page"`
	Record    string  `parquet:"record"`
}

func value(dtype string) map[string]any { return map[string]any{"dtype": dtype, "_type": "Value"} }

func list(feature any) map[string]any { return map[string]any{"feature": feature, "_type": "List"} }

func chat() map[string]any {
	return list(map[string]any{"role": value("string"), "content": value("string")})
}

// Features returns the Hugging Face `datasets` (≥ 4) features of a row type, as the JSON
// stored under the "huggingface" file metadata key.
func Features(row any) (string, error) {
	var f map[string]any
	switch row.(type) {
	case SampleRow, *SampleRow:
		f = map[string]any{
			"id":       value("string"),
			"images":   list(map[string]any{"_type": "Image"}),
			"messages": chat(),
			"prompt":   chat(),
			"problem":  value("string"),
			"answer":   value("string"),
			"solution": value("string"),
			"reward_model": map[string]any{
				"style": value("string"), "ground_truth": value("string"),
			},
			"data_source": value("string"),
			"ability":     value("string"),
			"extra_info": map[string]any{
				"split": value("string"), "index": value("int64"),
				"figure_id": value("string"), "task": value("string"),
			},
			"record": value("string"),
		}
	case FigureRow, *FigureRow:
		f = map[string]any{
			"id":         value("string"),
			"images":     list(map[string]any{"_type": "Image"}),
			"caption":    value("string"),
			"label":      value("string"),
			"doc_sha256": value("string"),
			"page":       value("int64"),
			"record":     value("string"),
		}
	default:
		return "", fmt.Errorf("pq: no features for %T", row)
	}
	b, err := json.Marshal(map[string]any{"info": map[string]any{"features": f}})
	return string(b), err
}

// Writer writes rows of type T (SampleRow or FigureRow) to one Parquet file, flushing a row
// group every RowGroupRows rows.
type Writer[T any] struct {
	w       *parquet.GenericWriter[T]
	pending int
	n       int
	rg      int
}

// RowGroupRows is the number of rows per row group (image rows are large; Hugging Face uses
// small row groups for image datasets).
const RowGroupRows = 100

// NewWriter starts a Parquet file on w.
func NewWriter[T any](w io.Writer) (*Writer[T], error) {
	var zero T
	feats, err := Features(zero)
	if err != nil {
		return nil, err
	}
	gw := parquet.NewGenericWriter[T](w,
		parquet.Compression(&parquet.Snappy),
		parquet.KeyValueMetadata("huggingface", feats),
		parquet.CreatedBy("eosin", "1", ""),
	)
	return &Writer[T]{w: gw, rg: RowGroupRows}, nil
}

// Write appends one row.
func (w *Writer[T]) Write(row T) error {
	if _, err := w.w.Write([]T{row}); err != nil {
		return fmt.Errorf("parquet row %d: %w", w.n, err)
	}
	w.n++
	w.pending++
	if w.pending >= w.rg {
		w.pending = 0
		if err := w.w.Flush(); err != nil {
			return fmt.Errorf("parquet row group: %w", err)
		}
	}
	return nil
}

// Count is the number of rows written.
func (w *Writer[T]) Count() int { return w.n }

// Close writes the footer. It does not close the underlying writer.
func (w *Writer[T]) Close() error {
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("parquet footer: %w", err)
	}
	return nil
}

// Reader reads rows of type T from a Parquet file.
type Reader[T any] struct {
	f   *parquet.File
	r   *parquet.GenericReader[T]
	buf []T
}

// OpenReader opens a Parquet file for reading; the schema must contain T's columns.
func OpenReader[T any](r io.ReaderAt, size int64) (rd *Reader[T], err error) {
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, fmt.Errorf("parquet: malformed file: %v", p)
		}
	}()
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	var zero T
	want := parquet.SchemaOf(zero)
	for _, col := range want.Columns() {
		if _, ok := f.Schema().Lookup(col...); !ok {
			return nil, fmt.Errorf("parquet: column %v missing", col)
		}
	}
	return &Reader[T]{f: f, r: parquet.NewGenericReader[T](f), buf: make([]T, 1)}, nil
}

// NumRows is the row count the footer declares.
func (r *Reader[T]) NumRows() int64 { return r.f.NumRows() }

// Metadata returns a file key-value metadata entry.
func (r *Reader[T]) Metadata(key string) (string, bool) { return r.f.Lookup(key) }

// Next returns the next row or io.EOF.
func (r *Reader[T]) Next() (row T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet: malformed data: %v", p)
		}
	}()
	var zero T
	r.buf[0] = zero
	n, err := r.r.Read(r.buf)
	if n == 1 {
		return r.buf[0], nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return row, io.EOF
	}
	return row, fmt.Errorf("parquet: %w", err)
}

// Close releases the reader.
func (r *Reader[T]) Close() error { return r.r.Close() }
