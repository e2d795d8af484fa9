package reward

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func post(t *testing.T, url string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestServer(t *testing.T) {
	r1v, _ := Preset("r1v")
	srv := httptest.NewServer(NewServer(r1v, nil).Handler())
	defer srv.Close()

	var sr ScoreResponse
	code := post(t, srv.URL+"/v1/score", map[string]any{"items": []map[string]any{
		{"completion": "<think>a</think><answer>C</answer>", "reference": "C"},
		{"response": "\n<think>a</think><answer>B</answer>", "ground_truth": "<answer> C </answer>"},
	}}, &sr)
	if code != 200 || len(sr.Results) != 2 || sr.Results[0].Overall != 2 || sr.Results[1].Overall != 0 {
		t.Fatalf("score: %d %+v", code, sr)
	}
	// per-request preset
	code = post(t, srv.URL+"/v1/score", map[string]any{"preset": "easyr1", "items": []map[string]any{
		{"completion": "<think>a</think><answer>C</answer>", "reference": "C"}}}, &sr)
	if code != 200 || sr.Scorer != "easyr1" || sr.Results[0].Overall != 1 {
		t.Fatalf("preset score: %d %+v", code, sr)
	}
	for _, bad := range []any{
		map[string]any{"preset": "nope", "items": []any{}},
		map[string]any{"items": []map[string]any{{"reference": "C"}}},
		"not an object",
	} {
		if code := post(t, srv.URL+"/v1/score", bad, nil); code != http.StatusBadRequest {
			t.Errorf("bad request %v: status %d", bad, code)
		}
	}

	// OpenRLHF remote RM shape: query = prompt + response (+ EOS), labels = references.
	prompt := "<|im_start|>user\nWhich letter?<|im_end|>\n<|im_start|>assistant\n"
	var or OpenRLHFResponse
	code = post(t, srv.URL+"/get_reward", map[string]any{
		"query":   []string{prompt + "<think>a</think><answer>C</answer><|im_end|>", prompt + "<answer>B</answer><|endoftext|>"},
		"prompts": []string{prompt, prompt},
		"labels":  []string{"C", "C"},
	}, &or)
	if code != 200 || len(or.Rewards) != 2 || or.Rewards[0] != 2 || or.Rewards[1] != 0 ||
		or.Scores[0] != 2 || or.ExtraLogs["format"][0] != 1 || or.ExtraLogs["accuracy"][1] != 0 {
		t.Fatalf("openrlhf: %d %+v", code, or)
	}
	if code := post(t, srv.URL+"/get_reward", map[string]any{"query": []string{"a"}, "labels": []string{"a", "b"}}, nil); code != http.StatusBadRequest {
		t.Errorf("mismatched labels: status %d", code)
	}
	resp, err := http.Get(srv.URL + "/v1/terms")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("terms: %v %v", err, resp)
	}
	resp.Body.Close()
}

func TestScoreJSONL(t *testing.T) {
	in := strings.Join([]string{
		`{"id":"a","completion":"<think>x</think><answer>C</answer>","reference":"C"}`,
		``,
		`{"id":"b","response":"<answer>C</answer>","solution":"<answer> C </answer>"}`,
	}, "\n")
	r1v, _ := Preset("r1v")
	var out bytes.Buffer
	st, err := ScoreJSONL(context.Background(), strings.NewReader(in), &out, r1v)
	if err != nil {
		t.Fatal(err)
	}
	if st.N != 2 || st.Mean != 1.5 {
		t.Fatalf("stats %+v", st)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var rec struct {
		ID     string `json:"id"`
		Reward Result `json:"reward"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil || rec.ID != "b" || rec.Reward.Overall != 1 {
		t.Fatalf("line 2: %s (%v)", lines[1], err)
	}
	if _, err := ScoreJSONL(context.Background(), strings.NewReader("{\"completion\":1}\n"), &out, r1v); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad line error: %v", err)
	}
}

func TestCompletionFromQuery(t *testing.T) {
	tests := []struct{ q, p, want string }{
		{"PROMPT<answer>C</answer><|im_end|>", "PROMPT", "<answer>C</answer>"},
		{"PROMPT<answer>C</answer><|im_end|><|endoftext|><|endoftext|>", "PROMPT", "<answer>C</answer>"},
		{"other<answer>C</answer>", "PROMPT", "other<answer>C</answer>"},
		{"PROMPT<answer>C</answer>\n", "PROMPT", "<answer>C</answer>\n"},
	}
	for _, tc := range tests {
		if got := CompletionFromQuery(tc.q, tc.p); got != tc.want {
			t.Errorf("CompletionFromQuery(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
}
