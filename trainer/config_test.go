package trainer

import (
	"strings"
	"testing"

	"github.com/eosinlab/eosin/trainer/grpo"
)

func TestLoadConfigExample(t *testing.T) {
	c, err := LoadConfig("testdata/grpo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lc := c.GRPO.LossConfig()
	if c.GRPO.GroupSize != 8 || c.GRPO.MiniBatches != 4 || lc.Agg != grpo.TokenMean || lc.DualClip != 3 || !lc.ClampLogRatio || !lc.KLClamp ||
		c.Optim.WarmupSteps != 10 || c.Optim.Beta2 != 0.999 || c.Reward.Preset != "r1v" || !c.GRPO.DynamicSampling {
		t.Errorf("parsed %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, y := range []string{
		"grpo: {group-sise: 4}",                // unknown key
		"grpo: {group_sise: 4}",                // unknown key, snake_case
		"grpo: {loss-agg: mean}",               // unknown mode
		"grpo: {dual-clip: 0.5}",               // c must be > 1
		"grpo: {adv-scale: median}",            // unknown scale
		"optim: {lr: 0}",                       // no learning rate
		"grpo: {mini-batches: 10000}",          // more mini-batches than completions
		"grpo: {group-size: 4, group_size: 2}", // both spellings
		"model: {init: {hidden_size: 8}, in-it: {}}",
		"[1, 2]", // not a mapping
	} {
		c := DefaultConfig()
		if err := ParseConfigYAML([]byte(y), &c); err == nil {
			t.Errorf("%q accepted", y)
		}
	}
}

// TestConfigKeys: the kebab-case keys (the flag names) decode silently; the snake_case
// spellings and the old out / workers decode to the same configuration with one warning per
// deprecated key; model.init keeps config.json's keys and reward terms their own.
func TestConfigKeys(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		check      func(c Config) bool
		warn       []string
	}{
		{name: "kebab", yaml: "grpo: {group-size: 4, max-new-tokens: 9, loss-agg: dr-grpo, dr-grpo-max-len: 9}\nsave-every: 3\nexport-dtype: f16\noutput: r\njobs: 2",
			check: func(c Config) bool {
				return c.GRPO.GroupSize == 4 && c.GRPO.MaxNewTokens == 9 && c.GRPO.Agg == "dr-grpo" && c.GRPO.DrGRPOLen == 9 &&
					c.SaveEvery == 3 && c.ExportDType == "f16" && c.Out == "r" && c.Workers == 2
			}},
		{name: "snake", yaml: "grpo: {group_size: 4, max_new_tokens: 9}\nsave_every: 3\nexport_dtype: f16\nout: r\nworkers: 2",
			check: func(c Config) bool {
				return c.GRPO.GroupSize == 4 && c.GRPO.MaxNewTokens == 9 && c.SaveEvery == 3 && c.ExportDType == "f16" && c.Out == "r" && c.Workers == 2
			},
			warn: []string{"grpo.group_size → grpo.group-size", "grpo.max_new_tokens → grpo.max-new-tokens", "save_every → save-every",
				"export_dtype → export-dtype", "out → output", "workers → jobs"}},
		{name: "nested", yaml: "optim: {warmup_steps: 2, min-lr-ratio: 0.1}\nvision: {max_pixels: 50176}",
			check: func(c Config) bool {
				return c.Optim.WarmupSteps == 2 && c.Optim.MinLRRatio == 0.1 && c.Vision.MaxPixels == 50176
			},
			warn: []string{"optim.warmup_steps → optim.warmup-steps", "vision.max_pixels → vision.max-pixels"}},
		{name: "init and reward keys untouched",
			yaml: "model: {init: {hidden_size: 8, num_hidden_layers: 1}}\nreward: {terms: [{name: a, fn: overlong, params: {max_len: 5}}]}",
			check: func(c Config) bool {
				return c.Model.Init["hidden_size"] == 8 && c.Model.Init["num_hidden_layers"] == 1 && c.Reward.Terms[0].Params["max_len"] == 5
			}},
		{name: "empty", yaml: "", check: func(c Config) bool { return c.GRPO.GroupSize == 8 && c.Out == "runs/grpo" }},
	} {
		c := DefaultConfig()
		var warned []string
		err := parseConfigYAML([]byte(tc.yaml), &c, func(old, key string) { warned = append(warned, old+" → "+key) })
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(c) {
			t.Errorf("%s: parsed %+v", tc.name, c)
		}
		if strings.Join(warned, "; ") != strings.Join(tc.warn, "; ") {
			t.Errorf("%s: warnings %q, want %q", tc.name, warned, tc.warn)
		}
	}
}

func TestReadSamplesJSONL(t *testing.T) {
	in := `{"id":"s1","figure_id":"f","task":"mcq","problem":"Which stain?","options":["H&E","PAS"],"answer":"A","generator":{"model":"x"},"verdict":{"keep":true}}

{"id":"s2","task":"vqa","problem":"Organ?","answer":"liver","generator":{"model":"x"},"verdict":{"keep":true}}
`
	ts, err := ReadSamplesJSONL(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Options[1] != "PAS" || ts[1].Answer != "liver" || ts[0].Kind != "mcq" {
		t.Errorf("%+v", ts)
	}
	if got := FillTemplate(DefaultTemplate, ts[0]); !strings.HasPrefix(got, "Which stain?\nA. H&E\nB. PAS\nOutput") {
		t.Errorf("template: %q", got)
	}
	if _, err := ReadSamplesJSONL(strings.NewReader(`{"id":"x","problem":"p"}`)); err == nil {
		t.Error("sample without answer accepted")
	}
	if _, err := ReadSamplesJSONL(strings.NewReader(`{"id":`)); err == nil {
		t.Error("broken JSON accepted")
	}
}

func TestSourceOrder(t *testing.T) {
	tasks := []Task{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	s := &Source{Tasks: tasks, Seed: 5}
	var seq []string
	for range 6 {
		tk, _ := s.Next()
		seq = append(seq, tk.ID)
	}
	// Each epoch is a permutation; a source restarted at position 4 continues identically.
	for ep := 0; ep < 2; ep++ {
		seen := map[string]bool{}
		for _, id := range seq[ep*3 : ep*3+3] {
			seen[id] = true
		}
		if len(seen) != 3 {
			t.Errorf("epoch %d is not a permutation: %v", ep, seq)
		}
	}
	r := &Source{Tasks: tasks, Seed: 5, Pos: 4}
	for i := 4; i < 6; i++ {
		tk, _ := r.Next()
		if tk.ID != seq[i] {
			t.Errorf("restarted source at %d: %s, want %s", i, tk.ID, seq[i])
		}
	}
}
