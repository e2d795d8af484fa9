package extract

// Page is everything extract reads from one page: text, image placements and vector paint.
// All boxes are in page space (see Rect).
type Page struct {
	Number   int       `json:"page"`   // 1-based
	Width    float64   `json:"width"`  // visible width in points, after rotation
	Height   float64   `json:"height"` // visible height in points, after rotation
	Rotation int       `json:"rotation,omitempty"`
	Words    []Word    `json:"words"`
	Lines    []Line    `json:"lines,omitempty"`
	Images   []Image   `json:"images"`
	Graphics []Graphic `json:"graphics"`
	// Warnings lists recoverable problems met while reading the page (an unknown font, an
	// operator with bad operands, a limit reached); the page is still usable.
	Warnings []string `json:"warnings,omitempty"`
}

// Word is a run of glyphs without a space between them, in one font, on one baseline.
type Word struct {
	Text   string  `json:"text"`
	BBox   Rect    `json:"bbox"`
	Font   string  `json:"font"` // base font name without the subset prefix (ABCDEF+)
	Size   float64 `json:"size"` // effective size in points (font size × text and CTM scale)
	Bold   bool    `json:"bold"`
	Italic bool    `json:"italic"`
	// RenderMode is the text render mode (Tr); 3 is invisible text, as in OCR layers.
	RenderMode int `json:"render_mode,omitempty"`
	// Line is the index of the word's line in Page.Lines.
	Line int `json:"-"`
	// rot is the baseline direction: 0 left to right, 1 top to bottom, 2 right to left
	// (upside down), 3 bottom to top.
	rot int
}

// Direction is the word's baseline direction in page space: 0 left to right, 1 top to
// bottom, 2 upside down, 3 bottom to top (e.g. a rotated y-axis label).
func (w Word) Direction() int { return w.rot }

// Invisible reports whether the word is drawn with render mode 3 (neither filled nor stroked).
func (w Word) Invisible() bool { return w.RenderMode == 3 || w.RenderMode == 7 }

// Line is a sequence of words on one baseline, in reading order.
type Line struct {
	Text  string  `json:"text"`
	BBox  Rect    `json:"bbox"`
	Words []int   `json:"words"` // indexes into Page.Words
	Size  float64 `json:"size"`  // dominant font size
	Font  string  `json:"font"`  // dominant font
	Bold  bool    `json:"bold"`  // all words bold
}

// Image is one placement of a raster image (an image XObject or an inline image).
type Image struct {
	BBox             Rect   `json:"bbox"`
	Width            int    `json:"width"`  // pixels
	Height           int    `json:"height"` // pixels
	ColorSpace       string `json:"color_space,omitempty"`
	BitsPerComponent int    `json:"bpc,omitempty"`
	Filter           string `json:"filter,omitempty"` // last filter in the chain, e.g. DCTDecode
	// Format names the bytes in Data: "jpeg" (DCT, unchanged), "png" (decoded and re-encoded),
	// "jp2" (JPX, unchanged), or "" when the image needs rendering (CCITT, JBIG2, unsupported).
	Format string `json:"format,omitempty"`
	Data   []byte `json:"-"`
	// NeedsRender is set when the native bytes cannot be used directly (CCITT, JBIG2, an
	// unsupported colour space): crop the rendered page instead.
	NeedsRender bool   `json:"needs_render,omitempty"`
	SoftMask    bool   `json:"soft_mask,omitempty"`
	Inline      bool   `json:"inline,omitempty"`
	Name        string `json:"name,omitempty"` // resource name, e.g. Im3
}

// Graphic is the bounding box of one painted vector path (or shading), clipped.
type Graphic struct {
	BBox Rect   `json:"bbox"`
	Op   string `json:"op,omitempty"` // painting operator: S, f, B, sh, …
	// White is set for paths filled (not stroked) with white: they paint nothing visible.
	White bool `json:"white,omitempty"`
	// Background is set for fills covering most of the page.
	Background bool `json:"background,omitempty"`
}
