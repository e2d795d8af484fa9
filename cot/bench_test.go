package cot

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// zeroServer answers every chat-completions request at once with a fixed small response.
func zeroServer() *httptest.Server {
	resp := ChatResponse{ID: "x", Model: "fake", Choices: []ChatChoice{{Index: 0, FinishReason: "stop"}}}
	resp.Choices[0].Message.Role = "assistant"
	resp.Choices[0].Message.Content = "<question>Q?</question><think>because</think><answer>A</answer>"
	raw, _ := json.Marshal(resp)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(raw)
	}))
}

// BenchmarkClientZeroLatency measures the requests per second the client sustains against a
// local server that answers at once (client and server share the machine's cores).
func BenchmarkClientZeroLatency(b *testing.B) {
	srv := zeroServer()
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL + "/v1", Concurrency: 64})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				req := &ChatRequest{Model: "fake", N: 1, Messages: []ChatMessage{{Role: "user", Content: "Describe the figure."}}}
				if _, err := c.Complete(context.Background(), req); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkInflightUtilisation runs the local driver (one mcq request per figure, no judge,
// no agreement) against a server answering after 50 ms, with the client's concurrency at 64,
// and reports the time-averaged share of the 64 slots the server saw busy.
func BenchmarkInflightUtilisation(b *testing.B) {
	fm := newFakeModel(time.Second)
	fm.latency = 50 * time.Millisecond
	defer fm.Close()
	c, err := NewClient(ClientConfig{BaseURL: fm.URL(), Concurrency: 64})
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPipeline(c, Config{Model: "fake", Tasks: []TaskSpec{{"mcq", "medium", 1}}})
	if err != nil {
		b.Fatal(err)
	}
	figs := testFigures(64 * 20)
	b.ResetTimer()
	var busy, wall time.Duration
	for i := 0; i < b.N; i++ {
		c2, _ := NewClient(ClientConfig{BaseURL: fm.URL(), Concurrency: 64}) // fresh stats, no cache
		p.gen = c2
		b0 := fm.busyNs.Load()
		start := time.Now()
		sum, err := Run(context.Background(), p, seqOf(figs), &memSink{}, RunConfig{Workers: 128, DedupThreshold: -1})
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		busy += time.Duration(fm.busyNs.Load() - b0)
		if sum.SFT != len(figs) {
			b.Fatalf("%d samples of %d (%v)", sum.SFT, len(figs), sum.Reasons)
		}
	}
	_ = c
	b.ReportMetric(100*busy.Seconds()/(64*wall.Seconds()), "util%")
	b.ReportMetric(float64(b.N*len(figs))/wall.Seconds(), "req/s")
}
