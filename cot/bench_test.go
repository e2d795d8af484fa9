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

// fixedServer answers every chat-completions request after latency with one fixed, valid mcq
// generation: a model server whose own CPU cost is negligible.
func fixedServer(latency time.Duration) (*httptest.Server, *atomic.Int64) {
	resp := ChatResponse{ID: "x", Model: "fake", Choices: []ChatChoice{{Index: 0, FinishReason: "stop"}}}
	resp.Choices[0].Message.Role = "assistant"
	resp.Choices[0].Message.Content = "<question>Which diagnosis best explains keratin pearls in this skin specimen?</question>\n" +
		"<options>\nA. melanoma\nB. squamous cell carcinoma\nC. tuberculosis\nD. schwannoma\n</options>\n" +
		"<think>Looking at the skin specimen first, the overall architecture is disturbed at low power. At higher " +
		"magnification the image shows keratin pearls, which is the key finding here. The alternatives would lack this " +
		"feature or show different cells, so the caption's description settles the question for squamous cell carcinoma.</think>\n" +
		"<answer>B</answer>"
	raw, _ := json.Marshal(resp)
	var busy atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		io.Copy(io.Discard, r.Body)
		if latency > 0 {
			time.Sleep(latency)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(raw)
		busy.Add(int64(time.Since(start)))
	})), &busy
}

// BenchmarkClientZeroLatency measures the requests per second the client sustains against a
// local server that answers at once (client and server share the machine's cores). One op is
// 2,000 requests from 64 callers through a client of concurrency 64.
func BenchmarkClientZeroLatency(b *testing.B) {
	srv, _ := fixedServer(0)
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL + "/v1", Concurrency: 64})
	if err != nil {
		b.Fatal(err)
	}
	const perOp = 2000
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 64; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= perOp {
					req := &ChatRequest{Model: "fake", N: 1, Messages: []ChatMessage{{Role: "user", Content: "Describe the figure."}}}
					if _, err := c.Complete(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.N*perOp)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkInflightUtilisation runs the local driver (one mcq request per figure, parsed and
// verified, no judge, no agreement; 2,560 figures per op) against a server answering after
// 50 ms, with the client's concurrency at 64. It reports util% (the time-averaged share of the
// 64 slots the client kept in flight), server% (the share the server saw inside its handler)
// and requests per second (the ideal is 64 / 50 ms = 1,280/s).
func BenchmarkInflightUtilisation(b *testing.B) {
	srv, busyNs := fixedServer(50 * time.Millisecond)
	defer srv.Close()
	figs := testFigures(64 * 40)
	b.ResetTimer()
	var wall time.Duration
	var slots, busy float64
	for i := 0; i < b.N; i++ {
		c, err := NewClient(ClientConfig{BaseURL: srv.URL + "/v1", Concurrency: 64}) // fresh stats, no cache
		if err != nil {
			b.Fatal(err)
		}
		p, err := NewPipeline(c, Config{Model: "fake", Tasks: []TaskSpec{{"mcq", "medium", 1}}, MinSupport: -1})
		if err != nil {
			b.Fatal(err)
		}
		b0 := busyNs.Load()
		start := time.Now()
		sum, err := Run(context.Background(), p, seqOf(figs), &memSink{}, RunConfig{Workers: 128, DedupThreshold: -1})
		if err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start)
		slots += c.Stats().SlotSeconds
		busy += time.Duration(busyNs.Load() - b0).Seconds()
		if sum.SFT != len(figs) {
			b.Fatalf("%d samples of %d (%v)", sum.SFT, len(figs), sum.Reasons)
		}
	}
	b.ReportMetric(100*slots/(64*wall.Seconds()), "util%")
	b.ReportMetric(100*busy/(64*wall.Seconds()), "server%")
	b.ReportMetric(float64(b.N*len(figs))/wall.Seconds(), "req/s")
}
