package trainer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/trainer"
)

// TestRunRefusesImagesForTextModel: tasks with images need a model that reads them; a
// text-only model (model.init or a text checkpoint) is refused before training starts, while
// the same model trains on the tasks without images.
func TestRunRefusesImagesForTextModel(t *testing.T) {
	dir := t.TempDir()
	textJSONL := filepath.Join(dir, "text.jsonl")
	imageJSONL := filepath.Join(dir, "images.jsonl")
	must(t, os.WriteFile(textJSONL, []byte(`{"id":"a","task":"mcq","problem":"?","options":["x","y"],"answer":"A"}`+"\n"), 0o644))
	must(t, os.WriteFile(imageJSONL, []byte(`{"id":"a","task":"mcq","problem":"?","options":["x","y"],"answer":"A"}
{"id":"b","task":"mcq","problem":"?","options":["x","y"],"answer":"B","images":[{"path":"b.png"}]}
`), 0o644))
	init := map[string]any{"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
		"num_key_value_heads": 1, "vocab_size": len(figVocab)}
	// A text checkpoint: the model.init run's final/.
	ckpt := filepath.Join(dir, "text-run")
	for _, tc := range []struct {
		name    string
		jsonl   string
		model   trainer.ModelConfig
		wantErr string
	}{
		{name: "init, text tasks", jsonl: textJSONL, model: trainer.ModelConfig{Init: init}},
		{name: "init, image tasks", jsonl: imageJSONL, model: trainer.ModelConfig{Init: init},
			wantErr: "1 of 2 tasks have images, but model.init is a text-only model"},
		{name: "text checkpoint, image tasks", jsonl: imageJSONL, model: trainer.ModelConfig{Path: filepath.Join(ckpt, "final")},
			wantErr: "1 of 2 tasks have images, but " + filepath.Join(ckpt, "final") + " is a text-only model"},
	} {
		cfg := trainer.DefaultConfig()
		cfg.Model, cfg.Data.JSONL = tc.model, tc.jsonl
		cfg.Steps, cfg.GRPO.GroupSize, cfg.GRPO.PromptsPerStep, cfg.GRPO.MaxNewTokens = 1, 2, 1, 2
		cfg.Reward.Preset, cfg.ExportDType = "r1v_nothink", "F32"
		cfg.Out = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		if tc.wantErr == "" {
			cfg.Out = ckpt
		}
		err := trainer.Run(context.Background(), cfg, trainer.RunOptions{Codec: figCodec{}})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		case tc.wantErr != "":
			if _, err := os.Stat(cfg.Out); err == nil {
				t.Errorf("%s: run directory written", tc.name)
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
