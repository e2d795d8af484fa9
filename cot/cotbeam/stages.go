package cotbeam

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/shards"
)

// requestCountEvery is how often a bundle waiting for figures adds the requests completed
// meanwhile to the progress counters.
const requestCountEvery = time.Second

// Counter names (namespace "eosin_cot"); the progress line reads them.
const (
	metricNS    = "eosin_cot"
	cFigures    = "figures"
	cSFT        = "sft_generated"
	cRL         = "rl_generated"
	cRejects    = "rejects"
	cNearDup    = "near_duplicates"
	cRequests   = "requests"
	cCacheHits  = "cache_hits"
	cFailures   = "request_failures"
	cShardsDone = "shards_written"
)

var (
	mFigures    = beam.NewCounter(metricNS, cFigures)
	mSFT        = beam.NewCounter(metricNS, cSFT)
	mRL         = beam.NewCounter(metricNS, cRL)
	mRejects    = beam.NewCounter(metricNS, cRejects)
	mNearDup    = beam.NewCounter(metricNS, cNearDup)
	mRequests   = beam.NewCounter(metricNS, cRequests)
	mCacheHits  = beam.NewCounter(metricNS, cCacheHits)
	mFailures   = beam.NewCounter(metricNS, cFailures)
	mShardsDone = beam.NewCounter(metricNS, cShardsDone)
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(figureElem), error](&readShardFn{})
	register.DoFn3x1[context.Context, []byte, func(figureElem), error](&readExtractFn{})
	register.DoFn6x1[context.Context, figureElem, func(figureSamples), func(string, sigElem), func(shards.Reject), func([]byte), error](&generateFn{})
	register.DoFn3x1[string, func(*sigElem) bool, func(string, string), error](&dedupFn{})
	register.Function3x1(bandKeys)
	register.DoFn3x0[string, func(*string) bool, func(string, string)](&collideFn{})
	register.DoFn4x1[string, func(*string) bool, func(*sigElem) bool, func(string, sigElem), error](&attachSigFn{})
	register.DoFn3x0[string, func(*string) bool, func(string, string)](&minDupFn{})
	register.Function2x0(noDrops)
	register.DoFn8x1[context.Context, figureSamples, int, int, func(*string, *string) bool, func(int, sampleElem), func(int, sampleElem), func(shards.Reject), error](&shardKeyFn{})
	register.DoFn5x1[context.Context, int, func(*sampleElem) bool, func(*int, *int) bool, func([]byte), error](&writePartFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&commitFn{})
	register.Function2x2(shardOne)
	register.Function1x1(countSFT)
	register.Function1x1(countRL)
	register.Function1x1(rejectPart)
	register.Function1x1(markerPart)
	register.Emitter1[figureElem]()
	register.Emitter1[figureSamples]()
	register.Emitter2[string, sigElem]()
	register.Emitter2[string, string]()
	register.Emitter2[int, sampleElem]()
	register.Emitter1[shards.Reject]()
	register.Emitter1[[]byte]()
	register.Iter1[sigElem]()
	register.Iter1[sampleElem]()
	register.Iter1[string]()
	register.Iter1[[]byte]()
	register.Iter2[int, int]()
	register.Iter2[string, string]()
}

// shardOne counts a sample of a shard.
func shardOne(k int, _ sampleElem) (int, int) { return k, 1 }

// countSFT and countRL count the SFT and RL samples of a figure.
func countSFT(fs figureSamples) int { return fs.count(false) }
func countRL(fs figureSamples) int  { return fs.count(true) }

// rejectPart and markerPart turn a reject and the impulse into commit parts.
func rejectPart(r shards.Reject) []byte { return commitPart{Reject: &r}.encode() }
func markerPart(_ []byte) []byte        { return commitPart{Marker: true}.encode() }

// readShardFn reads one shard of the committed figure dataset (element: JSON of its
// shards.ShardInfo) and emits its figures.
type readShardFn struct {
	Ref string     `json:"ref"` // PREFIX@VERSION
	S3  S3Settings `json:"s3"`
	ds  *shards.Dataset
}

func (f *readShardFn) Teardown() {
	if f.ds != nil {
		f.ds.Close()
	}
}

