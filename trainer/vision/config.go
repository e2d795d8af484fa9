package vision

import (
	"encoding/json"
	"fmt"
	"os"
)

// Generation names the vision tower variant.
type Generation int

// The two tower generations.
const (
	// Qwen2VL: LayerNorm with bias, QuickGELU MLP, full attention per image.
	Qwen2VL Generation = iota
	// Qwen25VL: RMSNorm, SwiGLU MLP with biases, window attention except in the
	// full-attention blocks, window reordering of the patches.
	Qwen25VL
)

// Config is the vision_config of a Qwen2-VL / Qwen2.5-VL config.json (both spellings of the
// keys), with the generation taken from the top-level model_type.
type Config struct {
	ModelType           string  `json:"model_type,omitempty"`
	Depth               int     `json:"depth"`
	EmbedDim            int     `json:"embed_dim,omitempty"`
	HiddenSize          int     `json:"hidden_size"`
	OutHiddenSize       int     `json:"out_hidden_size,omitempty"`
	NumHeads            int     `json:"num_heads"`
	MLPRatio            float64 `json:"mlp_ratio,omitempty"`
	IntermediateSize    int     `json:"intermediate_size,omitempty"`
	InChans             int     `json:"in_chans,omitempty"`
	InChannels          int     `json:"in_channels,omitempty"`
	PatchSize           int     `json:"patch_size,omitempty"`
	SpatialPatchSize    int     `json:"spatial_patch_size,omitempty"`
	SpatialMergeSize    int     `json:"spatial_merge_size"`
	TemporalPatchSize   int     `json:"temporal_patch_size"`
	WindowSize          int     `json:"window_size,omitempty"`
	FullAttBlockIndexes []int   `json:"fullatt_block_indexes,omitempty"`
	HiddenAct           string  `json:"hidden_act,omitempty"`
	TokensPerSecond     float64 `json:"tokens_per_second,omitempty"`

	// Gen is derived from the top-level model_type (not serialised).
	Gen Generation `json:"-"`
}

// Width is the transformer width of the tower (embed_dim in Qwen2-VL, hidden_size in
// Qwen2.5-VL).
func (c *Config) Width() int {
	if c.Gen == Qwen2VL && c.EmbedDim > 0 {
		return c.EmbedDim
	}
	return c.HiddenSize
}

// Out is the merger's output size, the language model's hidden size.
func (c *Config) Out() int {
	if c.Gen == Qwen2VL {
		return c.HiddenSize
	}
	return c.OutHiddenSize
}

// MLPDim is the hidden size of the blocks' MLP.
func (c *Config) MLPDim() int {
	if c.Gen == Qwen2VL {
		return int(float64(c.Width()) * c.MLPRatio)
	}
	return c.IntermediateSize
}

// Channels is the number of input channels (3).
func (c *Config) Channels() int { return max(c.InChans, c.InChannels) }

// Patch is the spatial patch size (14).
func (c *Config) Patch() int { return max(c.PatchSize, c.SpatialPatchSize) }

// PatchDim is the length of one pixel_values row.
func (c *Config) PatchDim() int {
	p := c.Patch()
	return c.Channels() * c.TemporalPatchSize * p * p
}

// HeadDim is the attention head size.
func (c *Config) HeadDim() int { return c.Width() / c.NumHeads }

// FullAttention tells whether block j attends over whole images (always in Qwen2-VL).
func (c *Config) FullAttention(j int) bool {
	if c.Gen == Qwen2VL {
		return true
	}
	for _, k := range c.FullAttBlockIndexes {
		if k == j {
			return true
		}
	}
	return false
}

// MergerWindow is the window side in merged tokens (window_size / merge / patch).
func (c *Config) MergerWindow() int {
	return c.WindowSize / c.SpatialMergeSize / c.Patch()
}

