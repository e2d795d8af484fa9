// Package model is the Qwen2/Qwen2.5 decoder: configuration, parameters in Hugging Face
// layout, forward and backward passes written op by op over a Backend, and batched generation
// with a KV cache. The CPU backend in this package is the reference every other backend is
// checked against.
package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
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

	// MRoPESection is the mrope_section of the rotary settings (temporal, height, width
	// frequency counts) of a Qwen2-VL / Qwen2.5-VL config; nil for a text model. It is
	// resolved by ParseConfig and not written by WriteConfig.
	MRoPESection []int `json:"-"`
}

// The model types ParseConfig knows, with transformers' class defaults for absent keys.
const (
	TypeQwen2    = "qwen2"
	TypeQwen2VL  = "qwen2_vl"
	TypeQwen25VL = "qwen2_5_vl"
)

// Defaults returns the decoder configuration transformers builds for modelType when
// config.json gives no value: Qwen2Config for qwen2, the Qwen2-VL / Qwen2.5-VL text config
// for qwen2_vl and qwen2_5_vl. The empty model type (a hand-written config, e.g. model.init)
// gets rms_norm_eps 1e-6 and rope_theta 10000 and no sizes; num_key_value_heads then
// defaults to num_attention_heads.
func Defaults(modelType string) (Config, error) {
	switch modelType {
	case "":
		return Config{RMSNormEps: 1e-6, RopeTheta: 10000}, nil
	case TypeQwen2:
		return Config{ModelType: modelType, VocabSize: 151936, HiddenSize: 4096, IntermediateSize: 22016,
			NumHiddenLayers: 32, NumAttentionHeads: 32, NumKeyValueHeads: 32, HiddenAct: "silu",
			MaxPositionEmbeddings: 32768, InitializerRange: 0.02, RMSNormEps: 1e-6, RopeTheta: 10000,
			UseCache: true}, nil
	case TypeQwen2VL, TypeQwen25VL:
		return Config{ModelType: modelType, VocabSize: 152064, HiddenSize: 8192, IntermediateSize: 29568,
			NumHiddenLayers: 80, NumAttentionHeads: 64, NumKeyValueHeads: 8, HiddenAct: "silu",
			MaxPositionEmbeddings: 32768, InitializerRange: 0.02, RMSNormEps: 1e-5, RopeTheta: 1e6,
			UseCache: true}, nil
	}
	return Config{}, fmt.Errorf("config: model_type %q is not supported (%s, %s, %s)", modelType, TypeQwen2, TypeQwen2VL, TypeQwen25VL)
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
	if c.MRoPESection != nil {
		s := 0
		for _, v := range c.MRoPESection {
			if v <= 0 {
				return fmt.Errorf("config: mrope_section %v must hold positive counts", c.MRoPESection)
			}
			s += v
		}
		if len(c.MRoPESection) != 3 || s != c.HeadDimension()/2 {
			return fmt.Errorf("config: mrope_section %v must be three counts summing to head_dim/2 = %d", c.MRoPESection, c.HeadDimension()/2)
		}
	}
	return nil
}

