package main

import (
	"strings"
	"testing"

	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/trainer"
)

// TestTrainWarnings: each setting that runs but cannot learn gets exactly its warning; a
// configuration that can learn gets none.
func TestTrainWarnings(t *testing.T) {
	zero := 0.0
	for _, tc := range []struct {
		name string
		set  func(c *trainer.Config)
		want []string // substrings, one per warning, in order
	}{
		{name: "defaults", set: func(c *trainer.Config) {}},
		{name: "group of one", set: func(c *trainer.Config) { c.GRPO.GroupSize = 1 }, want: []string{"grpo.group-size 1"}},
		{name: "greedy", set: func(c *trainer.Config) { c.GRPO.Temperature = 0 }, want: []string{"grpo.temperature 0: greedy decoding gives the 8 completions"}},
		{name: "top-k 1", set: func(c *trainer.Config) { c.GRPO.TopK = 1 }, want: []string{"grpo.top-k 1"}},
		{name: "top-k 2", set: func(c *trainer.Config) { c.GRPO.TopK = 2 }},
		{name: "greedy group of one", set: func(c *trainer.Config) { c.GRPO.GroupSize, c.GRPO.Temperature = 1, 0 },
			want: []string{"grpo.group-size 1"}},
		{name: "greedy and top-k 1", set: func(c *trainer.Config) { c.GRPO.Temperature, c.GRPO.TopK = 0, 1 },
			want: []string{"grpo.temperature 0"}},
		{name: "no steps", set: func(c *trainer.Config) { c.Steps = 0 }, want: []string{"steps 0"}},
		{name: "zero reward weights", set: func(c *trainer.Config) {
			c.Reward = reward.Config{Terms: []reward.TermConfig{{Name: "a", Fn: "accuracy_mcq", Weight: &zero}, {Name: "f", Fn: "format_strict", Weight: &zero}}}
		}, want: []string{"reward: every term has weight 0"}},
		{name: "one zero reward weight", set: func(c *trainer.Config) {
			c.Reward = reward.Config{Preset: "r1v", Terms: []reward.TermConfig{{Name: "format", Fn: "format_strict", Weight: &zero}}}
		}},
		{name: "several", set: func(c *trainer.Config) { c.GRPO.GroupSize, c.Steps = 0, 0 },
			want: []string{"grpo.group-size 0", "steps 0"}},
	} {
		c := trainer.DefaultConfig()
		tc.set(&c)
		got := trainWarnings(c)
		if len(got) != len(tc.want) {
			t.Errorf("%s: warnings %q, want %d", tc.name, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: warning %d %q, want %q", tc.name, i, got[i], w)
			}
		}
	}
}

// TestTrainRefusesSettings: settings that cannot run are usage errors before training.
func TestTrainRefusesSettings(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		wantErr string
	}{
		{argv: []string{"--lr", "0"}, wantErr: "train: optim: lr > 0"},
		{argv: []string{"--max-new-tokens", "0"}, wantErr: "train: grpo: group-size, prompts-per-step and max-new-tokens must be positive"},
		{argv: []string{"--group-size", "0"}, wantErr: "train: grpo: group-size, prompts-per-step and max-new-tokens must be positive"},
		{argv: []string{"--lr", "1e-6", "--max-new-tokens", "4"}},
	} {
		var got *trainOptions
		if err, _ := parse(t, newTrainCmd(func(o *trainOptions) error { got = o; return nil }), tc.argv...); err != nil {
			t.Fatalf("%q: %v", tc.argv, err)
		}
		_, err := trainConfig(got)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tc.argv, err)
		case tc.wantErr != "" && (err == nil || !isUsageError(err) || !strings.HasPrefix(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want usage error %q", tc.argv, err, tc.wantErr)
		}
	}
}
