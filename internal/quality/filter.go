// Package quality holds the figure filters and the deduplication of the corpus build as plain
// functions: size and aspect ratio, caption length and language, blank images, tables; exact
// and perceptual-hash duplicates; near-duplicate captions. The pipelines wrap them in DoFns.
package quality

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Reject reasons produced by Params.Check.
const (
	ReasonTable           = "table_excluded"
	ReasonTooSmall        = "image_too_small"
	ReasonAspect          = "aspect_ratio"
	ReasonBlank           = "blank_image"
	ReasonUndecodable     = "image_undecodable"
	ReasonCaptionShort    = "caption_too_short"
	ReasonCaptionLong     = "caption_too_long"
	ReasonCaptionLanguage = "caption_language"
)

// Params are the filter thresholds. The zero value of a bound disables it.
type Params struct {
	// MinWidth and MinHeight bound the image size in pixels.
	MinWidth  int `yaml:"min_width" json:"min_width"`
	MinHeight int `yaml:"min_height" json:"min_height"`
	// MinAspect and MaxAspect bound width/height.
	MinAspect float64 `yaml:"min_aspect" json:"min_aspect"`
	MaxAspect float64 `yaml:"max_aspect" json:"max_aspect"`
	// MinCaptionChars and MaxCaptionChars bound the caption length in characters, whitespace
	// runs counted as one.
	MinCaptionChars int `yaml:"min_caption_chars" json:"min_caption_chars"`
	MaxCaptionChars int `yaml:"max_caption_chars" json:"max_caption_chars"`
	// Languages lists the accepted caption languages (ISO 639-1); empty accepts all.
	// Captions whose language is Undetermined are accepted.
	Languages []string `yaml:"languages" json:"languages"`
	// MinLanguageConfidence is the confidence DetectLanguage must reach before a caption in
	// another language is rejected.
	MinLanguageConfidence float64 `yaml:"min_language_confidence" json:"min_language_confidence"`
	// MinInk is the fraction of pixels that must differ from the dominant colour; images below
	// it are blank or near-uniform.
	MinInk float64 `yaml:"min_ink" json:"min_ink"`
	// IncludeTables keeps records of kind "table".
	IncludeTables bool `yaml:"include_tables" json:"include_tables"`
}

// DefaultParams are the thresholds `eosin build` uses unless configured otherwise.
func DefaultParams() Params {
	return Params{
		MinWidth:              64,
		MinHeight:             64,
		MinAspect:             0.2,
		MaxAspect:             5,
		MinCaptionChars:       16,
		MaxCaptionChars:       4000,
		Languages:             []string{"en"},
		MinLanguageConfidence: 0.3,
		MinInk:                0.005,
	}
}

// Candidate is what the filters look at for one figure.
type Candidate struct {
	Kind    string // "figure" (or empty) or "table"
	Width   int    // image pixels
	Height  int
	Caption string
	// Grey is the decoded image, nil when the bytes could not be decoded (then the blank
	// check rejects it as undecodable).
	Grey *Grey
}

// Rejection says why a candidate was dropped.
type Rejection struct {
	Reason string
	Detail string
}

// Check runs the filters in a fixed order (table, size, aspect ratio, image content, caption
// length, caption language) and returns the first failure; ok is true when all pass.
func (p Params) Check(c Candidate) (r Rejection, ok bool) {
	if c.Kind == "table" && !p.IncludeTables {
		return Rejection{ReasonTable, "tables are excluded (include_tables: false)"}, false
	}
	if c.Width < p.MinWidth || c.Height < p.MinHeight {
		return Rejection{ReasonTooSmall, fmt.Sprintf("%dx%d px, minimum %dx%d", c.Width, c.Height, p.MinWidth, p.MinHeight)}, false
	}
	if c.Height > 0 {
		a := float64(c.Width) / float64(c.Height)
		if (p.MinAspect > 0 && a < p.MinAspect) || (p.MaxAspect > 0 && a > p.MaxAspect) {
			return Rejection{ReasonAspect, fmt.Sprintf("aspect %.3g outside [%g, %g]", a, p.MinAspect, p.MaxAspect)}, false
		}
	}
	if c.Grey == nil {
		return Rejection{ReasonUndecodable, "image bytes could not be decoded"}, false
	}
	if p.MinInk > 0 {
		if u := c.Grey.Uniformity(); u.Ink < p.MinInk {
			return Rejection{ReasonBlank, fmt.Sprintf("%.2f%% of pixels differ from the dominant luma %d (minimum %.2f%%)", 100*u.Ink, u.Mode, 100*p.MinInk)}, false
		}
	}
	n := CaptionLength(c.Caption)
	if n < p.MinCaptionChars {
		return Rejection{ReasonCaptionShort, fmt.Sprintf("%d characters, minimum %d", n, p.MinCaptionChars)}, false
	}
	if p.MaxCaptionChars > 0 && n > p.MaxCaptionChars {
		return Rejection{ReasonCaptionLong, fmt.Sprintf("%d characters, maximum %d", n, p.MaxCaptionChars)}, false
	}
	if len(p.Languages) > 0 {
		l := DetectLanguage(c.Caption)
		if l.Code != Undetermined && l.Confidence >= p.MinLanguageConfidence && !slices.Contains(p.Languages, l.Code) {
			return Rejection{ReasonCaptionLanguage, fmt.Sprintf("caption language %s (confidence %.2f), accepted %s", l.Code, l.Confidence, strings.Join(p.Languages, ","))}, false
		}
	}
	return Rejection{}, true
}

// CaptionLength counts the characters of a caption with leading and trailing space removed and
// inner whitespace runs counted as one.
func CaptionLength(s string) int {
	return utf8.RuneCountInString(strings.Join(strings.Fields(s), " "))
}

// Validate reports inconsistent thresholds.
func (p Params) Validate() error {
	switch {
	case p.MinWidth < 0 || p.MinHeight < 0:
		return fmt.Errorf("min_width/min_height must not be negative")
	case p.MinAspect < 0 || p.MaxAspect < 0:
		return fmt.Errorf("min_aspect/max_aspect must not be negative")
	case p.MaxAspect > 0 && p.MinAspect > p.MaxAspect:
		return fmt.Errorf("min_aspect %g is above max_aspect %g", p.MinAspect, p.MaxAspect)
	case p.MaxCaptionChars > 0 && p.MinCaptionChars > p.MaxCaptionChars:
		return fmt.Errorf("min_caption_chars %d is above max_caption_chars %d", p.MinCaptionChars, p.MaxCaptionChars)
	case p.MinInk < 0 || p.MinInk >= 1:
		return fmt.Errorf("min_ink %g must be in [0, 1)", p.MinInk)
	case p.MinLanguageConfidence < 0 || p.MinLanguageConfidence > 1:
		return fmt.Errorf("min_language_confidence %g must be in [0, 1]", p.MinLanguageConfidence)
	}
	return nil
}
