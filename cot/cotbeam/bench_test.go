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
