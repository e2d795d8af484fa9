package vision

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/trainer/model"
	"github.com/eosinlab/eosin/trainer/safetensors"
)

// config.json shapes of the published checkpoints (vision_config as in Qwen2-VL-2B-Instruct
// and Qwen2.5-VL-3B-Instruct; the text part abbreviated to what the decoder reads).
const (
	qwen2VLConfig = `{"architectures":["Qwen2VLForConditionalGeneration"],"model_type":"qwen2_vl","hidden_size":1536,
"intermediate_size":8960,"num_hidden_layers":28,"num_attention_heads":12,"num_key_value_heads":2,"vocab_size":151936,
"rms_norm_eps":1e-6,"rope_theta":1000000,"tie_word_embeddings":true,"image_token_id":151655,"vision_start_token_id":151652,
"vision_end_token_id":151653,"rope_scaling":{"type":"mrope","mrope_section":[16,24,24]},
"vision_config":{"depth":32,"embed_dim":1280,"mlp_ratio":4,"num_heads":16,"in_chans":3,"hidden_size":1536,"patch_size":14,
"spatial_merge_size":2,"spatial_patch_size":14,"temporal_patch_size":2}}`
	qwen25VLConfig = `{"architectures":["Qwen2_5_VLForConditionalGeneration"],"model_type":"qwen2_5_vl","hidden_size":2048,
"intermediate_size":11008,"num_hidden_layers":36,"num_attention_heads":16,"num_key_value_heads":2,"vocab_size":151936,
"rms_norm_eps":1e-6,"rope_theta":1000000,"tie_word_embeddings":true,"image_token_id":151655,"vision_start_token_id":151652,
"vision_end_token_id":151653,"rope_scaling":{"type":"mrope","mrope_section":[16,24,24]},
"vision_config":{"depth":32,"hidden_act":"silu","hidden_size":1280,"intermediate_size":3420,"num_heads":16,"in_chans":3,
"out_hidden_size":2048,"patch_size":14,"spatial_merge_size":2,"spatial_patch_size":14,"window_size":112,
"fullatt_block_indexes":[7,15,23,31],"tokens_per_second":2,"temporal_patch_size":2}}`
)

// The layouts derived from the published configs have the reference shapes (qwen2.md §5–6).
func TestPublishedLayouts(t *testing.T) {
	for _, c := range []struct {
		cfg    string
		shapes map[string]string
		full   []int
	}{
		{qwen2VLConfig, map[string]string{
			"visual.patch_embed.proj.weight": "[1280 3 2 14 14]", "visual.blocks.31.attn.qkv.weight": "[3840 1280]",
			"visual.blocks.0.mlp.fc1.weight": "[5120 1280]", "visual.blocks.0.mlp.fc2.bias": "[1280]",
			"visual.blocks.0.norm1.bias": "[1280]", "visual.merger.ln_q.bias": "[1280]",
			"visual.merger.mlp.0.weight": "[5120 5120]", "visual.merger.mlp.2.weight": "[1536 5120]"}, nil},
		{qwen25VLConfig, map[string]string{
			"visual.patch_embed.proj.weight": "[1280 3 2 14 14]", "visual.blocks.0.mlp.gate_proj.weight": "[3420 1280]",
			"visual.blocks.0.mlp.down_proj.bias": "[1280]", "visual.merger.ln_q.weight": "[1280]",
			"visual.merger.mlp.2.weight": "[2048 5120]", "visual.merger.mlp.2.bias": "[2048]"}, []int{7, 15, 23, 31}},
	} {
		vl, err := ParseVLConfig([]byte(c.cfg))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, tn := range Layout(vl.Vision) {
			got[tn.Name] = fmt.Sprint(tn.Shape)
		}
		for name, want := range c.shapes {
			if got[name] != want {
				t.Errorf("%s: %s %s, want %s", vl.ModelType, name, got[name], want)
			}
		}
		if _, ok := got["visual.blocks.0.norm1.bias"]; ok && vl.Vision.Gen == Qwen25VL {
			t.Error("Qwen2.5-VL norms have no bias")
		}
		if vl.Vision.HeadDim() != 80 || vl.Vision.PatchDim() != 1176 {
			t.Errorf("%s: head dim %d, patch dim %d", vl.ModelType, vl.Vision.HeadDim(), vl.Vision.PatchDim())
		}
		var full []int
		for j := 0; j < vl.Vision.Depth; j++ {
			if vl.Vision.FullAttention(j) && vl.Vision.Gen == Qwen25VL {
				full = append(full, j)
			}
		}
		if fmt.Sprint(full) != fmt.Sprint(c.full) {
			t.Errorf("full-attention blocks %v, want %v", full, c.full)
		}
		if vl.Vision.Gen == Qwen25VL && vl.Vision.MergerWindow() != 4 {
			t.Errorf("window %d merged tokens, want 4", vl.Vision.MergerWindow())
		}
		dc, err := model.ParseConfig([]byte(c.cfg))
		if err != nil || vl.Vision.Out() != dc.HiddenSize {
			t.Fatalf("decoder config %v, merger output %d", err, vl.Vision.Out())
		}
		if vl.Vision.Gen == Qwen2VL {
			// Qwen2-VL-2B's model.safetensors.index.json: total_size 4 417 971 200 bytes of
			// BF16 = 2 208 985 600 parameters, decoder (tied) plus tower.
			last := Layout(vl.Vision)[len(Layout(vl.Vision))-1]
			if n := model.NumParams(*dc) + last.Offset + last.Len(); n != 4417971200/2 {
				t.Errorf("Qwen2-VL-2B: %d parameters, the checkpoint holds 2 208 985 600", n)
			}
		}
	}
}

