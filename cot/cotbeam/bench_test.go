package cotbeam

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/shards"
)

// benchServer answers every request at once with a valid mcq generation about the case number
// found in the prompt, with case-specific words so that samples of different figures are not
// near duplicates: a model server whose own cost is negligible.
func benchServer(latency time.Duration) *httptest.Server {
	caseRe := regexp.MustCompile(`case (\d+)`)
	vocab := strings.Fields(`acinar basal cortical ductal epithelial fibrous granular hyaline interstitial junctional
		keratinizing lobular mucinous necrotic oncocytic papillary reactive sclerotic trabecular umbilicated villous
		whorled xanthomatous zonal alveolar bullous cystic dysplastic eosinophilic follicular`)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if latency > 0 {
			time.Sleep(latency)
		}
		n := 0
		if m := caseRe.FindSubmatch(body); m != nil {
			fmt.Sscan(string(m[1]), &n)
		}
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		var words []string
		for range 10 {
			words = append(words, vocab[rng.IntN(len(vocab))])
		}
		content := fmt.Sprintf("<question>Case %d shows %s tissue. Which diagnosis best explains the keratin pearls?</question>\n"+
			"<options>\nA. melanoma\nB. squamous cell carcinoma\nC. tuberculosis\nD. schwannoma\n</options>\n"+
			"<think>Looking at the skin specimen first, the overall architecture is disturbed at low power. At higher "+
			"magnification the image shows keratin pearls, which is the key finding here. The alternatives would lack this "+
			"feature or show different cells, so the caption's description settles the question for squamous cell carcinoma.</think>\n"+
			"<answer>B</answer>", n, strings.Join(words, " "))
		resp := cot.ChatResponse{ID: "x", Model: "fake", Choices: []cot.ChatChoice{{Index: 0, FinishReason: "stop"}}}
		resp.Choices[0].Message.Role, resp.Choices[0].Message.Content = "assistant", content
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}))
}

// benchFigures are n figures with 16 KiB images, in id order.
func benchFigures(n int) []cot.FigureInput {
	img := make([]byte, 16<<10)
	copy(img, "\x89PNG\r\n\x1a\n")
	var out []cot.FigureInput
	for i := range n {
		out = append(out, cot.FigureInput{Image: img, Figure: shards.Figure{ID: fmt.Sprintf("b%05d", i), Label: "Figure 1",
			Caption: fmt.Sprintf("Squamous cell carcinoma of the skin with keratin pearls (case %d).", i),
			Doc:     shards.Doc{SHA256: strings.Repeat("ab", 32), URI: "file:///book.pdf"}, Page: 1,
			Image: shards.ImageInfo{Format: "png", Width: 64, Height: 64}}})
	}
	return out
}

// BenchmarkBeamVsLocal runs the same 1,000 figures (one mcq request each, judge and agreement
// off, dedup on, WebDataset + Parquet output) through the local driver (cot.Run) and through
// the Beam pipeline on in-process prism, without a cache, against a server answering at once
// (0ms: the machinery's own cost) and after 50 ms (a model server; 16 requests in flight).
// One op is one whole run, pipeline start and commit included; samples/s counts SFT samples.
func BenchmarkBeamVsLocal(b *testing.B) {
	for _, lat := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("%dms", lat.Milliseconds()), func(b *testing.B) { benchBeamVsLocal(b, lat) })
	}
}

func benchBeamVsLocal(b *testing.B, latency time.Duration) {
	const n = 1000
	srv := benchServer(latency)
	defer srv.Close()
	figs := benchFigures(n)
	root := b.TempDir()
	commitFigures(b, filepath.Join(root, "figures"), figs, 250)
	gen := GenConfig{BaseURL: srv.URL + "/v1", Concurrency: 16, Timeout: 30 * time.Second, Model: "fake",
		Tasks: []cot.TaskSpec{{Task: "mcq", Length: "medium", N: 1}}, Temperature: 0.8}
	formats := []shards.Format{shards.WebDataset, shards.Parquet}
	ctx := context.Background()
	run := 0 // versions are never reused: the benchmark function runs several times
	report := func(b *testing.B, samples int, elapsed time.Duration) {
		if samples != n {
			b.Fatalf("%d samples from %d figures", samples, n)
		}
		b.ReportMetric(float64(samples*b.N)/elapsed.Seconds(), "samples/s")
	}
	b.Run("local", func(b *testing.B) {
		start := time.Now()
		samples := 0
		for range b.N {
			run++
			c, err := cot.NewClient(cot.ClientConfig{BaseURL: gen.BaseURL, Concurrency: gen.Concurrency, Timeout: gen.Timeout})
			if err != nil {
				b.Fatal(err)
			}
			p, err := gen.pipeline(c)
			if err != nil {
				b.Fatal(err)
			}
			src, _, closeSrc, err := cot.OpenFigures(ctx, filepath.Join(root, "figures"), shards.ReadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			sink, err := cot.NewShardsSink(ctx, filepath.Join(root, "local"), shards.WriteOptions{Version: fmt.Sprintf("l%d", run), Formats: formats})
			if err != nil {
				b.Fatal(err)
			}
			sum, err := cot.Run(ctx, p, src, sink, cot.RunConfig{Workers: 32, Progress: time.Hour})
			closeSrc()
			c.Close()
			if err != nil {
				b.Fatal(err)
			}
			samples = sum.SFT
		}
		report(b, samples, time.Since(start))
	})
	b.Run("beam", func(b *testing.B) {
		start := time.Now()
		samples := 0
		for range b.N {
			run++
			sum, err := Run(ctx, Config{Pairs: filepath.Join(root, "figures"), Out: filepath.Join(root, "beam"),
				Version: fmt.Sprintf("b%d", run), Formats: formats, Batch: 32, Gen: gen}, nil)
			if err != nil {
				b.Fatal(err)
			}
			samples = sum.SFT
		}
		report(b, samples, time.Since(start))
	})
}

// occupancyServer wraps benchServer's handler and records, on the server side, the requests
// in flight over time: busy integrates them (request·seconds), first and last bound the span
// in which the server had work, and trace samples the in-flight count every 10 ms.
type occupancyServer struct {
	*httptest.Server
	mu          sync.Mutex
	inflight    int
	last        time.Time // last change of inflight
	busyNs      float64
	first, stop time.Time // first request in, last response out
}

func newOccupancyServer(latency time.Duration) *occupancyServer {
	o := &occupancyServer{}
	inner := benchServer(latency)
	h := inner.Config.Handler
	inner.Close()
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.track(1)
		defer o.track(-1)
		h.ServeHTTP(w, r)
	}))
	return o
}

