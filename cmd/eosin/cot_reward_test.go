package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/shards"
)

// runRoot runs the eosin command line with args and returns its stdout and stderr.
func runRoot(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// TestRewardServeLoopback runs the reward service on a loopback port and talks to it over TCP:
// the JSON API, the OpenRLHF route, and a graceful stop.
func TestRewardServeLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := rewardScorer("", "r1v")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveRewards(ctx, ln, sc, reward.ServerOptions{}) }()
	base := "http://" + ln.Addr().String()

	body := `{"items":[{"completion":"<think>x</think><answer>C</answer>","reference":"<answer> C </answer>"},{"completion":"<answer>B</answer>","reference":"C"}]}`
	resp, err := http.Post(base+"/v1/score", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var sr reward.ScoreResponse
	json.NewDecoder(resp.Body).Decode(&sr)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(sr.Results) != 2 || sr.Results[0].Overall != 2 || sr.Results[1].Overall != 0 {
		t.Fatalf("/v1/score: %d %+v", resp.StatusCode, sr)
	}
	q := `{"query":["Q: which?<think>x</think><answer>C</answer><|im_end|>"],"prompts":["Q: which?"],"labels":["C"]}`
	resp, err = http.Post(base+"/get_reward", "application/json", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	var or reward.OpenRLHFResponse
	json.NewDecoder(resp.Body).Decode(&or)
	resp.Body.Close()
	if len(or.Rewards) != 1 || or.Rewards[0] != 2 {
		t.Fatalf("/get_reward: %+v", or)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestRewardScoreCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "c.jsonl")
	os.WriteFile(in, []byte(`{"id":"a","completion":"<think>x</think><answer>C</answer>","reference":"C"}`+"\n"+
		`{"id":"b","response":"\n<think>x</think><answer>C</answer>","ground_truth":"C"}`+"\n"), 0o644)
	cfg := filepath.Join(dir, "reward.yaml")
	os.WriteFile(cfg, []byte("preset: r1v\nterms:\n  - {name: format, fn: format_lenient, weight: 1}\n"), 0o644)
	out := filepath.Join(dir, "s.jsonl")
	stdout, stderr, err := runRoot(t, "reward", "score", "--input", in, "-o", out, "--config", cfg)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"reward":{"overall":2,`) || !strings.HasPrefix(lines[0], `{"id":"a"`) {
		t.Fatalf("output:\n%s", b)
	}
	if !strings.Contains(stdout, "scored 2 completions") {
		t.Errorf("stdout: %s", stdout)
	}
	if _, _, err := runRoot(t, "reward", "score", "--input", in, "-o", out, "--preset", "nope"); err == nil {
		t.Error("unknown preset accepted")
	}

	// a line that cannot be scored goes to the reject file; the others are scored
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"completion":"<answer>C</answer>","reference":"C"}`+"\n"+`{not json`+"\n"+
		`{"completion":"<answer>B</answer>","reference":"C"}`+"\n"), 0o644)
	scored := filepath.Join(dir, "bad-scored.jsonl")
	stdout, stderr, err = runRoot(t, "reward", "score", "--input", bad, "-o", scored, "--preset", "r1v")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	b, _ = os.ReadFile(scored)
	rej, _ := os.ReadFile(filepath.Join(dir, "bad-scored.rejects.jsonl"))
	if strings.Count(string(b), "\n") != 2 || !strings.Contains(string(rej), `"line":2`) || !strings.Contains(stdout, "rejected 1 lines") {
		t.Errorf("scored:\n%s\nrejects:\n%s\nsummary:\n%s", b, rej, stdout)
	}
}

// chatServer answers eosin's prompts with one fixed mcq (correct option B, grounded in the
// captions below), SUPPORTED for the judge and B for the solver.
func chatServer() *httptest.Server {
	gen := "<question>Which diagnosis best explains the keratin pearls in this specimen?</question>\n<options>\n" +
		"A. melanoma\nB. squamous cell carcinoma\nC. lymphoma\nD. tuberculosis\n</options>\n<think>At low power the epidermis " +
		"is replaced by nests of atypical squamous cells. At higher power the nests show central keratin pearls and " +
		"intercellular bridges, which are the hallmarks of squamous differentiation. Melanoma would show melanocytes, " +
		"lymphoma sheets of lymphocytes and tuberculosis granulomas, none of which is seen, so the caption's diagnosis " +
		"of squamous cell carcinoma fits.</think>\n<answer>B</answer>"
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var req cot.ChatRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		content := gen
		switch s := string(raw); {
		case strings.Contains(s, "SUPPORTED or UNSUPPORTED"):
			content = "SUPPORTED"
		case strings.Contains(s, "Output the thinking process"):
			content = "<think>Keratin pearls.</think><answer>B</answer>"
		}
		resp := cot.ChatResponse{ID: "x", Model: req.Model}
		for i := 0; i < max(req.N, 1); i++ {
			c := cot.ChatChoice{Index: i, FinishReason: "stop"}
			c.Message.Role, c.Message.Content = "assistant", content
			resp.Choices = append(resp.Choices, c)
		}
		json.NewEncoder(w).Encode(resp)
	}))
}

