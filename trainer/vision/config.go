package vision

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/eosinlab/eosin/trainer/model"
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
	// RopeScaling holds the decoder's M-RoPE sections, resolved by model.ParseConfig from
	// rope_scaling or rope_parameters, flat or under text_config.
	RopeScaling struct {
		Type         string
		MropeSection []int
	} `json:"-"`
}

// VisionDefaults returns the vision_config transformers builds for a generation when
// config.json gives no value (Qwen2VLVisionConfig, Qwen2_5_VLVisionConfig).
func VisionDefaults(gen Generation) Config {
	if gen == Qwen2VL {
		return Config{Gen: gen, Depth: 32, EmbedDim: 1280, HiddenSize: 3584, HiddenAct: "quick_gelu", MLPRatio: 4,
			NumHeads: 16, InChannels: 3, PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2}
	}
	return Config{Gen: gen, Depth: 32, HiddenSize: 3584, HiddenAct: "silu", IntermediateSize: 3420, NumHeads: 16,
		InChannels: 3, PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2, TokensPerSecond: 4,
		WindowSize: 112, OutHiddenSize: 3584, FullAttBlockIndexes: []int{7, 15, 23, 31}}
}

// ParseVLConfig decodes the vision-language keys of a config.json as transformers 4.x and
// 5.x write them: vision_config over transformers' defaults for the generation (in_chans
// and spatial_patch_size, which transformers ignores, must agree with in_channels and
// patch_size when present), the token ids (default Qwen's 151655, 151652, 151653) and the
// decoder's mrope_section, which must be present. The decoder part is checked by
// model.ParseConfig.
func ParseVLConfig(b []byte) (*VLConfig, error) {
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("vl config: %w", err)
	}
	var gen Generation
	switch head.ModelType {
	case model.TypeQwen2VL:
		gen = Qwen2VL
	case model.TypeQwen25VL:
		gen = Qwen25VL
	default:
		return nil, fmt.Errorf("vl config: model_type %q is not qwen2_vl or qwen2_5_vl", head.ModelType)
	}
	c := &VLConfig{ImageTokenID: 151655, VisionStartID: 151652, VisionEndID: 151653, Vision: VisionDefaults(gen)}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("vl config: %w", err)
	}
	c.Vision.Gen = gen
	v := &c.Vision
	if v.InChans != 0 && v.InChans != v.InChannels {
		return nil, fmt.Errorf("vl config: vision_config.in_chans %d differs from in_channels %d", v.InChans, v.InChannels)
	}
	if v.SpatialPatchSize != 0 && v.SpatialPatchSize != v.PatchSize {
		return nil, fmt.Errorf("vl config: vision_config.spatial_patch_size %d differs from patch_size %d", v.SpatialPatchSize, v.PatchSize)
	}
	dec, err := model.ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("vl config: %w", err)
	}
	if len(dec.MRoPESection) == 0 {
		return nil, fmt.Errorf("vl config: mrope_section missing (rope_scaling or rope_parameters, flat or under text_config)")
	}
	c.RopeScaling.Type = "mrope"
	c.RopeScaling.MropeSection = dec.MRoPESection
	if err := c.Vision.Validate(); err != nil {
		return nil, fmt.Errorf("vl config: %w", err)
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
