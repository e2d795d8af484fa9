// Package shards holds the records eosin persists (Figure, Sample, Reject), the shard writers
// and readers (WebDataset, Parquet, MDS, JSONL), storage (local directories and S3) and the
// commit protocol of versioned datasets.
package shards

// Box is a rectangle in PDF points, origin at the top-left of the page: [x0, y0, x1, y1].
type Box [4]float64

// Doc identifies the source document of a figure.
type Doc struct {
	SHA256  string `json:"sha256"`
	URI     string `json:"uri"`
	Title   string `json:"title,omitempty"`
	DOI     string `json:"doi,omitempty"`
	License string `json:"license,omitempty"`
	// LicenseURL is the licence's canonical address (e.g. a Creative Commons URL), when the
	// publisher states one.
	LicenseURL string `json:"license_url,omitempty"`
	// Journal, Year and PMCID come from publisher article XML (see package articles).
	Journal string `json:"journal,omitempty"`
	Year    int    `json:"year,omitempty"`
	PMCID   string `json:"pmcid,omitempty"`
}

// Size is a width and height.
type Size struct {
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// SubFigure is one panel of a multi-panel figure.
type SubFigure struct {
	Label   string `json:"label"`
	BBox    Box    `json:"bbox"`
	Caption string `json:"caption,omitempty"`
}

// ImageInfo describes the figure's image.
type ImageInfo struct {
	Format string `json:"format"` // png | jpeg | jp2
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Source string `json:"source"` // embedded | rendered | file (an article package's own figure file)
	DPI    int    `json:"dpi,omitempty"`
	// SHA256 of the image bytes (filled when the bytes are known).
	SHA256 string `json:"sha256,omitempty"`
}

// OCRInfo tells whether OCR produced the caption, and how confident it was.
type OCRInfo struct {
	Used           bool    `json:"used"`
	MeanConfidence float64 `json:"mean_confidence,omitempty"`
}

// Quality holds flags raised about a figure (e.g. "small", "low_contrast", "near_duplicate_caption").
type Quality struct {
	Flags []string `json:"flags,omitempty"`
}

// Figure is one extracted figure with its caption.
type Figure struct {
	// ID is stable across runs: a hash of document sha256, page and index on the page. It has
	// no dots (it is a WebDataset key).
	ID         string      `json:"id"`
	Kind       string      `json:"kind,omitempty"` // figure (default) | table
	Doc        Doc         `json:"doc"`
	Page       int         `json:"page"`
	PageSize   Size        `json:"page_size"`
	BBox       Box         `json:"bbox"`
	CaptionBox Box         `json:"caption_bbox"`
	Label      string      `json:"label"`
	Caption    string      `json:"caption"`
	SubFigures []SubFigure `json:"subfigures,omitempty"`
	Mentions   []string    `json:"mentions,omitempty"`
	// Paragraphs are the body paragraphs holding the Mentions, in document order (article XML).
	Paragraphs []string `json:"paragraphs,omitempty"`
	// Source tells where the record comes from: xml+pdf (publisher XML, image cropped from
	// the PDF), xml+image (publisher XML and the package's figure file), pdf (PDF layout
	// analysis) or scan (OCR of a scanned page). Empty means pdf.
	Source  string    `json:"source,omitempty"`
	Image   ImageInfo `json:"image"`
	OCR     OCRInfo   `json:"ocr"`
	PHash   string    `json:"phash,omitempty"` // 64-bit perceptual hash, 16 hex digits
	Quality Quality   `json:"quality"`
	// ImageBytes travel with the record only at the last step (shard writing); never in JSON.
	ImageBytes []byte `json:"-"`
}

// Message is one chat turn. Content is plain text; images are referenced by <image> markers
// in the text and carried in Sample.Images.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Generator records which model produced a sample and with which parameters.
type Generator struct {
	Model  string         `json:"model"`
	Params map[string]any `json:"params,omitempty"`
}

// Verdict is the outcome of verification.
type Verdict struct {
	Keep    bool     `json:"keep"`
	Reasons []string `json:"reasons,omitempty"`
}

// SampleImage is an image of a sample: its bytes travel with the record at the last step,
// Path names it inside a dataset.
type SampleImage struct {
	Path   string `json:"path,omitempty"`
	Format string `json:"format,omitempty"`
	Bytes  []byte `json:"-"`
}

// Sample is one SFT or RL example.
type Sample struct {
	ID        string             `json:"id"`
	FigureID  string             `json:"figure_id"`
	Task      string             `json:"task"` // mcq | vqa | description | reasoning | conversation
	Images    []SampleImage      `json:"images,omitempty"`
	Problem   string             `json:"problem"`
	Options   []string           `json:"options,omitempty"`
	Answer    string             `json:"answer"`
	Messages  []Message          `json:"messages,omitempty"`
	Generator Generator          `json:"generator"`
	Scores    map[string]float64 `json:"scores,omitempty"`
	Verdict   Verdict            `json:"verdict"`
}

// Reject records a document, page, figure or sample that was dropped, and why.
type Reject struct {
	Stage  string `json:"stage"` // ingest | extract | layout | ocr | filter | dedup | cot | …
	Kind   string `json:"kind"`  // document | page | figure | sample
	URI    string `json:"uri,omitempty"`
	DocSHA string `json:"doc_sha256,omitempty"`
	Page   int    `json:"page,omitempty"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"` // short machine-friendly reason, e.g. "encrypted", "caption_too_short"
	Detail string `json:"detail,omitempty"`
}
