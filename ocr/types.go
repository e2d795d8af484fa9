package ocr

import (
	"image"
	"strings"
)

// BlockType is the kind of a block found by Tesseract's layout analysis (its PolyBlockType).
type BlockType int

// Block types, in Tesseract's order.
const (
	BlockUnknown        BlockType = iota // not classified
	BlockText                            // flowing text
	BlockHeading                         // heading text
	BlockPullout                         // pull-out text (a box set apart from the columns)
	BlockEquation                        // display equation
	BlockInlineEquation                  // equation inside a text line
	BlockTable                           // table
	BlockVerticalText                    // text running vertically
	BlockCaption                         // caption text (text next to an image)
	BlockImage                           // flowing image (photo, drawing, plot)
	BlockHeadingImage                    // image that spans columns as a heading
	BlockPulloutImage                    // image set apart from the columns
	BlockHLine                           // horizontal separator line
	BlockVLine                           // vertical separator line
	BlockNoise                           // noise: not text, not image
)

var blockNames = [...]string{"unknown", "text", "heading", "pullout", "equation",
	"inline_equation", "table", "vertical_text", "caption", "image", "heading_image",
	"pullout_image", "hline", "vline", "noise"}

// String returns a short lower-case name ("text", "caption", "image", "table", "hline", …).
func (t BlockType) String() string {
	if t < 0 || int(t) >= len(blockNames) {
		return "unknown"
	}
	return blockNames[t]
}

// MarshalText writes the name, so JSON shows "caption" rather than 8.
func (t BlockType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// IsText reports whether the block holds text (text, heading, pull-out, caption, vertical,
// table or equation).
func (t BlockType) IsText() bool {
	switch t {
	case BlockText, BlockHeading, BlockPullout, BlockCaption, BlockVerticalText, BlockTable,
		BlockEquation, BlockInlineEquation:
		return true
	}
	return false
}

// IsImage reports whether the block is a picture of any kind.
func (t BlockType) IsImage() bool {
	return t == BlockImage || t == BlockHeadingImage || t == BlockPulloutImage
}

// IsSeparator reports whether the block is a rule.
func (t BlockType) IsSeparator() bool { return t == BlockHLine || t == BlockVLine }

// Word is one recognised word. Boxes are in pixels of the image given to the engine, origin
// top-left; Confidence is Tesseract's, 0–100.
type Word struct {
	Text       string          `json:"text"`
	Box        image.Rectangle `json:"box"`
	Confidence float64         `json:"conf"`
}

// Line is a text line. Text is empty when only the layout was analysed.
type Line struct {
	Text       string          `json:"text,omitempty"`
	Box        image.Rectangle `json:"box"`
	Confidence float64         `json:"conf,omitempty"` // mean word confidence
	Words      []Word          `json:"words,omitempty"`
}

// Block is a block of the page layout: a text block with its lines, or a non-text block
// (image, separator, noise) with none.
type Block struct {
	Type       BlockType       `json:"type"`
	Box        image.Rectangle `json:"box"`
	Confidence float64         `json:"conf,omitempty"` // mean word confidence
	Lines      []Line          `json:"lines,omitempty"`
}

// Text joins the block's lines with newlines.
func (b Block) Text() string {
	parts := make([]string, 0, len(b.Lines))
	for _, l := range b.Lines {
		if l.Text != "" {
			parts = append(parts, l.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// Page is the result of analysing or recognising an image (or a region of it).
type Page struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Blocks []Block `json:"blocks"`
}

// Text joins the text blocks with blank lines between them.
func (p *Page) Text() string {
	var parts []string
	for _, b := range p.Blocks {
		if t := b.Text(); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n\n")
}

// Words lists every word of the page in reading order.
func (p *Page) Words() []Word {
	var ws []Word
	for _, b := range p.Blocks {
		for _, l := range b.Lines {
			ws = append(ws, l.Words...)
		}
	}
	return ws
}

// MeanConfidence is the mean word confidence (0–100), 0 when nothing was recognised.
func (p *Page) MeanConfidence() float64 {
	return meanConf(p.Words())
}

func meanConf(ws []Word) float64 {
	if len(ws) == 0 {
		return 0
	}
	s := 0.0
	for _, w := range ws {
		s += w.Confidence
	}
	return s / float64(len(ws))
}

// translate moves every box of the page by d (region results back to page coordinates).
func (p *Page) translate(d image.Point) {
	for i := range p.Blocks {
		b := &p.Blocks[i]
		b.Box = b.Box.Add(d)
		for j := range b.Lines {
			l := &b.Lines[j]
			l.Box = l.Box.Add(d)
			for k := range l.Words {
				l.Words[k].Box = l.Words[k].Box.Add(d)
			}
		}
	}
}
