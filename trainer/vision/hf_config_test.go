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

// hfDir is where the published config.json / preprocessor_config.json texts live.
var hfDir = filepath.Join("..", "model", "testdata", "hf")

// The published VL configs (and their transformers-5 rewrites) give the published towers:
// generation, depth, width, heads, MLP size, merger output, patch / merge / temporal sizes,
// window settings, the M-RoPE sections and the checkpoints' parameter counts (decoder +
// tower, as in their model.safetensors.index.json).
func TestPublishedVLConfigs(t *testing.T) {
	type tower struct {
		gen                                      Generation
		depth, width, heads, mlp, out            int
		patch, merge, temporal, window, patchDim int
		full                                     string
		mrope                                    string
		total                                    int
	}
	q2vl := func(out, total int) tower {
		return tower{Qwen2VL, 32, 1280, 16, 5120, out, 14, 2, 2, 0, 1176, "[]", "[16 24 24]", total}
	}
	q25vl := func(out, total int) tower {
		return tower{Qwen25VL, 32, 1280, 16, 3420, out, 14, 2, 2, 4, 1176, "[7 15 23 31]", "[16 24 24]", total}
	}
	for _, c := range []struct {
		name string
		want tower
	}{
		{"Qwen2-VL-2B-Instruct", q2vl(1536, 2208985600)},
		{"Qwen2-VL-7B-Instruct", q2vl(3584, 8291375616)},
		{"Qwen2-VL-7B-Instruct-tf5", q2vl(3584, 8291375616)},
		{"Qwen2.5-VL-3B-Instruct", q25vl(2048, 3754622976)},
		{"Qwen2.5-VL-3B-Instruct-tf5", q25vl(2048, 3754622976)},
		{"Qwen2.5-VL-7B-Instruct", q25vl(3584, 8292166656)},
		{"Qwen2.5-VL-7B-Instruct-tf453", q25vl(3584, 8292166656)},
		{"Qwen2.5-VL-7B-Instruct-tf5", q25vl(3584, 8292166656)},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(hfDir, c.name, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !IsVLConfig(b) {
				t.Fatal("not recognised as a VL config")
			}
			vl, err := ParseVLConfig(b)
			if err != nil {
				t.Fatal(err)
			}
			dc, err := model.ParseConfig(b)
			if err != nil {
				t.Fatal(err)
			}
			v := vl.Vision
			var full []int
			for j := range v.Depth {
				if v.Gen == Qwen25VL && v.FullAttention(j) {
					full = append(full, j)
				}
			}
			window := 0
			if v.Gen == Qwen25VL {
				window = v.MergerWindow()
			}
			l := Layout(v)
			got := tower{v.Gen, v.Depth, v.Width(), v.NumHeads, v.MLPDim(), v.Out(), v.Patch(), v.SpatialMergeSize,
				v.TemporalPatchSize, window, v.PatchDim(), fmt.Sprint(full), fmt.Sprint(vl.RopeScaling.MropeSection),
				model.NumParams(*dc) + l[len(l)-1].Offset + l[len(l)-1].Len()}
			if full == nil {
				got.full = "[]"
			}
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
			if v.Out() != dc.HiddenSize {
				t.Errorf("merger output %d, decoder hidden %d", v.Out(), dc.HiddenSize)
			}
			if vl.ImageTokenID != 151655 || vl.VisionStartID != 151652 || vl.VisionEndID != 151653 {
				t.Errorf("token ids %d %d %d", vl.ImageTokenID, vl.VisionStartID, vl.VisionEndID)
			}
		})
	}
}

