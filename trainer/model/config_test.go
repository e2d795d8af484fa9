package model

import (
	"strings"
	"testing"
)

// The published Qwen2.5-0.5B config.json (text fields) and its known parameter count.
const qwen25_05b = `{
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
  "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936
}`

func TestQwenConfigLayout(t *testing.T) {
	c, err := ParseConfig([]byte(qwen25_05b))
	if err != nil {
		t.Fatal(err)
	}
	if c.HeadDimension() != 64 || !c.TieWordEmbeddings || c.RopeTheta != 1e6 {
		t.Errorf("parsed %+v", c)
	}
	// 494,032,768 parameters: embeddings 151936·896 + 24 layers · 14,912,384 + final norm 896.
	if n := NumParams(*c); n != 494032768 {
		t.Errorf("NumParams = %d, want 494032768", n)
	}
	names := map[string][]int{}
	for _, tn := range Layout(*c) {
		names[tn.Name] = tn.Shape
	}
	want := map[string][]int{
		"model.embed_tokens.weight":                      {151936, 896},
		"model.layers.23.self_attn.q_proj.weight":        {896, 896},
		"model.layers.23.self_attn.k_proj.bias":          {128},
		"model.layers.0.self_attn.o_proj.weight":         {896, 896},
		"model.layers.0.mlp.down_proj.weight":            {896, 4864},
		"model.layers.5.post_attention_layernorm.weight": {896},
		"model.norm.weight":                              {896},
	}
	for n, sh := range want {
		if got := names[n]; len(got) != len(sh) || got[0] != sh[0] {
			t.Errorf("%s: shape %v, want %v", n, got, sh)
		}
	}
	if _, ok := names["lm_head.weight"]; ok {
		t.Error("tied model lists lm_head.weight")
	}
	// VL checkpoints keep the decoder sizes in text_config.
	vl, err := ParseConfig([]byte(`{"model_type":"qwen2_5_vl","text_config":{"hidden_size":2048,"intermediate_size":11008,
		"num_hidden_layers":36,"num_attention_heads":16,"num_key_value_heads":2,"vocab_size":151936,"rope_theta":1000000,
		"tie_word_embeddings":true}}`))
	if err != nil || vl.HiddenSize != 2048 || vl.HeadDimension() != 128 {
		t.Errorf("VL config: %+v %v", vl, err)
	}
	for _, bad := range []string{
		`{"hidden_size":10,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":3,"num_key_value_heads":2,"vocab_size":5}`,
		`{"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":5,"use_sliding_window":true}`,
		`{"hidden_size":8,"intermediate_size":4,"num_hidden_layers":1,"num_attention_heads":2,"vocab_size":5,"hidden_act":"gelu"}`,
	} {
		if _, err := ParseConfig([]byte(bad)); err == nil || !strings.Contains(err.Error(), "config") {
			t.Errorf("accepted %s (%v)", bad, err)
		}
	}
}
