package model

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The published config.json of each checkpoint (testdata/hf/<name>/config.json) and
// transformers-5 style rewrites of some (-tf5: rope_parameters, no top-level rope_theta,
// nested text_config for VL; -tf453: flat keys plus text_config) give the shapes of the
// published models; the parameter counts are those of the checkpoints (decoder only; the VL
// towers are checked in package vision).
func TestPublishedConfigs(t *testing.T) {
	type shape struct {
		hidden, layers, heads, kv, headDim, inter, vocab int
		tied                                             bool
		theta                                            float64
		mrope                                            string
		params                                           int
	}
	qwen2_05 := shape{896, 24, 14, 2, 64, 4864, 151936, true, 1e6, "[]", 494032768}
	qwen2_15 := shape{1536, 28, 12, 2, 128, 8960, 151936, true, 1e6, "[]", 1543714304}
	qwen25_3 := shape{2048, 36, 16, 2, 128, 11008, 151936, true, 1e6, "[]", 3085938688}
	qwen25_7 := shape{3584, 28, 28, 4, 128, 18944, 152064, false, 1e6, "[]", 7615616512}
	vl := func(s shape) shape { s.mrope = "[16 24 24]"; return s }
	for _, c := range []struct {
		name string
		want shape
	}{
		{"Qwen2-0.5B", qwen2_05},
		{"Qwen2-1.5B", qwen2_15},
		{"Qwen2.5-0.5B-Instruct", qwen2_05},
		{"Qwen2.5-0.5B-Instruct-tf5", qwen2_05},
		{"Qwen2.5-3B-Instruct", qwen25_3},
		{"Qwen2.5-7B-Instruct", qwen25_7},
		{"Qwen2.5-7B-Instruct-tf5", qwen25_7},
		{"Qwen2-VL-2B-Instruct", vl(qwen2_15)},
		{"Qwen2-VL-7B-Instruct", vl(qwen25_7)},
		{"Qwen2-VL-7B-Instruct-tf5", vl(qwen25_7)},
		{"Qwen2.5-VL-3B-Instruct", vl(qwen25_3)},
		{"Qwen2.5-VL-3B-Instruct-tf5", vl(qwen25_3)},
		{"Qwen2.5-VL-7B-Instruct", vl(qwen25_7)},
		{"Qwen2.5-VL-7B-Instruct-tf453", vl(qwen25_7)},
		{"Qwen2.5-VL-7B-Instruct-tf5", vl(qwen25_7)},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ReadConfig(filepath.Join("testdata", "hf", c.name, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			got := shape{cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDimension(),
				cfg.IntermediateSize, cfg.VocabSize, cfg.TieWordEmbeddings, cfg.RopeTheta, fmt.Sprint(cfg.MRoPESection), NumParams(*cfg)}
			if cfg.MRoPESection == nil {
				got.mrope = "[]"
			}
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
			if cfg.RMSNormEps != 1e-6 {
				t.Errorf("rms_norm_eps %g, want 1e-6", cfg.RMSNormEps)
			}
			lm := false
			for _, tn := range Layout(*cfg) {
				lm = lm || tn.Name == "lm_head.weight"
			}
			if lm == c.want.tied {
				t.Errorf("lm_head.weight listed: %v with tie_word_embeddings %v", lm, c.want.tied)
			}
		})
	}
}