// Validate checks the sizes.
func (c *Config) Validate() error {
	switch {
	case c.Depth <= 0 || c.Width() <= 0 || c.NumHeads <= 0 || c.Width()%c.NumHeads != 0:
		return fmt.Errorf("vision config: depth, width and heads must be positive, width a multiple of heads")
	case c.HeadDim()%4 != 0:
		return fmt.Errorf("vision config: head dim %d must be a multiple of 4 (2-D rotary)", c.HeadDim())
	case c.Out() <= 0 || c.MLPDim() <= 0:
		return fmt.Errorf("vision config: output size %d and MLP size %d must be positive", c.Out(), c.MLPDim())
	case c.Channels() <= 0 || c.Patch() <= 0 || c.TemporalPatchSize <= 0 || c.SpatialMergeSize != 2:
		return fmt.Errorf("vision config: channels, patch sizes must be positive and spatial_merge_size 2")
	case c.Gen == Qwen25VL && c.MergerWindow() <= 0:
		return fmt.Errorf("vision config: window_size %d too small", c.WindowSize)
	case c.Gen == Qwen2VL && c.HiddenAct != "" && c.HiddenAct != "quick_gelu":
		return fmt.Errorf("vision config: hidden_act %q not implemented for Qwen2-VL (quick_gelu)", c.HiddenAct)
	case c.Gen == Qwen25VL && c.HiddenAct != "" && c.HiddenAct != "silu":
		return fmt.Errorf("vision config: hidden_act %q not implemented for Qwen2.5-VL (silu)", c.HiddenAct)
	}
	return nil
}

// VLConfig is the vision-language part of a VL config.json.
type VLConfig struct {
	ModelType     string `json:"model_type"`
	Vision        Config `json:"vision_config"`
	ImageTokenID  int32  `json:"image_token_id"`
	VisionStartID int32  `json:"vision_start_token_id"`
	VisionEndID   int32  `json:"vision_end_token_id"`
	RopeScaling   struct {
		Type         string `json:"type"`
		MropeSection []int  `json:"mrope_section"`
	} `json:"rope_scaling"`
}

// ParseVLConfig decodes the vision-language keys of a config.json (the decoder part is
// read by model.ParseConfig). Token ids default to Qwen's (151655, 151652, 151653).
func ParseVLConfig(b []byte) (*VLConfig, error) {
	c := &VLConfig{ImageTokenID: 151655, VisionStartID: 151652, VisionEndID: 151653}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("vl config: %w", err)
	}
	var text struct {
		TextConfig *struct {
			RopeScaling *struct {
				MropeSection []int `json:"mrope_section"`
			} `json:"rope_scaling"`
		} `json:"text_config"`
	}
	if json.Unmarshal(b, &text) == nil && text.TextConfig != nil && text.TextConfig.RopeScaling != nil && len(c.RopeScaling.MropeSection) == 0 {
		c.RopeScaling.MropeSection = text.TextConfig.RopeScaling.MropeSection
	}
	switch c.ModelType {
	case "qwen2_vl":
		c.Vision.Gen = Qwen2VL
	case "qwen2_5_vl":
		c.Vision.Gen = Qwen25VL
	default:
		return nil, fmt.Errorf("vl config: model_type %q is not qwen2_vl or qwen2_5_vl", c.ModelType)
	}
	if c.Vision.Gen == Qwen2VL && c.Vision.MLPRatio == 0 {
		c.Vision.MLPRatio = 4
	}
	if c.Vision.TemporalPatchSize == 0 {
		c.Vision.TemporalPatchSize = 2
	}
	if c.Vision.SpatialMergeSize == 0 {
		c.Vision.SpatialMergeSize = 2
	}
	if len(c.RopeScaling.MropeSection) == 0 {
		return nil, fmt.Errorf("vl config: rope_scaling.mrope_section missing")
	}
	if err := c.Vision.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// ReadVLConfig reads config.json's vision-language keys.
func ReadVLConfig(path string) (*VLConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vl config: %w", err)
	}
	return ParseVLConfig(b)
}