// ReadConfig reads and validates a config.json (see ParseConfig).
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig decodes config.json bytes as transformers 4.x and 5.x write them for the model
// types qwen2, qwen2_vl and qwen2_5_vl: decoder keys flat at the top level or nested under
// text_config (nested values win), the rotary settings in rope_theta and rope_scaling
// (4.x) or rope_parameters (5.x, rope_theta inside), and transformers' defaults for that
// model type where a key is absent (see Defaults). Rotary scaling other than the default
// (and M-RoPE, which computes default frequencies) is refused with the key and value.
func ParseConfig(b []byte) (*Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if top == nil {
		return nil, fmt.Errorf("config: not a JSON object")
	}
	var modelType string
	if err := decodeKey(top, "model_type", &modelType); err != nil {
		return nil, err
	}
	def, err := Defaults(modelType)
	if err != nil {
		return nil, err
	}
	c := &def
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	text, err := subObject(top, "text_config")
	if err != nil {
		return nil, err
	}
	if text != nil {
		if err := json.Unmarshal(top["text_config"], c); err != nil {
			return nil, fmt.Errorf("config: text_config: %w", err)
		}
		c.ModelType = modelType // text_config names its own sub-type
	}
	// num_key_value_heads: null means num_attention_heads (as in transformers); absent means
	// the model type's default, or num_attention_heads for a config without model_type.
	kv, ok := text["num_key_value_heads"]
	if !ok {
		kv, ok = top["num_key_value_heads"]
	}
	if (ok && isNull(kv)) || (!ok && modelType == "") {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	layers := []map[string]json.RawMessage{top}
	if text != nil {
		layers = []map[string]json.RawMessage{text, top}
	}
	for _, m := range layers {
		var types []string
		if err := decodeKey(m, "layer_types", &types); err != nil {
			return nil, err
		}
		for i, t := range types {
			if t != "full_attention" {
				return nil, fmt.Errorf("config: layer_types[%d] %q is not implemented (full_attention only)", i, t)
			}
		}
	}
	if err := resolveRope(c, layers, def.RopeTheta); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// resolveRope sets c.RopeTheta and c.MRoPESection from the rotary keys of the first layer
// (text_config, then the top level) that has them.
func resolveRope(c *Config, layers []map[string]json.RawMessage, defTheta float64) error {
	prefix := func(l int) string {
		if len(layers) == 2 && l == 0 {
			return "text_config."
		}
		return ""
	}
	// The flat rope_theta (4.x), innermost first.
	var flat *float64
	var flatKey string
	for l, m := range layers {
		if raw, ok := m["rope_theta"]; ok && !isNull(raw) {
			var v float64
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("config: %srope_theta: %w", prefix(l), err)
			}
			flat, flatKey = &v, prefix(l)+"rope_theta"
			break
		}
	}
	// The rotary dict: rope_scaling wins over rope_parameters, as in transformers 5.
	var dict map[string]json.RawMessage
	var dictKey string
	for l, m := range layers {
		for _, k := range []string{"rope_scaling", "rope_parameters"} {
			sub, err := subObject(m, k)
			if err != nil {
				return err
			}
			if len(sub) > 0 {
				dict, dictKey = sub, prefix(l)+k
				break
			}
		}
		if dict != nil {
			break
		}
	}
	c.RopeTheta = defTheta
	if flat != nil {
		c.RopeTheta = *flat
	}
	if dict == nil {
		return nil
	}
	// transformers 5 may key the dict by attention layer type.
	if _, ok := dict["full_attention"]; ok && onlyLayerTypeKeys(dict) {
		sub, err := subObject(dict, "full_attention")
		if err != nil {
			return err
		}
		dict, dictKey = sub, dictKey+".full_attention"
	}
	typ, typKey := "default", ""
	for _, k := range []string{"rope_type", "type"} {
		if raw, ok := dict[k]; ok && !isNull(raw) {
			if err := json.Unmarshal(raw, &typ); err != nil {
				return fmt.Errorf("config: %s.%s: %w", dictKey, k, err)
			}
			typKey = dictKey + "." + k
			break
		}
	}
	if typ != "default" && typ != "mrope" {
		return fmt.Errorf("config: %s %q is not implemented (only default and mrope rotary encodings are computed)", typKey, typ)
	}
	if raw, ok := dict["partial_rotary_factor"]; ok && !isNull(raw) {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f != 1 {
			return fmt.Errorf("config: %s.partial_rotary_factor %s is not implemented (1 only)", dictKey, raw)
		}
	}
	if raw, ok := dict["mrope_interleaved"]; ok && !isNull(raw) && !bytes.Equal(bytes.TrimSpace(raw), []byte("false")) {
		return fmt.Errorf("config: %s.mrope_interleaved %s is not implemented (sectioned M-RoPE only)", dictKey, raw)
	}
	if raw, ok := dict["rope_theta"]; ok && !isNull(raw) {
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("config: %s.rope_theta: %w", dictKey, err)
		}
		if flat != nil && *flat != v {
			return fmt.Errorf("config: %s %g and %s.rope_theta %g disagree", flatKey, *flat, dictKey, v)
		}
		c.RopeTheta = v
	}
	if raw, ok := dict["mrope_section"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &c.MRoPESection); err != nil {
			return fmt.Errorf("config: %s.mrope_section: %w", dictKey, err)
		}
		if c.MRoPESection == nil {
			c.MRoPESection = []int{}
		}
	}
	return nil
}

func onlyLayerTypeKeys(m map[string]json.RawMessage) bool {
	for k := range m {
		if !slices.Contains([]string{"full_attention", "sliding_attention"}, k) {
			return false
		}
	}
	return true
}

// subObject returns m[key] decoded as an object; nil when absent or null.
func subObject(m map[string]json.RawMessage, key string) (map[string]json.RawMessage, error) {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var sub map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sub); err != nil {
		return nil, fmt.Errorf("config: %s: %w", key, err)
	}
	return sub, nil
}

func decodeKey(m map[string]json.RawMessage, key string, v any) error {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("config: %s: %w", key, err)
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

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
