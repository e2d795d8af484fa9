package cotbeam

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/reward"
	"github.com/eosinlab/eosin/shards"
)

// testTimeout is the clients' per-attempt timeout: long enough for a loaded 2-core machine.
const testTimeout = 3 * time.Second

var testTasks = []cot.TaskSpec{{Task: "mcq", Length: "medium", N: 2}, {Task: "reasoning", Length: "short", N: 1},
	{Task: "description", Length: "medium", N: 1}, {Task: "conversation", Length: "medium", N: 1}}

// testGen is the generation setup of package cot's tests, as a worker configuration.
func testGen(url, cache string) GenConfig {
	return GenConfig{BaseURL: url, Concurrency: 8, Timeout: testTimeout, MaxAttempts: 4, Cache: cache,
		Model: "fake", Tasks: testTasks, Temperature: 0.8, Judge: true, Agreement: 3}
}

// localPipeline is the same setup for the local driver.
func localPipeline(t testing.TB, url, cache string) (*cot.Pipeline, *cot.Client) {
	t.Helper()
	c, err := cot.NewClient(cot.ClientConfig{BaseURL: url, Concurrency: 8, Timeout: testTimeout, MaxAttempts: 4, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	p, err := testGen(url, cache).pipeline(c)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// realImages returns n page images of the shared PubLayNet sample (real JPEG bytes).
func realImages(t *testing.T, n int) [][]byte {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "publaynet")
	names, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if len(names) < n {
		if os.Getenv("CI") != "" {
			t.Fatalf("need %d images in %s, found %d", n, dir, len(names))
		}
		t.Skipf("need %d images in %s, found %d", n, dir, len(names))
	}
	sort.Strings(names)
	var out [][]byte
	for _, p := range names[:n] {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// commitFigures commits figs (sorted by id) as a figure dataset, perShard figures per shard.
func commitFigures(t testing.TB, prefix string, figs []cot.FigureInput, perShard int) {
	t.Helper()
	ctx := context.Background()
	fw, err := shards.Create(ctx, prefix, shards.WriteOptions{Version: "v1", Formats: []shards.Format{shards.WebDataset}, MaxRecords: perShard})
	if err != nil {
		t.Fatal(err)
	}
	for i := range figs {
		f := figs[i].Figure
		f.ImageBytes = figs[i].Image
		if err := fw.WriteFigure(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fw.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// readDataset verifies a committed dataset and returns its records' JSON by id.
func readDataset(t testing.TB, ref string) (map[string]*shards.Sample, *shards.Manifest) {
	t.Helper()
	ctx := context.Background()
	ds, err := shards.Open(ctx, ref, shards.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	rep, err := ds.Verify(ctx)
	if err != nil || rep.Err() != nil {
		t.Fatalf("%s: verify: %v %v", ref, err, rep.Err())
	}
	out := map[string]*shards.Sample{}
	for rec, err := range ds.Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out[rec.Sample.ID] = rec.Sample
	}
	if len(out) != ds.Manifest().Totals.Records {
		t.Fatalf("%s: %d distinct ids, %d records", ref, len(out), ds.Manifest().Totals.Records)
	}
	return out, ds.Manifest()
}

func rejectSet(m *shards.Manifest) []string {
	var out []string
	for _, r := range m.Rejects {
		out = append(out, r.ID+" "+r.Reason)
	}
	slices.Sort(out)
	return out
}

// TestBeamEndToEnd: a committed figure dataset (several shards) → the Beam pipeline on prism
// → SFT and RL versions that Verify accepts, in which every requested sample is a sample or a
// reject, and whose RL records score as intended with package reward. The local driver over
// the same figures (in id order) and the same cached responses gives the same samples, records
// and rejects, without sending a request.
func TestBeamEndToEnd(t *testing.T) {
	ctx := context.Background()
	imgs := realImages(t, 12)
	figs := testFigures(len(imgs), "", "garbage", "", "offcaption", "429", "", "drop", "judge", "500")
	for i := range figs {
		figs[i].Image = imgs[i]
		figs[i].Figure.Image.Format = "jpeg"
	}
	// a reprint: figure 10 again under another id (which sorts first, so the original goes)
	dup := figs[10]
	dup.Figure.ID = "fig-reprint"
	figs = append(figs, dup)
	slices.SortFunc(figs, func(a, b cot.FigureInput) int { return cmp.Compare(a.Figure.ID, b.Figure.ID) })
	root := t.TempDir()
	commitFigures(t, filepath.Join(root, "figures"), figs, 4)

	fm := newFakeModel(testTimeout)
	defer fm.Close()
	cfg := Config{Pairs: filepath.Join(root, "figures"), Out: filepath.Join(root, "out"), Version: "v1",
		Formats: []shards.Format{shards.WebDataset, shards.Parquet}, SamplesPerShard: 8, Batch: 6,
		Gen: testGen(fm.URL(), filepath.Join(root, "cache")), Beam: beamrun.Options{Progress: time.Second}}
	var progress bytes.Buffer
	sum, err := Run(ctx, cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("beam: %d figures → %d SFT, %d RL, %d rejects %v; client %+v; %v on %s\n%s", sum.Figures, sum.SFT, sum.RL,
		sum.Rejects, sum.Reasons, sum.Client, sum.Elapsed.Round(time.Millisecond), sum.Runner, progress.String())
	perFigure := 0
	for _, ts := range testTasks {
		perFigure += ts.N
	}
	if sum.Figures != len(figs) || sum.Requested != perFigure*len(figs) || sum.Requested != sum.SFT+sum.Rejects {
		t.Fatalf("summary: %+v", sum)
	}
	if sum.Reasons["near_duplicate"] != perFigure || sum.Reasons["parse_error"] != perFigure || sum.Reasons["judge_unsupported"] != perFigure {
		t.Errorf("reject reasons %v", sum.Reasons)
	}
	// (the reprint asks what its original asked: those requests may be answered from the cache)
	if c := sum.Client; c.Requests == 0 || c.Attempts <= c.Requests-c.CacheHits || c.Failures != 0 {
		t.Errorf("client totals %+v (retries expected for the 429, 500 and drop faults)", sum.Client)
	}
	sft, sm := readDataset(t, cfg.Out+"/sft")
	rl, rm := readDataset(t, cfg.Out+"/rl")
	if len(sft) != sum.SFT || len(rl) != sum.RL || sm.Totals.Shards < 4 || sm.Version != "v1" || rm.Version != "v1" {
		t.Fatalf("datasets: %d sft (%d shards), %d rl; summary %d, %d", len(sft), sm.Totals.Shards, len(rl), sum.SFT, sum.RL)
	}
	if len(sm.Rejects) != sum.Rejects || len(rm.Rejects) != 0 {
		t.Errorf("rejects: sft manifest %d, rl manifest %d, summary %d", len(sm.Rejects), len(rm.Rejects), sum.Rejects)
	}
	r1v, _ := reward.Preset("r1v")
	for id, r := range rl {
		twin := sft[strings.TrimSuffix(id, "-rl")]
		if twin == nil {
			t.Fatalf("RL %s has no SFT twin", id)
		}
		if len(r.Images) != 1 || len(r.Images[0].Bytes) == 0 || !strings.HasPrefix(r.Problem, "<image>") {
			t.Errorf("RL %s: images %d, problem %q", id, len(r.Images), r.Problem)
		}
		in := reward.Input{Completion: twin.Messages[len(twin.Messages)-1].Content, Reference: r.Answer, Task: r.Task, Options: r.Options}
		if got := r1v.Score(in); got.Overall != 2 {
			t.Errorf("RL %s: r1v score of its own reasoning %+v, want 2", id, got)
		}
		wrong := "<think>guess</think><answer>a reactive process</answer>"
		if r.Task == "mcq" {
			l := r.Answer[0] - 'A'
			wrong = "<think>guess</think><answer>" + string(rune('A'+(l+1)%byte(len(r.Options)))) + "</answer>"
		}
		in.Completion = wrong
		if got := r1v.Score(in); got.Overall != 1 || got.Components["accuracy"] != 0 {
			t.Errorf("RL %s: wrong answer scored %+v", id, got)
		}
	}
	for id := range sft {
		if strings.HasPrefix(id, "fig010-") {
			t.Errorf("%s kept although fig-reprint repeats it with a smaller id", id)
		}
	}

	// The local driver, same figures in the same (id) order, same cache.
	fm2 := newFakeModel(testTimeout)
	defer fm2.Close()
	p, client := localPipeline(t, fm2.URL(), filepath.Join(root, "cache"))
	defer client.Close()
	src, total, closeSrc, err := cot.OpenFigures(ctx, cfg.Pairs+"@v1", shards.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSrc()
	sink, err := cot.NewShardsSink(ctx, filepath.Join(root, "local"), shards.WriteOptions{Version: "v1", Formats: cfg.Formats})
	if err != nil {
		t.Fatal(err)
	}
	lsum, err := cot.Run(ctx, p, src, sink, cot.RunConfig{Workers: 8, Total: total})
	if err != nil {
		t.Fatal(err)
	}
	if fm2.Requests.Load() != 0 {
		t.Errorf("the local run sent %d requests; all were cached", fm2.Requests.Load())
	}
	lsft, lsm := readDataset(t, filepath.Join(root, "local", "sft"))
	lrl, _ := readDataset(t, filepath.Join(root, "local", "rl"))
	same := func(name string, a, b map[string]*shards.Sample) {
		if len(a) != len(b) {
			t.Errorf("%s: beam %d samples, local %d", name, len(a), len(b))
		}
		for id, s := range a {
			o := b[id]
			if o == nil {
				t.Errorf("%s: %s only in the beam output", name, id)
				continue
			}
			x, _ := json.Marshal(s)
			y, _ := json.Marshal(o)
			if !bytes.Equal(x, y) || !bytes.Equal(s.Images[0].Bytes, o.Images[0].Bytes) {
				t.Errorf("%s %s differs:\nbeam  %s\nlocal %s", name, id, x, y)
			}
		}
	}
	same("sft", sft, lsft)
	same("rl", rl, lrl)
	if a, b := rejectSet(sm), rejectSet(lsm); !slices.Equal(a, b) {
		t.Errorf("rejects differ:\nbeam  %v\nlocal %v", a, b)
	}
	if lsum.SFT != sum.SFT || lsum.RL != sum.RL || lsum.Requested != sum.Requested {
		t.Errorf("local summary %+v, beam %+v", lsum, sum)
	}

	// The version is committed: a second run under the same name is refused before it starts.
	if _, err := Run(ctx, cfg, nil); err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Errorf("rerun into a committed version: %v", err)
	}
}

// TestDedupLSHMatchesBruteForce: the band-bucket decisions of the Beam pipeline (dedupFn in
// every bucket, then the smallest near-duplicate id per sample) equal a brute-force pairwise
// comparison of MinHash signatures, and the local driver's Dedup fed in id order, on a table of
// near-duplicate texts (edits, reorderings, chains) and distinct ones.
func TestDedupLSHMatchesBruteForce(t *testing.T) {
	base := []string{
		"Which diagnosis best explains keratin pearls in this skin specimen? A. squamous cell carcinoma B. melanoma C. lymphoma D. tuberculosis",
		"Describe the histological findings in this colon image, with glandular structures with mucin and a desmoplastic stroma around them.",
		"Which diagnosis best explains reed sternberg cells in this lymph node specimen? A. hodgkin lymphoma B. leiomyoma C. schwannoma D. melanoma",
		"What stands out in this kidney image? The interlacing fascicles of smooth muscle that suggest a leiomyoma of the renal capsule.",
	}
	edits := []func(string) string{
		func(s string) string { return s },
		func(s string) string { return s + " E" },
		func(s string) string { return strings.Replace(s, "this", "the", 1) },
		func(s string) string { return strings.Replace(s, "in this", "seen in this", 1) },
		func(s string) string { w := strings.Fields(s); return strings.Join(w[:len(w)-2], " ") },
		func(s string) string { w := strings.Fields(s); w[0], w[1] = w[1], w[0]; return strings.Join(w, " ") },
		func(s string) string { return strings.ToUpper(s) },
		func(s string) string {
			w := strings.Fields(s)
			return strings.Join(w[len(w)/2:], " ") + " " + strings.Join(w[:len(w)/2], " ")
		},
		func(s string) string { w := strings.Fields(s); return strings.Join(w[:len(w)/3], " ") },
	}
	type item struct {
		id, text string
	}
	var items []item
	for i, b := range base {
		for j, e := range edits {
			// ids interleave the groups, so a group's smallest id is not its base text
			items = append(items, item{fmt.Sprintf("s%02d-%d", (j*7+i*3)%40, i), e(b)})
		}
	}
	for i := 0; i < 8; i++ {
		items = append(items, item{fmt.Sprintf("u%02d", i), fmt.Sprintf("Unrelated question %d about the %s of specimen number %d with %d features", i, []string{"cortex", "medulla", "stroma", "mucosa"}[i%4], i*13, i+2)})
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.id, b.id) })
	for _, threshold := range []float64{0.5, 0.8, 0.9} {
		t.Run(fmt.Sprint(threshold), func(t *testing.T) {
			sigs := map[string]cot.Signature{}
			buckets := map[string][]sigElem{} // every band bucket with its members' signatures
			bandIDs := map[string][]string{}  // the pipeline's band buckets: ids only
			for _, it := range items {
				s := cot.MinHash(it.text)
				sigs[it.id] = s
				for b, k := range s.BandKeys() {
					key := fmt.Sprintf("%02d-%016x", b, k)
					buckets[key] = append(buckets[key], sigElem{ID: it.id, Sig: encodeSig(&s)})
				}
				if err := bandKeys(it.id, sigElem{ID: it.id, Sig: encodeSig(&s)}, func(key, id string) {
					bandIDs[key] = append(bandIDs[key], id)
				}); err != nil {
					t.Fatal(err)
				}
			}
			// The pipeline's path: colliding buckets ask for their members' signatures, which
			// are attached by id and decided by dedupFn.
			asks := map[string][]string{}
			for key, ids := range bandIDs {
				slices.Reverse(ids) // members arrive in any order
				(&collideFn{}).ProcessElement(key, iterOf(ids), func(id, bucket string) { asks[id] = append(asks[id], bucket) })
			}
			bucketSigs := map[string][]sigElem{}
			for id, bs := range asks {
				s := sigs[id]
				if err := (&attachSigFn{}).ProcessElement(id, iterOf(bs), iterOf([]sigElem{{ID: id, Sig: encodeSig(&s)}}),
					func(bucket string, e sigElem) { bucketSigs[bucket] = append(bucketSigs[bucket], e) }); err != nil {
					t.Fatal(err)
				}
			}
			decide := func(buckets map[string][]sigElem) map[string]string {
				dups := map[string]string{}
				f := &dedupFn{Threshold: threshold}
				for key, members := range buckets {
					slices.Reverse(members)
					if err := f.ProcessElement(key, iterOf(members), func(id, dupOf string) {
						if cur, ok := dups[id]; !ok || dupOf < cur {
							dups[id] = dupOf
						}
					}); err != nil {
						t.Fatal(err)
					}
				}
				return dups
			}
			lsh := decide(bucketSigs)
			if all := decide(buckets); !maps.Equal(lsh, all) {
				t.Errorf("colliding buckets only: %v\nevery bucket: %v", lsh, all)
			}
			n := 0
			for _, m := range bucketSigs {
				n += len(m)
			}
			t.Logf("%d band entries, %d signatures sent to colliding buckets", len(items)*cot.MinHashBands, n)
			brute := map[string]bool{}
			local := map[string]bool{}
			d := cot.NewDedup(threshold)
			for i, it := range items {
				for j := 0; j < i; j++ {
					a, b := sigs[it.id], sigs[items[j].id]
					if cot.Similarity(&a, &b) >= threshold {
						brute[it.id] = true
						break
					}
				}
				if d.Check(it.id, it.text) != "" {
					local[it.id] = true
				}
			}
			dropped := 0
			for _, it := range items {
				_, l := lsh[it.id]
				if l != brute[it.id] {
					// LSH may miss a pair below 49/64 similarity that shares no band
					if threshold >= 49.0/64 {
						t.Errorf("%s: LSH dropped=%v, brute force %v (%q)", it.id, l, brute[it.id], it.text)
					}
				}
				if l != local[it.id] {
					t.Errorf("%s: beam rule dropped=%v, local Dedup %v", it.id, l, local[it.id])
				}
				if l {
					dropped++
				}
			}
			if dropped == 0 || dropped == len(items) {
				t.Errorf("threshold %g: %d of %d dropped", threshold, dropped, len(items))
			}
			t.Logf("threshold %g: %d of %d texts dropped", threshold, dropped, len(items))
		})
	}
}

// iterOf returns a Beam-style iterator over xs.
func iterOf[T any](xs []T) func(*T) bool {
	i := 0
	return func(x *T) bool {
		if i == len(xs) {
			return false
		}
		*x = xs[i]
		i++
		return true
	}
}

// TestFigureSamplesImagesOnce: a figure's samples carry its image once and get it back.
func TestFigureSamplesImagesOnce(t *testing.T) {
	img, other := []byte("\x89PNG one image"), []byte("\x89PNG another image")
	tests := []struct {
		name    string
		samples [][][]byte // images of each sample, in order
		stored  int
	}{
		{"sft and rl twin", [][][]byte{{img}, {img}}, 1},
		{"copies of the bytes", [][][]byte{{img}, {slices.Clone(img)}}, 1},
		{"two images", [][][]byte{{img, other}, {other}}, 2},
		{"no image", [][][]byte{{}, {img}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs figureSamples
			for i, ims := range tt.samples {
				s := &shards.Sample{ID: fmt.Sprintf("f-%d", i), Task: "mcq"}
				for _, im := range ims {
					s.Images = append(s.Images, shards.SampleImage{Format: "png", Bytes: im})
				}
				if err := fs.add("f-0", i%2 == 1, s); err != nil {
					t.Fatal(err)
				}
			}
			if len(fs.Images) != tt.stored || fs.count(false)+fs.count(true) != len(tt.samples) {
				t.Fatalf("%d images stored, want %d; counts %d+%d", len(fs.Images), tt.stored, fs.count(false), fs.count(true))
			}
			for i, ims := range tt.samples {
				e, err := fs.sample(i)
				if err != nil {
					t.Fatal(err)
				}
				s, err := e.sample()
				if err != nil {
					t.Fatal(err)
				}
				if len(s.Images) != len(ims) {
					t.Fatalf("sample %d: %d images, want %d", i, len(s.Images), len(ims))
				}
				for j := range ims {
					if !bytes.Equal(s.Images[j].Bytes, ims[j]) {
						t.Errorf("sample %d image %d: %q, want %q", i, j, s.Images[j].Bytes, ims[j])
					}
				}
			}
		})
	}
	fs := figureSamples{Samples: []sampleElem{{ID: "x", ImageRefs: []int{1}}}}
	if _, err := fs.sample(0); err == nil {
		t.Error("a dangling image reference was accepted")
	}
}

// TestBeamPortableRunner submits the pipeline to a prism job server as a portable runner
// (--runner=universal --endpoint --environment_type=LOOPBACK, the path Flink and Spark take),
// and checks that unusable runner settings are refused before anything runs.
func TestBeamPortableRunner(t *testing.T) {
	port, err := beamrun.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	jctx, stop := context.WithCancel(context.Background())
	defer stop()
	if _, err := prism.CreateJobServer(jctx, prism.Options{Port: port}); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	figs := testFigures(4)
	ex := filepath.Join(root, "extract")
	writeExtractDir(t, ex, figs)
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	gen := testGen(fm.URL(), "")
	gen.Tasks, gen.Agreement = []cot.TaskSpec{{Task: "mcq", Length: "medium", N: 1}}, 0
	cfg := Config{Pairs: ex, Out: filepath.Join(root, "out"), Version: "p1", Gen: gen,
		Beam: beamrun.Options{Runner: "universal", Endpoint: fmt.Sprintf("localhost:%d", port), EnvironmentType: "LOOPBACK", JobName: "cot-portable-test"}}
	sum, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Runner != "universal" || sum.Figures != 4 || sum.SFT != 4 || sum.RL != 4 {
		t.Fatalf("summary %+v", sum)
	}
	readDataset(t, cfg.Out+"/rl@p1")

	for _, bad := range []beamrun.Options{{Runner: "nope"}, {Runner: "universal", Endpoint: "localhost:1"}} {
		c := cfg
		c.Version, c.Beam = "p2", bad
		if _, err := Run(context.Background(), c, nil); err == nil {
			t.Errorf("runner settings %+v accepted", bad)
		}
	}
}

// TestBeamNothingKept: figures whose samples are all rejected (and an empty figure dataset)
// still commit valid, empty SFT and RL versions, the rejects listed in the SFT manifest.
func TestBeamNothingKept(t *testing.T) {
	root := t.TempDir()
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	gen := testGen(fm.URL(), "")
	gen.Tasks, gen.Agreement, gen.Judge = []cot.TaskSpec{{Task: "mcq", Length: "medium", N: 1}}, 0, false
	commitFigures(t, filepath.Join(root, "figures"), testFigures(3, "garbage", "garbage", "noimage"), 2)
	commitFigures(t, filepath.Join(root, "none"), nil, 2)
	for _, c := range []struct {
		pairs   string
		rejects int
	}{{"figures", 3}, {"none", 0}} {
		cfg := Config{Pairs: filepath.Join(root, c.pairs), Out: filepath.Join(root, "out-"+c.pairs), Version: "e1", Gen: gen,
			Formats: []shards.Format{shards.WebDataset, shards.MDS}}
		sum, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		sft, sm := readDataset(t, cfg.Out+"/sft")
		rl, _ := readDataset(t, cfg.Out+"/rl")
		if len(sft) != 0 || len(rl) != 0 || len(sm.Rejects) != c.rejects || sum.Rejects != c.rejects || sm.Totals.Shards != 2 {
			t.Errorf("%s: %d sft, %d rl, %d rejects, %d shards; summary %+v", c.pairs, len(sft), len(rl), len(sm.Rejects), sm.Totals.Shards, sum)
		}
	}
}
