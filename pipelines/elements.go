package pipelines

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/eosinlab/eosin/shards"
)

// The elements that flow through the corpus build. They carry URIs, page ranges and figure
// records — never whole PDFs. Image bytes ride along only from the page-range step on.

// docRef is one matched input document.
type docRef struct {
	URI string
	// Package: an article package (see articles.go), not a plain PDF.
	Package bool
}

// docItem is a fingerprinted document.
type docItem struct {
	URI     string
	SHA256  string
	Size    int64
	Package bool
}

// workItem is one document to lay out: its text, fonts and drawings are read and its figures
// found (cheap: no image data, no rendering), which turns it into page ranges.
type workItem struct {
	URI     string
	SHA256  string
	Package bool
}

// rangeItem is the expensive half of a document's work: rendering the figures laid out on
// pages First..Last (1-based, inclusive) and running OCR on the scanned pages among them.
// Figures are the records found by the layout step (JSON of shards.Figure, no image bytes).
type rangeItem struct {
	URI     string
	SHA256  string
	First   int
	Last    int
	Doc     shards.Doc
	Figures [][]byte
	Scanned []int
	// OnlyScanned: the document's layout found nothing and rejected nothing; its scanned
	// pages are all that is left, so a range whose OCR finds no figure is a no_figures reject.
	OnlyScanned bool `json:",omitempty"`
}

// rangeResult is what rendering one page range produced.
type rangeResult struct {
	Figures  int
	PagesBad int
}

// figItem is one extracted figure: its record (JSON of shards.Figure, image bytes excluded),
// the rendered image, and the native bytes of a single embedded image when there is one.
type figItem struct {
	ID      string
	Record  []byte
	Image   []byte
	OrigExt string
	Orig    []byte
}

// dedupItem is what deduplication needs of a figure (no image bytes). The dedup index of a
// version holds one per figure; a Marker item (ID empty) announces that document Doc is
// being processed again, so its committed figures leave the dedup decision.
type dedupItem struct {
	ID          string
	ImageSHA256 string
	PHash       uint64
	HasPHash    bool
	Caption     string
	Committed   bool
	Doc         string `json:",omitempty"` // sha256 of the figure's document
	Marker      bool   `json:",omitempty"`
}

// decision is the dedup outcome for one figure.
type decision struct {
	Keep     bool
	Reason   string
	DupOf    string
	Distance int
	// CaptionGroup is the ID of the first figure of the near-duplicate caption group this
	// figure belongs to ("" when none).
	CaptionGroup string
}

// docResult is what laying out a document produced (one per work item).
type docResult struct {
	SHA256   string
	URI      string
	Pages    int
	PagesBad int
	Figures  int
	Status   string // ok | rejected
	// Package: the document is an article package; Agreement is then the JSON of its
	// articles.DocAgreement (PDF-only extraction against the XML), when its PDF was read.
	Package   bool
	Agreement []byte
}

// shardResult describes one written shard object.
type shardResult struct {
	Kind    string // rejects
	Path    string // relative to the version directory
	Records int
	Bytes   int64
	SHA256  string
	// Counts are per-reason reject counts ("stage/reason") of a reject shard.
	CountKeys []string
	CountVals []int64
}

// figPart is one written part of the figure dataset (one shard per format) with the dedup
// facts of its figures.
type figPart struct {
	Part  shards.Part
	Index []dedupItem
}

// commitPart is one input of the commit step: exactly one field is set.
type commitPart struct {
	Figures    *figPart     `json:",omitempty"`
	Shard      *shardResult `json:",omitempty"`
	Doc        *docResult   `json:",omitempty"`
	Range      *rangeResult `json:",omitempty"`
	Groups     [][]string   `json:",omitempty"` // near-duplicate caption groups
	Skipped    int          `json:",omitempty"` // documents already committed
	Duplicates int          `json:",omitempty"` // copies of a document under another URI
}

func init() {
	for _, t := range []any{docRef{}, docItem{}, workItem{}, rangeItem{}, rangeResult{}, figItem{}, dedupItem{}, decision{}, docResult{}, shardResult{}, figPart{}, commitPart{}, shards.Reject{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
}
