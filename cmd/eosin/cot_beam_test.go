package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// TestCoTCommandModes: --out-dir runs the local driver (plain JSONL), the runner flags of
// `eosin build` are offered, and unusable runner settings are refused.
func TestCoTCommandModes(t *testing.T) {
	imgs, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "data", "publaynet", "*.jpg"))
	if len(imgs) < 2 {
		if os.Getenv("CI") != "" {
			t.Fatal("shared/data/publaynet images missing")
		}
		t.Skip("shared/data/publaynet images missing")
	}
	dir := t.TempDir()
	ex := filepath.Join(dir, "extract")
	os.MkdirAll(filepath.Join(ex, "images"), 0o755)
	var lines []string
	for i := 0; i < 2; i++ {
		f := shards.Figure{ID: fmt.Sprintf("f%d", i), Label: "Figure 1", Page: 1,
			Caption: fmt.Sprintf("Squamous cell carcinoma of the skin with keratin pearls (case %d).", i),
			Doc:     shards.Doc{SHA256: strings.Repeat("ab", 32), URI: "file:///book.pdf"}, Image: shards.ImageInfo{Format: "jpeg"}}
		b, _ := json.Marshal(f)
		lines = append(lines, string(b))
		img, _ := os.ReadFile(imgs[i])
		os.WriteFile(filepath.Join(ex, "images", f.ID+".jpg"), img, 0o644)
	}
	os.WriteFile(filepath.Join(ex, "figures.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	srv := chatServer()
	defer srv.Close()
	base := []string{"cot", "--pairs", ex, "--generator", srv.URL + "/v1", "--model", "m", "--tasks", "mcq:medium:1",
		"--cache", filepath.Join(dir, "cache"), "--dedup", "-1"}

	out := filepath.Join(dir, "jsonl")
	if _, stderr, err := runRoot(t, append(base, "--output-dir", out)...); err != nil {
		t.Fatalf("--out-dir: %v\n%s", err, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "rl.jsonl"))
	if err != nil || strings.Count(string(b), "\n") != 2 {
		t.Fatalf("rl.jsonl: %v %q", err, b)
	}

	cmd := newCoTCmd(nil)
	for _, name := range []string{"runner", "endpoint", "environment_type", "environment_config", "worker_binary", "job_name", "beam-options", "progress"} {
		if f := cmd.Flags().Lookup(name); f == nil || f.Hidden || f.Usage == "" {
			t.Errorf("runner flag --%s: %+v", name, f)
		}
	}
	if f := cmd.Flags().Lookup("temp_location"); f == nil || !f.Hidden {
		t.Errorf("Beam option --temp_location is not passed through: %+v", f)
	}
	for _, bad := range [][]string{{"--runner", "nope"}, {"--runner", "universal", "--endpoint", "localhost:1"}} {
		if _, _, err := runRoot(t, append(append(base, "-o", filepath.Join(dir, "beam")), bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