// TestCoTCommand runs `eosin cot` on an extract directory with real images, then checks the
// SFT and RL datasets with `eosin shards verify` and scores the RL records with package reward.
func TestCoTCommand(t *testing.T) {
	imgs, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "data", "publaynet", "*.jpg"))
	if len(imgs) < 3 {
		if os.Getenv("CI") != "" {
			t.Fatal("shared/data/publaynet images missing")
		}
		t.Skip("shared/data/publaynet images missing")
	}
	dir := t.TempDir()
	ex := filepath.Join(dir, "extract")
	os.MkdirAll(filepath.Join(ex, "images"), 0o755)
	var lines []string
	for i := 0; i < 3; i++ {
		f := shards.Figure{ID: fmt.Sprintf("f%d", i), Label: fmt.Sprintf("Figure %d", i+1), Page: 1,
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
	out := filepath.Join(dir, "cot")
	stdout, stderr, err := runRoot(t, "cot", "--pairs", ex, "--generator", srv.URL+"/v1", "--model", "m", "-o", out,
		"--dataset-version", "v1", "--tasks", "mcq:medium:1", "--cache", filepath.Join(dir, "cache"), "--dedup", "-1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "RL samples") {
		t.Errorf("no summary on stdout: %s", stdout)
	}
	for _, ds := range []string{"sft", "rl"} {
		if _, stderr, err := runRoot(t, "shards", "verify", filepath.Join(out, ds)); err != nil {
			t.Fatalf("shards verify %s: %v %s", ds, err, stderr)
		}
	}
	d, err := shards.Open(context.Background(), filepath.Join(out, "rl"), shards.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r1v, _ := reward.Preset("r1v")
	n := 0
	for rec, err := range d.Records(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		s := rec.Sample
		good := r1v.Score(reward.Input{Completion: "<think>pearls</think><answer>" + s.Answer + "</answer>", Reference: s.Answer})
		bad := r1v.Score(reward.Input{Completion: "<think>pearls</think><answer>A</answer>", Reference: s.Answer})
		if s.Answer != "B" || good.Overall != 2 || bad.Overall != 1 || len(s.Options) != 4 {
			t.Errorf("RL record %s: answer %q, scores %v / %v", s.ID, s.Answer, good.Overall, bad.Overall)
		}
	}
	if n != 3 {
		t.Fatalf("%d RL records, want 3", n)
	}
}

// TestRewardServeDefaultAddr: `eosin reward serve` listens on the loopback interface unless
// told otherwise.
func TestRewardServeDefaultAddr(t *testing.T) {
	f := newRewardServeCmd().Flags().Lookup("addr")
	if f == nil || f.DefValue != reward.DefaultAddr || !strings.HasPrefix(f.DefValue, "127.0.0.1:") {
		t.Fatalf("--addr default %v, want %s", f, reward.DefaultAddr)
	}
}
