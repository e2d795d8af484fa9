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
		"grpo: {group_sise: 4}",       // unknown key
		"grpo: {loss_agg: mean}",      // unknown mode
		"grpo: {dual_clip: 0.5}",      // c must be > 1
		"grpo: {adv_scale: median}",   // unknown scale
		"optim: {lr: 0}",              // no learning rate
		"grpo: {mini_batches: 10000}", // more mini-batches than completions
	} {
		c := DefaultConfig()
		if err := ParseConfigYAML([]byte(y), &c); err == nil {
			t.Errorf("%q accepted", y)
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
