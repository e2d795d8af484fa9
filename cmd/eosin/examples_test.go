package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/internal/hostile"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/trainer"
	"github.com/eosinlab/eosin/trainer/tokenizer"
)

var updateExamples = flag.Bool("update-examples", false, "rewrite examples/tokenizer.json from the example data and examples/paper.pdf from its generator")

// exampleMerges is the number of BPE merges of examples/tokenizer.json.
const exampleMerges = 200

// exampleAdded are the added tokens of examples/tokenizer.json: Qwen's chat markers (special)
// and the R1 tags (not special, so that the reward sees them).
var exampleAdded = []tokenizer.AddedToken{{Content: "<|endoftext|>", Special: true}, {Content: "<|im_start|>", Special: true},
	{Content: "<|im_end|>", Special: true}, {Content: "<think>"}, {Content: "</think>"}, {Content: "<answer>"}, {Content: "</answer>"}}

// exampleTokenizer learns examples/tokenizer.json from the example samples: their prompts as
// the trainer renders them (default template, Qwen chat template) and answers in the R1
// format.
func exampleTokenizer(t *testing.T) []byte {
	t.Helper()
	tasks, err := trainer.LoadJSONLFile("../../examples/data/tiny-rl.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, task := range tasks {
		user := trainer.FillTemplate(trainer.DefaultTemplate, task)
		texts = append(texts, tokenizer.ChatTemplate([]tokenizer.Message{{Role: "user", Content: user}}, "", true)+
			"<think>The options are "+strings.Join(task.Options, ", ")+".</think><answer>"+task.Answer+"</answer><|im_end|>")
	}
	b, err := tokenizer.TrainBPE(texts, exampleMerges, exampleAdded)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestExampleTokenizer: examples/tokenizer.json is what exampleTokenizer learns (go test
// -run ExampleTokenizer -update-examples rewrites it), and it encodes the example data.
func TestExampleTokenizer(t *testing.T) {
	const path = "../../examples/tokenizer.json"
	want := exampleTokenizer(t)
	if *updateExamples {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not the tokenizer learned from the example data (rerun with -update-examples)", path)
	}
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := tok.VocabSize(); n != 256+exampleMerges+len(exampleAdded) {
		t.Errorf("vocabulary %d", n)
	}
}

// TestExampleData: examples/data/*.jsonl hold shards.Sample records (no unknown fields) that
// the trainer reads.
func TestExampleData(t *testing.T) {
	files, err := filepath.Glob("../../examples/data/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example data (%v)", err)
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			n++
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.DisallowUnknownFields()
			var s shards.Sample
			if err := dec.Decode(&s); err != nil {
				t.Errorf("%s line %d: %v", path, n, err)
			}
		}
		f.Close()
		tasks, err := trainer.LoadJSONLFile(path)
		if err != nil || len(tasks) != n {
			t.Errorf("%s: %d tasks of %d lines (%v)", path, len(tasks), n, err)
		}
	}
}

// TestExamples runs every examples/*.yaml as its command does (examples/train-*.yaml through
// `eosin train --config`, from the repository root, output redirected to a temporary
// directory) and checks what it writes: final/ with a model and tokenizer that load.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the example models")
	}
	configs, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(configs) == 0 {
		t.Fatalf("no example configurations (%v)", err)
	}
	t.Chdir("../..")
	for _, c := range configs {
		name := filepath.Base(c)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			if !strings.HasPrefix(name, "train-") {
				// Other configurations run as the README's commands (TestReadme).
				readme, err := os.ReadFile("README.md")
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(readme), "--config examples/"+name) {
					t.Fatalf("examples/%s: no test runs it (train-*.yaml run here, others as a README command)", name)
				}
				return
			}
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"train", "--config", filepath.Join("examples", name), "-o", out}, &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("eosin train --config examples/%s: exit %d\n%s", name, code, stderr.String())
			}
			if strings.Contains(stderr.String(), "WARN") {
				t.Errorf("warnings:\n%s", stderr.String())
			}
			cfg, err := trainer.LoadConfig(filepath.Join("examples", name))
			if err != nil {
				t.Fatal(err)
			}
			final := filepath.Join(out, "final")
			if !strings.Contains(stdout.String(), final) {
				t.Errorf("output does not name %s:\n%s", final, stdout.String())
			}
			p, err := trainer.LoadModel(final)
			if err != nil {
				t.Fatalf("final model: %v", err)
			}
			mc, err := cfg.Model.InitModelConfig()
			if err == nil && p.Cfg.VocabSize != mc.VocabSize {
				t.Errorf("final model vocabulary %d, want %d", p.Cfg.VocabSize, mc.VocabSize)
			}
			if _, err := tokenizer.Load(filepath.Join(final, "tokenizer.json")); err != nil {
				t.Errorf("final tokenizer: %v", err)
			}
			log, err := os.ReadFile(filepath.Join(out, "log.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(log), "\n"); n != cfg.Steps {
				t.Errorf("log.jsonl has %d lines, want %d", n, cfg.Steps)
			}
		})
	}
}

// TestExamplePaper: examples/paper.pdf (and the copy in the example article package) is the
// generated good document of the hostile-input corpus (-update-examples writes it again).
func TestExamplePaper(t *testing.T) {
	want := hostile.GoodDocument()
	for _, path := range []string{"../../examples/paper.pdf", "../../examples/articles/PMC0000001/paper.pdf"} {
		if *updateExamples {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not the generated example paper (rerun with -update-examples)", path)
		}
	}
}