func (f *readShardFn) ProcessElement(ctx context.Context, shard []byte, emit func(figureElem)) error {
	var sh shards.ShardInfo
	if err := json.Unmarshal(shard, &sh); err != nil {
		return fmt.Errorf("shard reference: %w", err)
	}
	if f.ds == nil {
		ds, err := shards.Open(ctx, f.Ref, shards.ReadOptions{S3: f.S3.Config()})
		if err != nil {
			return fmt.Errorf("figures %s: %w", f.Ref, err)
		}
		f.ds = ds
	}
	for rec, err := range f.ds.ShardRecords(ctx, sh) {
		if err != nil {
			return err
		}
		if rec.Figure == nil {
			return fmt.Errorf("%s: record %s is not a figure", sh.Path, rec.ID())
		}
		b, err := json.Marshal(rec.Figure)
		if err != nil {
			return fmt.Errorf("figure %s: %w", rec.ID(), err)
		}
		emit(figureElem{Record: b, Image: rec.Figure.ImageBytes, Format: rec.Figure.Image.Format})
	}
	return nil
}

// readExtractFn reads an `eosin extract` output directory (figures.jsonl + images/).
type readExtractFn struct {
	Dir string `json:"dir"`
}

func (f *readExtractFn) ProcessElement(ctx context.Context, _ []byte, emit func(figureElem)) error {
	for in, err := range cot.ExtractDir(f.Dir) {
		if err != nil {
			return err
		}
		b, err := json.Marshal(in.Figure)
		if err != nil {
			return fmt.Errorf("figure %s: %w", in.Figure.ID, err)
		}
		emit(figureElem{Record: b, Image: in.Image, Format: in.ImageFormat, ImageError: in.ImageError})
	}
	return nil
}

// generateFn generates and verifies the samples of each figure (cot.Pipeline.Process). A
// bundle keeps up to Batch figures in flight on a pool of goroutines, so the requests of many
// figures run concurrently over the worker's shared client (whose concurrency bounds the
// requests in flight); results are emitted as they complete, the rest when the bundle ends.
// Emitted: the kept samples (SFT and RL) of each figure, the SFT samples' MinHash signatures
// (when dedup is on), rejects, and one statistics part per bundle.
type generateFn struct {
	Setting string `json:"setting"` // JSON of genSetting (free-form maps cannot be Beam fields)
	Batch   int    `json:"batch"`
	Dedup   bool   `json:"dedup"`
	gen     GenConfig
	client  *cot.Client
	pipe    *cot.Pipeline
	free    func()

	// per bundle
	in      chan cot.FigureInput
	out     chan genResult
	pending int
	stats   batchStats
	meter   *meter
	cancel  context.CancelFunc
	tick    *time.Ticker // counts the requests completed while the bundle waits
	// requests, cache hits and failures already added to the progress counters in this bundle
	countedRequests, countedHits, countedFailures int64
}

type genResult struct {
	out *cot.Output
	err error
}

// meter counts the requests of one bundle (it wraps the shared client).
type meter struct {
	c                                  *cot.Client
	requests, hits, attempts, failures atomic.Int64
}

func (m *meter) Complete(ctx context.Context, req *cot.ChatRequest) (*cot.ChatResponse, error) {
	resp, info, err := m.c.CompleteInfo(ctx, req)
	m.requests.Add(1)
	if info.Cached {
		m.hits.Add(1)
	}
	m.attempts.Add(int64(info.Attempts))
	if err != nil && ctx.Err() == nil {
		m.failures.Add(1)
	}
	return resp, err
}

// genSetting is what generateFn needs to build its client and pipeline.
type genSetting struct {
	Gen GenConfig  `json:"gen"`
	S3  S3Settings `json:"s3"`
}

func (f *generateFn) Setup() error {
	var set genSetting
	if err := json.Unmarshal([]byte(f.Setting), &set); err != nil {
		return fmt.Errorf("generate settings: %w", err)
	}
	f.gen = set.Gen
	c, free, err := acquireClient(set.Gen, set.S3)
	if err != nil {
		return fmt.Errorf("generator: %w", err)
	}
	f.client, f.free = c, free
	return nil
}

func (f *generateFn) Teardown() {
	if f.free != nil {
		f.free()
	}
}