// Absent keys take transformers' defaults for the model type; rotary settings come from
// rope_theta, rope_scaling or rope_parameters, flat or nested; what the decoder does not
// compute is refused with the key and value.
func TestConfigDefaultsAndRope(t *testing.T) {
	const sizes = `"hidden_size":64,"intermediate_size":96,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":50`
	for _, c := range []struct {
		name, json string
		theta, eps float64
		kv         int
		tied       bool
		mrope      string
	}{
		{"qwen2 defaults", `{"model_type":"qwen2",` + sizes + `}`, 1e4, 1e-6, 32 /* invalid with 4 heads */, false, ""},
		{"qwen2 kv null", `{"model_type":"qwen2","num_key_value_heads":null,` + sizes + `}`, 1e4, 1e-6, 4, false, ""},
		{"no model_type", `{` + sizes + `}`, 1e4, 1e-6, 4, false, ""},
		{"qwen2 rope_parameters", `{"model_type":"qwen2",` + sizes + `,"num_key_value_heads":2,"rope_parameters":{"rope_type":"default","rope_theta":5e5}}`, 5e5, 1e-6, 2, false, ""},
		{"qwen2 rope_scaling default", `{"model_type":"qwen2",` + sizes + `,"num_key_value_heads":2,"rope_theta":3e5,"rope_scaling":{"type":"default"}}`, 3e5, 1e-6, 2, false, ""},
		{"qwen2 per layer type", `{"model_type":"qwen2",` + sizes + `,"num_key_value_heads":2,"rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":2e5}}}`, 2e5, 1e-6, 2, false, ""},
		{"qwen2 theta agrees", `{"model_type":"qwen2",` + sizes + `,"num_key_value_heads":2,"rope_theta":2e5,"rope_parameters":{"rope_theta":2e5}}`, 2e5, 1e-6, 2, false, ""},
		{"qwen2_vl defaults", `{"model_type":"qwen2_vl",` + sizes + `,"num_key_value_heads":2,"rope_scaling":{"type":"mrope","mrope_section":[2,3,3]}}`, 1e6, 1e-5, 2, false, "[2 3 3]"},
		{"qwen2_5_vl nested", `{"model_type":"qwen2_5_vl","text_config":{"model_type":"qwen2_5_vl_text",` + sizes + `,"num_key_value_heads":2,
			"tie_word_embeddings":true,"rope_parameters":{"rope_type":"default","mrope_section":[2,3,3]}}}`, 1e6, 1e-5, 2, true, "[2 3 3]"},
		{"qwen2_5_vl nested kv default", `{"model_type":"qwen2_5_vl","text_config":{"hidden_size":64,"intermediate_size":96,"num_hidden_layers":2,
			"num_attention_heads":8,"vocab_size":50,"rope_parameters":{"rope_theta":7e5,"mrope_section":[1,1,2]}}}`, 7e5, 1e-5, 8, false, "[1 1 2]"},
		{"nested wins over flat", `{"model_type":"qwen2_5_vl","hidden_size":128,"rms_norm_eps":1e-6,"text_config":{` + sizes + `,"num_key_value_heads":2,
			"rms_norm_eps":1e-5,"rope_scaling":{"rope_type":"default","mrope_section":[2,3,3]}},"rope_scaling":{"type":"mrope","mrope_section":[4,2,2]}}`, 1e6, 1e-5, 2, false, "[2 3 3]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(c.json))
			if c.kv == 32 {
				if err == nil || !strings.Contains(err.Error(), "num_key_value_heads 32") {
					t.Fatalf("qwen2 without num_key_value_heads: %v, want the default 32 refused for 4 heads", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mrope := ""
			if cfg.MRoPESection != nil {
				mrope = fmt.Sprint(cfg.MRoPESection)
			}
			if cfg.RopeTheta != c.theta || cfg.RMSNormEps != c.eps || cfg.NumKeyValueHeads != c.kv || cfg.TieWordEmbeddings != c.tied || mrope != c.mrope {
				t.Errorf("theta %g eps %g kv %d tied %v mrope %q, want %g %g %d %v %q", cfg.RopeTheta, cfg.RMSNormEps,
					cfg.NumKeyValueHeads, cfg.TieWordEmbeddings, mrope, c.theta, c.eps, c.kv, c.tied, c.mrope)
			}
		})
	}
	for _, c := range []struct{ json, want string }{
		{`{"model_type":"qwen2",` + sizes + `,"rope_scaling":{"type":"yarn","factor":4.0,"original_max_position_embeddings":32768}}`, `rope_scaling.type "yarn"`},
		{`{"model_type":"qwen2",` + sizes + `,"rope_scaling":{"rope_type":"dynamic","factor":2.0}}`, `rope_scaling.rope_type "dynamic"`},
		{`{"model_type":"qwen2",` + sizes + `,"rope_parameters":{"rope_type":"linear","factor":2.0,"rope_theta":1e6}}`, `rope_parameters.rope_type "linear"`},
		{`{"model_type":"qwen2_5_vl","text_config":{` + sizes + `,"rope_parameters":{"rope_type":"yarn","factor":4,"mrope_section":[2,3,3]}}}`, `text_config.rope_parameters.rope_type "yarn"`},
		{`{"model_type":"qwen2",` + sizes + `,"rope_parameters":{"rope_type":"default","partial_rotary_factor":0.5}}`, `partial_rotary_factor 0.5`},
		{`{"model_type":"qwen2",` + sizes + `,"rope_theta":1e4,"rope_parameters":{"rope_theta":1e6}}`, `rope_theta 10000 and rope_parameters.rope_theta 1e+06 disagree`},
		{`{"model_type":"qwen2",` + sizes + `,"layer_types":["full_attention","sliding_attention"]}`, `layer_types[1] "sliding_attention"`},
		{`{"model_type":"qwen3",` + sizes + `}`, `model_type "qwen3" is not supported`},
		{`{"model_type":"qwen2_vl",` + sizes + `,"num_key_value_heads":2,"rope_scaling":{"type":"mrope","mrope_section":[2,2,2]}}`, `mrope_section [2 2 2]`},
		{`[1,2]`, `config:`},
	} {
		if _, err := ParseConfig([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s", c.json, err, c.want)
		}
	}
}

// The testdata configs are the published texts: every directory has a config.json that
// parses, so a renamed or broken file fails here rather than silently shrinking the table.
func TestPublishedConfigFiles(t *testing.T) {
	es, err := os.ReadDir(filepath.Join("testdata", "hf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 15 {
		t.Fatalf("%d configs in testdata/hf", len(es))
	}
	for _, e := range es {
		if _, err := ReadConfig(filepath.Join("testdata", "hf", e.Name(), "config.json")); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
}