// A tiny VLM checkpoint written with Hugging Face names (visual.* + model.*, and the newer
// model.visual.* + model.language_model.* spelling, BF16 and F32, sharded and single) loads
// into identical parameters and logits, for both generations.
func TestLoadCheckpoint(t *testing.T) {
	for _, gen := range []Generation{Qwen2VL, Qwen25VL} {
		for _, newer := range []bool{false, true} {
			t.Run(fmt.Sprintf("gen%d/newer=%v", gen, newer), func(t *testing.T) {
				v, dp, vp := tinyVLM(t, gen, 41)
				dir := t.TempDir()
				vl := v.VL
				cfg := map[string]any{}
				_ = cfg
				dc := dp.Cfg
				js := fmt.Sprintf(`{"model_type":%q,"hidden_size":%d,"intermediate_size":%d,"num_hidden_layers":%d,
"num_attention_heads":%d,"num_key_value_heads":%d,"vocab_size":%d,"rms_norm_eps":1e-6,"rope_theta":10000,
"tie_word_embeddings":true,"image_token_id":11,"vision_start_token_id":9,"vision_end_token_id":10,
"rope_scaling":{"type":"mrope","mrope_section":[2,1,1]},"vision_config":%s}`, vl.ModelType, dc.HiddenSize, dc.IntermediateSize,
					dc.NumHiddenLayers, dc.NumAttentionHeads, dc.NumKeyValueHeads, dc.VocabSize, visionJSON(vl.Vision))
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(js), 0o644); err != nil {
					t.Fatal(err)
				}
				ts, err := dp.SafeTensors(safetensors.F32)
				if err != nil {
					t.Fatal(err)
				}
				vts, err := vp.SafeTensors(safetensors.F32)
				if err != nil {
					t.Fatal(err)
				}
				all := append(ts, vts...)
				if newer {
					for _, x := range all {
						if strings.HasPrefix(x.Name, "visual.") {
							x.Name = "model." + x.Name
						} else if strings.HasPrefix(x.Name, "model.") {
							x.Name = "model.language_model." + x.Name[len("model."):]
						}
					}
					err = safetensors.WriteDir(dir, all, 20000) // sharded
				} else {
					err = safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), all, nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				got, err := Load[float64](dir, &model.CPU[float64]{})
				if err != nil {
					t.Fatal(err)
				}
				if got.Vis.Cfg.Gen != gen {
					t.Fatalf("generation %d, want %d", got.Vis.Cfg.Gen, gen)
				}
				for i := range vp.Data {
					if got.Vis.P.Data[i] != float64(float32(vp.Data[i])) {
						t.Fatalf("tower value %d: %g, want %g", i, got.Vis.P.Data[i], vp.Data[i])
					}
				}
				for i := range dp.Data {
					if got.Dec.P.Data[i] != float64(float32(dp.Data[i])) {
						t.Fatalf("decoder value %d differs", i)
					}
				}
				in := tinyInputs(rand.New(rand.NewPCG(1, 2)), vp.Cfg.PatchDim())
				if _, err := got.Forward(in); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	// A missing tower tensor is an error naming it.
	_, _, vp := tinyVLM(t, Qwen2VL, 1)
	ts, _ := vp.SafeTensors(safetensors.BF16)
	m := map[string]*safetensors.Tensor{}
	for _, x := range ts[1:] {
		m[x.Name] = x
	}
	if err := vp.LoadTensors(m); err == nil || !strings.Contains(err.Error(), "patch_embed") {
		t.Fatalf("missing tensor: %v", err)
	}
}

func visionJSON(c Config) string {
	if c.Gen == Qwen2VL {
		return fmt.Sprintf(`{"depth":%d,"embed_dim":%d,"hidden_size":%d,"mlp_ratio":%g,"num_heads":%d,"in_chans":3,"patch_size":%d,
"spatial_merge_size":2,"temporal_patch_size":2}`, c.Depth, c.EmbedDim, c.HiddenSize, c.MLPRatio, c.NumHeads, c.PatchSize)
	}
	return fmt.Sprintf(`{"depth":%d,"hidden_act":"silu","hidden_size":%d,"out_hidden_size":%d,"intermediate_size":%d,"num_heads":%d,
"in_chans":3,"patch_size":%d,"spatial_merge_size":2,"temporal_patch_size":2,"window_size":%d,"fullatt_block_indexes":%s}`,
		c.Depth, c.HiddenSize, c.OutHiddenSize, c.IntermediateSize, c.NumHeads, c.PatchSize, c.WindowSize,
		strings.ReplaceAll(fmt.Sprint(c.FullAttBlockIndexes), " ", ","))
}
