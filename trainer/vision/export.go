package vision

import (
	"encoding/json"
	"fmt"

	"github.com/eosinlab/eosin/trainer/model"
)

// ConfigJSON writes a transformers-4 style config.json for a VLM of decoder config dec and
// vision-language config vl (flat decoder keys, rope_scaling with the M-RoPE sections,
// vision_config, the token ids, the architecture of the generation), which ParseConfig,
// ParseVLConfig and transformers read back as the same model. torchDtype names the weights'
// dtype ("float32", "bfloat16").
func ConfigJSON(dec model.Config, vl VLConfig, torchDtype string) ([]byte, error) {
	arch, mt := "Qwen2_5_VLForConditionalGeneration", model.TypeQwen25VL
	if vl.Vision.Gen == Qwen2VL {
		arch, mt = "Qwen2VLForConditionalGeneration", model.TypeQwen2VL
	}
	if len(vl.RopeScaling.MropeSection) == 0 {
		return nil, fmt.Errorf("vl config: no mrope_section to write")
	}
	v := vl.Vision
	v.ModelType = ""
	v.InChannels, v.InChans = v.Channels(), v.Channels()
	v.PatchSize, v.SpatialPatchSize = v.Patch(), 0
	if v.Gen == Qwen2VL {
		v.SpatialPatchSize = v.PatchSize
	}
	maxPos := dec.MaxPositionEmbeddings
	if maxPos == 0 {
		maxPos = 32768
	}
	act := dec.HiddenAct
	if act == "" {
		act = "silu"
	}
	c := map[string]any{
		"architectures":           []string{arch},
		"model_type":              mt,
		"hidden_size":             dec.HiddenSize,
		"intermediate_size":       dec.IntermediateSize,
		"num_hidden_layers":       dec.NumHiddenLayers,
		"num_attention_heads":     dec.NumAttentionHeads,
		"num_key_value_heads":     dec.NumKeyValueHeads,
		"vocab_size":              dec.VocabSize,
		"max_position_embeddings": maxPos,
		"rms_norm_eps":            dec.RMSNormEps,
		"rope_theta":              dec.RopeTheta,
		"tie_word_embeddings":     dec.TieWordEmbeddings,
		"hidden_act":              act,
		"use_sliding_window":      false,
		"attention_dropout":       0.0,
		"use_cache":               true,
		"torch_dtype":             torchDtype,
		"image_token_id":          vl.ImageTokenID,
		"vision_start_token_id":   vl.VisionStartID,
		"vision_end_token_id":     vl.VisionEndID,
		"rope_scaling":            map[string]any{"type": "mrope", "mrope_section": vl.RopeScaling.MropeSection},
		"vision_config":           v,
	}
	if dec.HeadDim != 0 {
		c["head_dim"] = dec.HeadDim
	}
	if dec.InitializerRange != 0 {
		c["initializer_range"] = dec.InitializerRange
	}
	if dec.BOSTokenID != nil {
		c["bos_token_id"] = *dec.BOSTokenID
	}
	if dec.EOSTokenID != nil {
		c["eos_token_id"] = dec.EOSTokenID
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("vl config: %w", err)
	}
	return append(b, '\n'), nil
}

// WithTorchDtype returns config.json bytes with the weights' dtype set: the dtype key of a
// transformers-5 config ("dtype") when present, else torch_dtype. Every other key keeps its
// text.
func WithTorchDtype(configJSON []byte, torchDtype string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(configJSON, &m); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	v, _ := json.Marshal(torchDtype)
	key := "torch_dtype"
	if _, ok := m["dtype"]; ok {
		key = "dtype"
	}
	m[key] = v
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return append(b, '\n'), nil
}

// JSON writes the processor as preprocessor_config.json. The keys of base (the checkpoint's
// own file, or nil) are kept except those the processor sets: min_pixels, max_pixels (and
// size, when base has it), patch_size, merge_size, temporal_patch_size, image_mean and
// image_std; without base it is the file the published Qwen2-VL processors carry.
func (p Processor) JSON(base []byte) ([]byte, error) {
	p = p.withDefaults()
	m := map[string]any{}
	if base != nil {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(base, &raw); err != nil {
			return nil, fmt.Errorf("processor: %w", err)
		}
		for k, v := range raw {
			m[k] = v
		}
		if _, ok := raw["size"]; ok {
			m["size"] = map[string]int{"shortest_edge": p.MinPixels, "longest_edge": p.MaxPixels}
		}
	} else {
		m["image_processor_type"] = "Qwen2VLImageProcessor"
		m["processor_class"] = "Qwen2VLProcessor" // Qwen2.5-VL checkpoints use the same processor class for images
		m["do_resize"], m["do_rescale"], m["do_normalize"], m["do_convert_rgb"] = true, true, true, true
		m["rescale_factor"] = 1.0 / 255
		m["resample"] = 3 // PIL bicubic
	}
	m["min_pixels"], m["max_pixels"] = p.MinPixels, p.MaxPixels
	m["patch_size"], m["merge_size"], m["temporal_patch_size"] = p.PatchSize, p.MergeSize, p.TemporalPatchSize
	m["image_mean"], m["image_std"] = p.ImageMean, p.ImageStd
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("processor: %w", err)
	}
	return append(b, '\n'), nil
}
