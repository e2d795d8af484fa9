package reward

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
	srv := httptest.NewServer(NewServer(r1v, ServerOptions{}).Handler())
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

// blockingScorer is a composite whose one term reports each call on calls and then waits for
// release (closed: no wait).
func blockingScorer(t *testing.T, calls chan<- struct{}, release <-chan struct{}) *Composite {
	t.Helper()
	c, err := NewComposite("blocking", Term{Name: "block", Fn: "test", Weight: 1, Func: func(Input) float64 {
		calls <- struct{}{}
		<-release
		return 1
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServerBodyLimit(t *testing.T) {
	r1v, _ := Preset("r1v")
	srv := httptest.NewServer(NewServer(r1v, ServerOptions{MaxRequestBytes: 1 << 10}).Handler())
	defer srv.Close()
	small := `{"items":[{"completion":"<answer>C</answer>","reference":"C"}]}`
	big := `{"items":[{"completion":"` + strings.Repeat("x", 4<<10) + `","reference":"C"}]}`
	tests := []struct {
		name    string
		body    string
		chunked bool // no Content-Length: the limit is met while reading
		path    string
		want    int
	}{
		{"small", small, false, "/v1/score", http.StatusOK},
		{"big", big, false, "/v1/score", http.StatusRequestEntityTooLarge},
		{"big chunked", big, true, "/v1/score", http.StatusRequestEntityTooLarge},
		{"big openrlhf", `{"query":["` + strings.Repeat("x", 4<<10) + `"]}`, true, "/get_reward", http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, msg, tc.want)
			}
			if tc.want == http.StatusRequestEntityTooLarge && !strings.Contains(string(msg), "limit") {
				t.Errorf("413 body %q does not name the limit", msg)
			}
		})
	}
}

// TestServerConcurrencyCap: with two slots and no queue wait, a third request while two are
// being scored gets 503 with Retry-After, and no more than two score at once.
func TestServerConcurrencyCap(t *testing.T) {
	calls, release := make(chan struct{}, 16), make(chan struct{})
	srv := httptest.NewServer(NewServer(blockingScorer(t, calls, release), ServerOptions{MaxInflight: 2, QueueWait: -1}).Handler())
	defer srv.Close()
	body := map[string]any{"items": []map[string]any{{"completion": "x"}}}
	codes := make(chan int, 2)
	for range 2 {
		go func() { codes <- postCode(srv.URL+"/v1/score", body) }()
	}
	<-calls
	<-calls // both are scoring now
	b, _ := json.Marshal(body)
	resp, err := http.Post(srv.URL+"/v1/score", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third request: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if len(calls) != 0 {
		t.Errorf("the refused request was scored")
	}
	// health and terms do not take slots
	if r, err := http.Get(srv.URL + "/healthz"); err != nil || r.StatusCode != 200 {
		t.Errorf("healthz while busy: %v %v", err, r)
	} else {
		r.Body.Close()
	}
	close(release)
	for range 2 {
		if c := <-codes; c != http.StatusOK {
			t.Errorf("admitted request: status %d", c)
		}
	}
	if c := postCode(srv.URL+"/v1/score", body); c != http.StatusOK {
		t.Errorf("request after the others finished: status %d", c)
	}
}

func postCode(url string, body any) int {
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServerCancellation: when the client goes away, scoring stops before the next item.
func TestServerCancellation(t *testing.T) {
	calls, release := make(chan struct{}, 1000), make(chan struct{})
	h := NewServer(blockingScorer(t, calls, release), ServerOptions{}).Handler()
	reqCtx := make(chan context.Context, 1)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		reqCtx <- r.Context()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	items := make([]map[string]any, 100)
	for i := range items {
		items[i] = map[string]any{"completion": "x"}
	}
	b, _ := json.Marshal(map[string]any{"items": items})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/score", bytes.NewReader(b))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-calls // the first item is being scored
	serverCtx := <-reqCtx
	cancel()
	<-serverCtx.Done() // the server has seen the client go
	close(release)
	<-done
	<-errc
	if n := len(calls); n != 0 {
		t.Errorf("%d more items scored after the client went away", n)
	}
}

// TestServerTimeout: a request whose time is up is answered 503 and scores nothing more.
func TestServerTimeout(t *testing.T) {
	calls, release := make(chan struct{}, 1000), make(chan struct{})
	close(release)
	h := NewServer(blockingScorer(t, calls, release), ServerOptions{}).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithDeadline(r.Context(), time.Now().Add(-time.Second)) // already past
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
	defer srv.Close()
	for _, path := range []string{"/v1/score", "/get_reward"} {
		body := map[string]any{"items": []map[string]any{{"completion": "x"}}, "query": []string{"x"}}
		if c := postCode(srv.URL+path, body); c != http.StatusServiceUnavailable {
			t.Errorf("%s past its deadline: status %d, want 503", path, c)
		}
	}
	if n := len(calls); n != 0 {
		t.Errorf("%d items scored past the deadline", n)
	}
}

func TestDefaultAddrIsLoopback(t *testing.T) {
	host, _, err := net.SplitHostPort(DefaultAddr)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("DefaultAddr %q is not a loopback address", DefaultAddr)
	}
}