func (f *generateFn) StartBundle(ctx context.Context, _ func(figureSamples), _ func(string, sigElem), _ func(shards.Reject), _ func([]byte)) error {
	f.meter = &meter{c: f.client}
	p, err := f.gen.pipeline(f.meter)
	if err != nil {
		return err
	}
	f.pipe = p
	bctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.in = make(chan cot.FigureInput)
	f.out = make(chan genResult, f.Batch)
	f.pending = 0
	f.stats = batchStats{}
	f.countedRequests, f.countedHits, f.countedFailures = 0, 0, 0
	f.tick = time.NewTicker(requestCountEvery)
	for range max(f.Batch, 1) {
		go func(in <-chan cot.FigureInput, out chan<- genResult) {
			for fig := range in {
				o, err := p.Process(bctx, fig)
				out <- genResult{o, err}
			}
		}(f.in, f.out)
	}
	return nil
}

func (f *generateFn) ProcessElement(ctx context.Context, e figureElem, emitSample func(figureSamples), emitSig func(string, sigElem),
	emitReject func(shards.Reject), emitPart func([]byte)) error {
	err := f.process(ctx, e, emitSample, emitSig, emitReject)
	if err != nil {
		// The bundle fails and this instance is not used again: stop its pool.
		f.tick.Stop()
		f.cancel()
		close(f.in)
		f.in = nil
	}
	return err
}