func (o *occupancyServer) track(d int) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.first.IsZero() {
		o.first = now
	}
	if !o.last.IsZero() {
		o.busyNs += float64(o.inflight) * float64(now.Sub(o.last))
	}
	o.inflight += d
	o.last = now
	if d < 0 {
		o.stop = now
	}
}

// reset starts a new measurement.
func (o *occupancyServer) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.busyNs, o.first, o.stop, o.last = 0, time.Time{}, time.Time{}, time.Time{}
}

// firstAt returns when the first request came in.
func (o *occupancyServer) firstAt() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.first
}

// span returns the busy request·seconds and the span from the first request to the last response.
func (o *occupancyServer) span() (busy float64, span time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.busyNs / 1e9, o.stop.Sub(o.first)
}

// BenchmarkInflightUtilisation runs 2,560 figures (one mcq request each, dedup on, WebDataset +
// Parquet output, 16 KiB images) against a server answering after 50 ms with --concurrency 64,
// through the local driver (cot.Run, the reference) and through the Beam pipeline on in-process
// prism, like cot's BenchmarkInflightUtilisation does for the client. Measured on the server
// side: gen-util% is the time-averaged share of the 64 slots busy between the first request
// and the last response (how well generation keeps the model server fed); util% is the same
// over the whole run, reading, dedup, writing and commit included; samples/s counts SFT
// samples over the whole run (the ideal while generating is 64 / 50 ms = 1,280/s);
// s-before-gen and s-after-gen are the seconds of a run before the first request and after
// the last response.
func BenchmarkInflightUtilisation(b *testing.B) {
	const n, conc = 64 * 40, 64
	srv := newOccupancyServer(50 * time.Millisecond)
	defer srv.Close()
	root := b.TempDir()
	commitFigures(b, filepath.Join(root, "figures"), benchFigures(n), 250)
	gen := GenConfig{BaseURL: srv.URL + "/v1", Concurrency: conc, Timeout: 30 * time.Second, Model: "fake",
		Tasks: []cot.TaskSpec{{Task: "mcq", Length: "medium", N: 1}}, Temperature: 0.8}
	formats := []shards.Format{shards.WebDataset, shards.Parquet}
	ctx := context.Background()
	run := 0
	measure := func(b *testing.B, once func(version string) int) {
		var wall, spans, lead time.Duration
		var busy float64
		samples := 0
		for range b.N {
			run++
			srv.reset()
			start := time.Now()
			got := once(fmt.Sprintf("u%d", run))
			wall += time.Since(start)
			bs, sp := srv.span()
			busy += bs
			spans += sp
			lead += srv.firstAt().Sub(start)
			if got != n {
				b.Fatalf("%d samples of %d figures", got, n)
			}
			samples += got
		}
		b.ReportMetric(100*busy/(conc*spans.Seconds()), "gen-util%")
		b.ReportMetric(100*busy/(conc*wall.Seconds()), "util%")
		b.ReportMetric(float64(samples)/wall.Seconds(), "samples/s")
		b.ReportMetric(lead.Seconds()/float64(b.N), "s-before-gen")
		b.ReportMetric((wall-spans-lead).Seconds()/float64(b.N), "s-after-gen")
	}
	b.Run("local", func(b *testing.B) {
		measure(b, func(version string) int {
			c, err := cot.NewClient(cot.ClientConfig{BaseURL: gen.BaseURL, Concurrency: conc, Timeout: gen.Timeout})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			p, err := gen.pipeline(c)
			if err != nil {
				b.Fatal(err)
			}
			src, _, closeSrc, err := cot.OpenFigures(ctx, filepath.Join(root, "figures"), shards.ReadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer closeSrc()
			sink, err := cot.NewShardsSink(ctx, filepath.Join(root, "local"), shards.WriteOptions{Version: version, Formats: formats})
			if err != nil {
				b.Fatal(err)
			}
			sum, err := cot.Run(ctx, p, src, sink, cot.RunConfig{Workers: 2 * conc, Progress: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			return sum.SFT
		})
	})
	b.Run("beam", func(b *testing.B) {
		measure(b, func(version string) int {
			sum, err := Run(ctx, Config{Pairs: filepath.Join(root, "figures"), Out: filepath.Join(root, "beam"),
				Version: version, Formats: formats, Gen: gen}, nil)
			if err != nil {
				b.Fatal(err)
			}
			return sum.SFT
		})
	})
}