// preprocessor_config.json: the published files, the newer size form, min/max_pixels over
// size, the published values without a file, and refusals naming the key.
func TestProcessorConfig(t *testing.T) {
	pub := PublishedProcessor()
	if pub.MinPixels != 3136 || pub.MaxPixels != 12845056 || pub.PatchSize != 14 || pub.MergeSize != 2 || pub.TemporalPatchSize != 2 {
		t.Fatalf("published processor %+v", pub)
	}
	for _, name := range []string{"Qwen2-VL-2B-Instruct", "Qwen2-VL-7B-Instruct", "Qwen2.5-VL-3B-Instruct", "Qwen2.5-VL-7B-Instruct"} {
		p, err := ReadProcessor(filepath.Join(hfDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(p) != fmt.Sprint(pub) {
			t.Errorf("%s: %+v, want %+v", name, p, pub)
		}
	}
	if p, err := ReadProcessor(t.TempDir()); err != nil || fmt.Sprint(p) != fmt.Sprint(pub) {
		t.Errorf("no file: %+v %v", p, err)
	}
	for _, c := range []struct {
		json     string
		min, max int
		mean0    float64
	}{
		{`{"size":{"shortest_edge":1000,"longest_edge":200000},"patch_size":14,"merge_size":2,"temporal_patch_size":2}`, 1000, 200000, ImageMean[0]},
		{`{"size":{"shortest_edge":1000,"longest_edge":200000},"max_pixels":401408}`, 1000, 401408, ImageMean[0]},
		{`{"min_pixels":784,"image_mean":[0.5,0.5,0.5],"image_std":[0.5,0.5,0.5],"do_resize":true,"rescale_factor":0.00392156862745098}`, 784, 12845056, 0.5},
	} {
		p, err := ParseProcessor([]byte(c.json))
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		if p.MinPixels != c.min || p.MaxPixels != c.max || p.ImageMean[0] != c.mean0 {
			t.Errorf("%s: %+v", c.json, p)
		}
	}
	for _, c := range []struct{ json, want string }{
		{`{"merge_size":3}`, "merge_size 3"},
		{`{"do_normalize":false}`, "do_normalize false"},
		{`{"rescale_factor":1}`, "rescale_factor 1"},
		{`{"size":{"shortest_edge":3136}}`, "longest_edge"},
		{`{"image_mean":[0.5]}`, "image_mean"},
		{`{"min_pixels":5000,"max_pixels":4000}`, "max_pixels 4000"},
	} {
		if _, err := ParseProcessor([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.json, err, c.want)
		}
	}
	// The processor must fit the tower.
	if err := pub.Check(tinyVision(Qwen25VL, 16)); err == nil || !strings.Contains(err.Error(), "patch_size 14") {
		t.Errorf("14-pixel processor on a 2-pixel tower: %v", err)
	}
	if err := (Processor{PatchSize: 2}).Check(tinyVision(Qwen25VL, 16)); err != nil {
		t.Error(err)
	}
	// A 2-pixel processor makes rows of the tiny tower's patch length.
	img := RGB8{W: 9, H: 7, Pix: make([]uint8, 9*7*3)}
	px, g, err := Processor{PatchSize: 2, MinPixels: 16, MaxPixels: 64}.Preprocess(img)
	if err != nil {
		t.Fatal(err)
	}
	tv := tinyVision(Qwen25VL, 16)
	if pd := tv.PatchDim(); len(px) != g.Patches()*pd || g.H%2 != 0 || g.W%2 != 0 {
		t.Errorf("%d values for grid %+v, want %d per patch", len(px), g, pd)
	}
}

// VL config refusals name the key.
func TestVLConfigRefusals(t *testing.T) {
	base := func(vision, rope string) string {
		return `{"model_type":"qwen2_5_vl","hidden_size":16,"intermediate_size":20,"num_hidden_layers":2,"num_attention_heads":2,
"num_key_value_heads":1,"vocab_size":12` + rope + `,"vision_config":` + vision + `}`
	}
	vis := visionJSON(tinyVision(Qwen25VL, 16))
	for _, c := range []struct{ json, want string }{
		{base(vis, ``), "mrope_section missing"},
		{base(vis, `,"rope_scaling":{"type":"yarn","factor":4,"mrope_section":[2,1,1]}`), `rope_scaling.type "yarn"`},
		{base(strings.Replace(vis, `"in_chans":3`, `"in_chans":1`, 1), `,"rope_scaling":{"type":"mrope","mrope_section":[2,1,1]}`), "in_chans 1"},
		{base(strings.Replace(vis, `"patch_size":2`, `"patch_size":2,"spatial_patch_size":4`, 1), `,"rope_scaling":{"type":"mrope","mrope_section":[2,1,1]}`), "spatial_patch_size 4"},
	} {
		if _, err := ParseVLConfig([]byte(c.json)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\nerror %v, want one naming %s", c.json, err, c.want)
		}
	}
	if _, err := ParseVLConfig([]byte(base(vis, `,"rope_parameters":{"rope_type":"default","mrope_section":[2,1,1]}`))); err != nil {
		t.Errorf("rope_parameters: %v", err)
	}
}

// A tiny random VLM checkpoint loads to identical logits whether its config.json is written
// the transformers-4 way (flat decoder keys, rope_theta + rope_scaling, visual.* / model.*
// names) or the transformers-5 way (text_config, rope_parameters with rope_theta inside,
// model.visual.* / model.language_model.* names), tied and untied, both generations; and a
// config that leaves rope_theta and rms_norm_eps out gets the VL defaults 1e6 and 1e-5.
func TestTransformers4And5Checkpoints(t *testing.T) {
	for _, gen := range []Generation{Qwen2VL, Qwen25VL} {
		for _, tied := range []bool{true, false} {
			t.Run(fmt.Sprintf("gen%d/tied=%v", gen, tied), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(gen)+3, 11))
				dc := tinyDecoder(16, 12)
				dc.TieWordEmbeddings = tied
				dp := model.NewParams[float64](dc)
				dp.InitRandom(rng)
				perturbVectors(dp.Tensors, dp.Data, rng)
				vl := tinyVL(gen, 16)
				vp := NewParams[float64](vl.Vision)
				vp.InitRandom(rng, 0.4)
				perturbVectors(vp.Tensors, vp.Data, rng)
				text := fmt.Sprintf(`"hidden_size":16,"intermediate_size":20,"num_hidden_layers":2,"num_attention_heads":2,
"num_key_value_heads":1,"vocab_size":12,"tie_word_embeddings":%v`, tied)
				head := fmt.Sprintf(`"model_type":%q,"image_token_id":11,"vision_start_token_id":9,"vision_end_token_id":10,"vision_config":%s`,
					vl.ModelType, visionJSON(vl.Vision))
				configs := []struct {
					name, json string
					newer      bool
				}{
					{"tf4", `{` + head + `,` + text + `,"rms_norm_eps":1e-5,"rope_theta":1000000.0,"rope_scaling":{"type":"mrope","mrope_section":[2,1,1]}}`, false},
					{"tf5", `{` + head + `,"text_config":{` + text + `,"rms_norm_eps":1e-5,"model_type":"` + vl.ModelType + `_text",
"rope_parameters":{"rope_type":"default","rope_theta":1000000.0,"mrope_section":[2,1,1]}}}`, true},
					{"tf5 defaults", `{` + head + `,"text_config":{` + text + `,"rope_parameters":{"rope_type":"default","mrope_section":[2,1,1]}}}`, true},
					{"tf453", `{` + head + `,` + text + `,"rms_norm_eps":1e-5,"rope_theta":1000000.0,"rope_scaling":{"type":"default","rope_type":"default","mrope_section":[2,1,1]},
"text_config":{` + text + `,"rms_norm_eps":1e-5,"rope_theta":1000000.0,"rope_scaling":{"rope_type":"default","mrope_section":[2,1,1]}}}`, false},
					{"tf4 theta 1e4", `{` + head + `,` + text + `,"rms_norm_eps":1e-5,"rope_theta":10000,"rope_scaling":{"type":"mrope","mrope_section":[2,1,1]}}`, false},
				}
				var ref []float64
				for k, c := range configs {
					dir := t.TempDir()
					if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(c.json), 0o644); err != nil {
						t.Fatal(err)
					}
					writeTinyCheckpoint(t, dir, dp, vp, c.newer)
					got, err := Load[float64](dir, &model.CPU[float64]{Workers: 2})
					if err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					if got.Dec.Cfg.TieWordEmbeddings != tied || got.Dec.Cfg.RopeTheta != map[bool]float64{true: 1e4, false: 1e6}[k == 4] || got.Dec.Cfg.RMSNormEps != 1e-5 {
						t.Fatalf("%s: tied %v theta %g eps %g", c.name, got.Dec.Cfg.TieWordEmbeddings, got.Dec.Cfg.RopeTheta, got.Dec.Cfg.RMSNormEps)
					}
					a, err := got.Forward(tinyInputs(rand.New(rand.NewPCG(1, 2)), vp.Cfg.PatchDim()))
					if err != nil {
						t.Fatal(err)
					}
					switch {
					case k == 0:
						ref = a.Dec.Logits
					case k == 4:
						if fmt.Sprint(a.Dec.Logits) == fmt.Sprint(ref) {
							t.Errorf("%s: logits equal those of rope_theta 1e6", c.name)
						}
					default:
						for i := range ref {
							if a.Dec.Logits[i] != ref[i] {
								t.Fatalf("%s: logit %d = %g, transformers-4 config gives %g", c.name, i, a.Dec.Logits[i], ref[i])
							}
						}
					}
				}
			})
		}
	}
}

// writeTinyCheckpoint writes decoder and tower tensors in F32, with the transformers-5 names
// (model.language_model.*, model.visual.*) when newer.
func writeTinyCheckpoint(t *testing.T, dir string, dp *model.Params[float64], vp *Params[float64], newer bool) {
	t.Helper()
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
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), all, nil); err != nil {
		t.Fatal(err)
	}
}
