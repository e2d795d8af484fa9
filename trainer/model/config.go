// Package model is the Qwen2/Qwen2.5 decoder: configuration, parameters in Hugging Face
// layout, forward and backward passes written op by op over a Backend, and batched generation
// with a KV cache. The CPU backend in this package is the reference every other backend is
// checked against.
package model

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config is the part of a Hugging Face config.json the decoder needs.
type Config struct {
	Architectures         []string `json:"architectures,omitempty"`
	ModelType             string   `json:"model_type"`
	HiddenSize            int      `json:"hidden_size"`
	IntermediateSize      int      `json:"intermediate_size"`
	NumHiddenLayers       int      `json:"num_hidden_layers"`
	NumAttentionHeads     int      `json:"num_attention_heads"`
	NumKeyValueHeads      int      `json:"num_key_value_heads"`
	HeadDim               int      `json:"head_dim,omitempty"`
	VocabSize             int      `json:"vocab_size"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	RopeTheta             float64  `json:"rope_theta"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	HiddenAct             string   `json:"hidden_act,omitempty"`
	InitializerRange      float64  `json:"initializer_range,omitempty"`
	TorchDtype            string   `json:"torch_dtype,omitempty"`
	BOSTokenID            *int     `json:"bos_token_id,omitempty"`
	EOSTokenID            any      `json:"eos_token_id,omitempty"`
	UseSlidingWindow      bool     `json:"use_sliding_window"`
	AttentionDropout      float64  `json:"attention_dropout"`
	UseCache              bool     `json:"use_cache"`
}

// HeadDimension is head_dim when set, else hidden_size / num_attention_heads.
func (c *Config) HeadDimension() int {
	if c.HeadDim > 0 {
		return c.HeadDim
	}
	return c.HiddenSize / c.NumAttentionHeads
}

// Validate checks the sizes are consistent and the options are ones this decoder implements.
func (c *Config) Validate() error {
	switch {
	case c.HiddenSize <= 0 || c.IntermediateSize <= 0 || c.NumHiddenLayers <= 0 || c.VocabSize <= 0:
		return fmt.Errorf("config: hidden_size, intermediate_size, num_hidden_layers and vocab_size must be positive")
	case c.NumAttentionHeads <= 0 || c.NumKeyValueHeads <= 0 || c.NumAttentionHeads%c.NumKeyValueHeads != 0:
		return fmt.Errorf("config: num_attention_heads %d must be a positive multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	case c.HeadDimension()%2 != 0 || c.HeadDimension() <= 0:
		return fmt.Errorf("config: head_dim %d must be positive and even", c.HeadDimension())
	case c.HeadDim == 0 && c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("config: hidden_size %d not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.RMSNormEps <= 0 || c.RopeTheta <= 0:
		return fmt.Errorf("config: rms_norm_eps and rope_theta must be positive")
	case c.UseSlidingWindow:
		return fmt.Errorf("config: use_sliding_window is not implemented")
	case c.HiddenAct != "" && c.HiddenAct != "silu":
		return fmt.Errorf("config: hidden_act %q is not implemented (silu only)", c.HiddenAct)
	}
	return nil
}

// ReadConfig reads and validates a config.json. For VL checkpoints the decoder sizes may sit
// under text_config; they are merged over the top level.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig decodes config.json bytes.
func ParseConfig(b []byte) (*Config, error) {
	c := &Config{RMSNormEps: 1e-6, RopeTheta: 10000}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var wrap struct {
		TextConfig json.RawMessage `json:"text_config"`
	}
	if json.Unmarshal(b, &wrap) == nil && len(wrap.TextConfig) > 0 && string(wrap.TextConfig) != "null" {
		if err := json.Unmarshal(wrap.TextConfig, c); err != nil {
			return nil, fmt.Errorf("config: text_config: %w", err)
		}
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// WriteConfig writes config.json so that transformers and vLLM load the checkpoint as
// Qwen2ForCausalLM.
func WriteConfig(path string, c *Config) error {
	cc := *c
	if len(cc.Architectures) == 0 {
		cc.Architectures = []string{"Qwen2ForCausalLM"}
	}
	if cc.ModelType == "" {
		cc.ModelType = "qwen2"
	}
	if cc.HiddenAct == "" {
		cc.HiddenAct = "silu"
	}
	if cc.TorchDtype == "" {
		cc.TorchDtype = "float32"
	}
	if cc.MaxPositionEmbeddings == 0 {
		cc.MaxPositionEmbeddings = 32768
	}
	cc.UseCache = true
	b, err := json.MarshalIndent(&cc, "", "  ")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