func (f *generateFn) process(ctx context.Context, e figureElem, emitSample func(figureSamples), emitSig func(string, sigElem),
	emitReject func(shards.Reject)) error {
	in, err := e.input()
	if err != nil {
		return err
	}
	for {
		select {
		case f.in <- in:
			f.pending++
			// emit what has finished meanwhile
			for {
				select {
				case r := <-f.out:
					f.pending--
					if err := f.emit(ctx, r, emitSample, emitSig, emitReject); err != nil {
						return err
					}
				default:
					return nil
				}
			}
		case r := <-f.out:
			f.pending--
			if err := f.emit(ctx, r, emitSample, emitSig, emitReject); err != nil {
				return err
			}
		case <-f.tick.C:
			f.countRequests(ctx)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *generateFn) FinishBundle(ctx context.Context, emitSample func(figureSamples), emitSig func(string, sigElem),
	emitReject func(shards.Reject), emitPart func([]byte)) error {
	if f.in == nil {
		return fmt.Errorf("generate: bundle already failed")
	}
	close(f.in)
	defer f.cancel()
	defer f.tick.Stop()
	var firstErr error
	for f.pending > 0 {
		select {
		case r := <-f.out:
			f.pending--
			if firstErr == nil {
				firstErr = f.emit(ctx, r, emitSample, emitSig, emitReject)
			}
		case <-f.tick.C:
			f.countRequests(ctx)
		}
	}
	if firstErr != nil {
		return firstErr
	}
	m := f.meter
	f.stats.Requests, f.stats.CacheHits = m.requests.Load(), m.hits.Load()
	f.stats.Attempts, f.stats.Failures = m.attempts.Load(), m.failures.Load()
	f.countRequests(ctx)
	st := f.stats
	emitPart(commitPart{Stats: &st}.encode())
	return nil
}

// countRequests adds the requests completed (cache hits and failures among them) since the
// last call to the progress counters. It runs on the bundle's goroutine (Beam counters
// count there) whenever a figure completes and at the end of the bundle, so progress shows
// the requests as they complete, not when the bundle ends.
func (f *generateFn) countRequests(ctx context.Context) {
	req, hits, fails := f.meter.requests.Load(), f.meter.hits.Load(), f.meter.failures.Load()
	mRequests.Inc(ctx, req-f.countedRequests)
	mCacheHits.Inc(ctx, hits-f.countedHits)
	mFailures.Inc(ctx, fails-f.countedFailures)
	f.countedRequests, f.countedHits, f.countedFailures = req, hits, fails
}

// emit sends one figure's output on.
func (f *generateFn) emit(ctx context.Context, r genResult, emitSample func(figureSamples), emitSig func(string, sigElem), emitReject func(shards.Reject)) error {
	if r.err != nil {
		return fmt.Errorf("generate: %w", r.err)
	}
	out := r.out
	f.stats.Figures++
	f.stats.Requested += out.Requested
	f.countRequests(ctx)
	mFigures.Inc(ctx, 1)
	mSFT.Inc(ctx, int64(len(out.SFT)))
	mRL.Inc(ctx, int64(len(out.RL)))
	mRejects.Inc(ctx, int64(len(out.Rejects)))
	var fs figureSamples
	for i := range out.SFT {
		s := &out.SFT[i]
		if err := fs.add(s.ID, false, s); err != nil {
			return err
		}
		if f.Dedup {
			sig := cot.MinHash(s.Problem + " " + s.Answer)
			emitSig(s.ID, sigElem{ID: s.ID, Sig: encodeSig(&sig)})
		}
	}
	for i := range out.RL {
		s := &out.RL[i]
		if err := fs.add(strings.TrimSuffix(s.ID, "-rl"), true, s); err != nil {
			return err
		}
	}
	if len(fs.Samples) > 0 {
		emitSample(fs)
	}
	for _, rej := range out.Rejects {
		emitReject(rej)
	}
	return nil
}

// bandKeys sends an SFT sample's id (not its signature) to each of its LSH band buckets.
func bandKeys(id string, e sigElem, emit func(string, string)) error {
	sig, err := decodeSig(e.Sig)
	if err != nil {
		return fmt.Errorf("sample %s: %w", id, err)
	}
	for b, k := range sig.BandKeys() {
		emit(fmt.Sprintf("%02d-%016x", b, k), id)
	}
	return nil
}

// collideFn finds the band buckets that hold two or more samples (the only ones where dedupFn
// can decide anything) and asks for their members' signatures: KV<sample id, bucket>.
type collideFn struct{}

func (f *collideFn) ProcessElement(bucket string, ids func(*string) bool, emit func(string, string)) {
	var ms []string
	var id string
	for ids(&id) {
		ms = append(ms, id)
	}
	slices.Sort(ms)
	if ms = slices.Compact(ms); len(ms) < 2 {
		return
	}
	for _, id := range ms {
		emit(id, bucket)
	}
}

// attachSigFn sends a sample's signature to each colliding bucket that asked for it, so only
// signatures that can matter travel to dedupFn, each once per such bucket.
type attachSigFn struct{}

func (f *attachSigFn) ProcessElement(id string, buckets func(*string) bool, sigs func(*sigElem) bool, emit func(string, sigElem)) error {
	var sig sigElem
	if !sigs(&sig) {
		return fmt.Errorf("sample %s: band bucket without a signature", id)
	}
	var b string
	for buckets(&b) {
		emit(b, sig)
	}
	return nil
}

// dedupFn decides within one LSH band bucket: members in id order, a member is a near
// duplicate of the first member with a smaller id whose estimated similarity reaches the
// threshold. Over all buckets a sample is dropped when any sample with a smaller id that shares
// a band bucket with it is that similar.
type dedupFn struct {
	Threshold float64 `json:"threshold"`
}

func (f *dedupFn) ProcessElement(_ string, sigs func(*sigElem) bool, emit func(string, string)) error {
	type member struct {
		id  string
		sig cot.Signature
	}
	var ms []member
	var e sigElem
	for sigs(&e) {
		s, err := decodeSig(e.Sig)
		if err != nil {
			return fmt.Errorf("sample %s: %w", e.ID, err)
		}
		ms = append(ms, member{e.ID, s})
	}
	if len(ms) < 2 {
		return nil
	}
	slices.SortFunc(ms, func(a, b member) int { return cmp.Compare(a.id, b.id) })
	ms = slices.CompactFunc(ms, func(a, b member) bool { return a.id == b.id })
	for i := 1; i < len(ms); i++ {
		for j := 0; j < i; j++ {
			if cot.Similarity(&ms[i].sig, &ms[j].sig) >= f.Threshold {
				emit(ms[i].id, ms[j].id)
				break
			}
		}
	}
	return nil
}

// minDupFn reduces the decisions about one sample (one per band bucket that found it a near
// duplicate) to the smallest id it nearly repeats.
type minDupFn struct{}

func (f *minDupFn) ProcessElement(id string, dups func(*string) bool, emit func(string, string)) {
	dup := ""
	var d string
	for dups(&d) {
		if dup == "" || d < dup {
			dup = d
		}
	}
	if dup != "" {
		emit(id, dup)
	}
}

// noDrops is the empty decision set when dedup is off.
func noDrops(_ []byte, _ func(string, string)) {}

// shardKeyFn drops near duplicates and assigns the other samples of a figure to the shards of
// their dataset (SFT or RL). A dropped SFT sample becomes a near_duplicate reject naming the
// smallest id it nearly repeats; its RL twin (same key) is dropped with it. The shard is a hash
// of the sample id modulo the dataset's shard count, which depends only on the number of
// samples generated (before dedup), so a rerun writes the same shards.
//
// The decisions arrive as an iterable side input, read into a map once per bundle: a map side
// input would cost the runner a state request per sample.
type shardKeyFn struct {
	PerShard int               `json:"per_shard"`
	drops    map[string]string // read in StartBundle
}

func (f *shardKeyFn) StartBundle(_ context.Context, _, _ int, drops func(*string, *string) bool,
	_, _ func(int, sampleElem), _ func(shards.Reject)) {
	f.drops = map[string]string{}
	var id, dup string
	for drops(&id, &dup) {
		f.drops[id] = dup
	}
}

func (f *shardKeyFn) ProcessElement(ctx context.Context, fs figureSamples, totalSFT, totalRL int, _ func(*string, *string) bool,
	emitSFT, emitRL func(int, sampleElem), emitReject func(shards.Reject)) error {
	for i := range fs.Samples {
		k := &fs.Samples[i]
		if dup, ok := f.drops[k.Key]; ok {
			if !k.RL {
				mNearDup.Inc(ctx, 1)
				emitReject(shards.Reject{Stage: "cot", Kind: "sample", ID: k.Key, Reason: "near_duplicate", Detail: "near duplicate of " + dup})
			}
			continue
		}
		e, err := fs.sample(i)
		if err != nil {
			return err
		}
		if e.RL {
			emitRL(beamrun.ShardOf(e.ID, totalRL, f.PerShard), e)
		} else {
			emitSFT(beamrun.ShardOf(e.ID, totalSFT, f.PerShard), e)
		}
	}
	return nil
}

// writePartFn writes one shard of a dataset in every format (shards.WritePart): the samples
// sorted by id, Parquet's index counting on from the samples of the shards before it. The
// objects are named by the version (reserved by this run alone) and the shard number, so a
// retried bundle rewrites the same objects and no other run writes them.
type writePartFn struct {
	Location string          `json:"location"` // the dataset prefix (Out/sft or Out/rl)
	Dataset  string          `json:"dataset"`  // sft | rl
	Version  string          `json:"version"`
	Formats  []shards.Format `json:"formats"`
	S3       S3Settings      `json:"s3"`
	store    storeHandle
}

func (f *writePartFn) Teardown() { f.store.close() }

func (f *writePartFn) ProcessElement(ctx context.Context, shard int, items func(*sampleElem) bool, counts func(*int, *int) bool, emit func([]byte)) error {
	var all []*shards.Sample
	var e sampleElem
	for items(&e) {
		s, err := e.sample()
		if err != nil {
			return err
		}
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *shards.Sample) int { return cmp.Compare(a.ID, b.ID) })
	all = slices.CompactFunc(all, func(a, b *shards.Sample) bool { return a.ID == b.ID })
	first := 0
	var k, n int
	for counts(&k, &n) {
		if k < shard {
			first += n
		}
	}
	st, err := f.store.open(ctx, f.Location, f.S3)
	if err != nil {
		return err
	}
	p, err := shards.WritePart(ctx, st, shards.WriteOptions{Formats: f.Formats, Version: f.Version, ShardTag: f.Version, S3: f.S3.Config()}, shard, first,
		shards.PartRecords{Kind: shards.KindSample, Samples: all})
	if err != nil {
		return fmt.Errorf("%s: %w", f.Dataset, err)
	}
	mShardsDone.Inc(ctx, 1)
	cp := commitPart{SFT: p}
	if f.Dataset == "rl" {
		cp = commitPart{RL: p}
	}
	emit(cp.encode())
	return nil
}
