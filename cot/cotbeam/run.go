package cotbeam

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/internal/progress"
	"github.com/eosinlab/eosin/shards"
)

// Summary is the outcome of a run, read back from the committed manifests.
type Summary struct {
	// Version is the version committed under Out/sft and Out/rl.
	Version string
	// Figures, Requested, SFT, RL and Reasons count the run exactly (from the data that
	// reached the commit step); Rejects is the number of reject records.
	Figures, Requested, SFT, RL, Rejects int
	Reasons                              map[string]int
	// Client sums the generator requests of all workers.
	Client ClientTotals
	// SFTManifest and RLManifest are the committed manifests.
	SFTManifest, RLManifest *shards.Manifest
	// Runner is the runner used; Counters the final Beam counters (namespace eosin_cot);
	// Elapsed the wall time of the pipeline.
	Runner   string
	Counters map[string]int64
	Elapsed  time.Duration
}

// plan is what the launcher fixes before the graph is built.
type plan struct {
	cfg     Config
	ref     string   // PREFIX@VERSION of the figure dataset ("" for an extract dir)
	shards  [][]byte // JSON of the shards.ShardInfo to read
	extract string   // absolute extract directory
	total   int      // figures, for the progress line
	created time.Time
	res     cot.Reservation // the version name and the LATEST versions the commit moves from
}

// buildGraph adds the cot pipeline to scope s:
//
//	figures: shards of the dataset → Reshuffle → read (fused with generate), or the extract
//	dir → Reshuffle →
//	generate (batched, concurrent) ─┬→ kept samples of each figure (its image once)
//	                                 ├→ signatures (by SFT id) → band ids → GroupByKey(band) →
//	                                 │  buckets of ≥ 2 ids → CoGroupByKey(id) with the signatures
//	                                 │  → GroupByKey(band) → votes → GroupByKey(id)
//	                                 │  → dedup decisions (side input of the shard keying)
//	                                 ├→ rejects
//	                                 └→ bundle statistics
//	samples: counts per dataset (side inputs) → drop near duplicates, shard key per dataset →
//	per dataset: GroupByKey(shard) → write part (every format)
//	everything → GroupByKey(fixed key) → commit SFT (with rejects) and RL versions.
func buildGraph(s beam.Scope, p plan) {
	cfg := p.cfg
	var figs beam.PCollection
	if p.extract != "" {
		// One element reads the whole directory: spread its figures over the workers.
		figs = beam.ParDo(s.Scope("read_extract"), &readExtractFn{Dir: p.extract}, beam.Impulse(s))
		figs = beam.Reshuffle(s.Scope("spread_figures"), figs)
	} else {
		// The shards are spread; each shard's figures stream into generate in the same fused
		// stage (no shuffle of the images, and generation starts with the first figure read).
		refs := beam.Reshuffle(s.Scope("spread_shards"), beam.CreateList(s.Scope("shards"), p.shards))
		figs = beam.ParDo(s.Scope("read_shards"), &readShardFn{Ref: p.ref, S3: cfg.S3}, refs)
	}
	dedup := cfg.DedupThreshold > 0
	setting, _ := json.Marshal(genSetting{Gen: cfg.Gen, S3: cfg.S3})
	samples, sigs, rejGen, statParts := beam.ParDo4(s.Scope("generate"),
		&generateFn{Setting: string(setting), Batch: cfg.Batch, Dedup: dedup}, figs)

	var drops beam.PCollection // KV<sample id, smallest id it nearly repeats>
	if dedup {
		// Signatures travel once, by sample id; band buckets group ids only, and only the
		// buckets holding two or more samples get their members' signatures.
		sc := s.Scope("dedup")
		asks := beam.ParDo(sc, &collideFn{}, beam.GroupByKey(sc, beam.ParDo(sc, bandKeys, sigs)))
		bucketSigs := beam.ParDo(sc, &attachSigFn{}, beam.CoGroupByKey(sc, asks, sigs))
		votes := beam.ParDo(sc, &dedupFn{Threshold: cfg.DedupThreshold}, beam.GroupByKey(sc, bucketSigs))
		drops = beam.ParDo(s.Scope("dedup_decide"), &minDupFn{}, beam.GroupByKey(s, votes))
	} else {
		drops = beam.ParDo(s.Scope("no_dedup"), noDrops, beam.Impulse(s))
	}
	sc := s.Scope("shard_key")
	totalSFT := stats.Sum(sc, beam.ParDo(sc, countSFT, samples))
	totalRL := stats.Sum(sc, beam.ParDo(sc, countRL, samples))
	sft, rl, rejKeep := beam.ParDo3(sc, &shardKeyFn{PerShard: cfg.SamplesPerShard}, samples,
		beam.SideInput{Input: totalSFT}, beam.SideInput{Input: totalRL}, beam.SideInput{Input: drops})
	write := func(name string, keyed beam.PCollection) beam.PCollection {
		sc := s.Scope("write_" + name)
		counts := stats.SumPerKey(sc, beam.ParDo(sc, shardOne, keyed))
		return beam.ParDo(sc, &writePartFn{Location: cfg.Out + "/" + name, Dataset: name, Version: cfg.Version,
			Formats: cfg.Formats, S3: cfg.S3}, beam.GroupByKey(sc, keyed), beam.SideInput{Input: counts})
	}
	sftParts := write("sft", sft)
	rlParts := write("rl", rl)
	rejParts := beam.ParDo(s, rejectPart, beam.Flatten(s, rejGen, rejKeep))
	marker := beam.ParDo(s, markerPart, beam.Impulse(s))
	parts := beam.Flatten(s, sftParts, rlParts, rejParts, statParts, marker)
	runInfo, _ := json.Marshal(map[string]any{"runner": cfg.Beam.RunnerName(), "pairs": cfg.Pairs, "model": cfg.Gen.Model})
	beam.ParDo0(s.Scope("commit"), &commitFn{Out: cfg.Out, Version: cfg.Version, SFTParent: p.res.SFTParent, RLParent: p.res.RLParent,
		Generator: cfg.Gen.BaseURL, Formats: cfg.Formats, Created: p.created.Format(time.RFC3339), S3: cfg.S3, RunInfo: string(runInfo)},
		beam.GroupByKey(s, beam.AddFixedKey(s, parts)))
}

// Run generates the SFT and RL datasets of cfg on Beam and returns once both versions are
// committed. Before anything is written it checks the generator (unless cfg.NoCheck) and
// reserves the version name in both datasets (cot.Reserve); the commit step moves LATEST by
// compare-and-swap, and a run that fails gives the name back. Progress lines (cot.Progress,
// through internal/progress) go to progressOut (nil: none) every cfg.Beam.Progress, and a
// final line when the job ends.
func Run(ctx context.Context, cfg Config, progressOut io.Writer) (*Summary, error) {
	fixedVersion := cfg.Version != ""
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if !cfg.NoCheck {
		if err := cot.CheckGenerator(ctx, cot.ClientConfig{BaseURL: cfg.Gen.BaseURL, APIKeyEnv: cfg.Gen.APIKeyEnv, Timeout: cfg.Gen.Timeout},
			cfg.Gen.Model); err != nil {
			return nil, err
		}
	}
	var err error
	if cfg.Out, err = absLocation(strings.TrimRight(cfg.Out, "/")); err != nil {
		return nil, err
	}
	if cfg.Gen.Cache, err = absLocation(cfg.Gen.Cache); err != nil {
		return nil, err
	}
	p := plan{cfg: cfg, created: time.Now().UTC().Truncate(time.Second)}
	if st, err := os.Stat(filepath.Join(cfg.Pairs, "figures.jsonl")); err == nil && !st.IsDir() {
		if p.extract, err = filepath.Abs(cfg.Pairs); err != nil {
			return nil, err
		}
		if p.total, err = cot.CountExtractDir(cfg.Pairs); err != nil {
			return nil, fmt.Errorf("figures %s: %w", cfg.Pairs, err)
		}
	} else {
		prefix, version := shards.SplitRef(cfg.Pairs)
		if prefix, err = absLocation(prefix); err != nil {
			return nil, err
		}
		ds, err := shards.Open(ctx, prefix+optVersion(version), shards.ReadOptions{S3: cfg.S3.Config()})
		if err != nil {
			return nil, fmt.Errorf("figures %s: %w", cfg.Pairs, err)
		}
		m := ds.Manifest()
		p.ref = prefix + "@" + ds.Version()
		if m.Kind != shards.KindFigure && m.Totals.Records > 0 {
			ds.Close()
			return nil, fmt.Errorf("figures %s: dataset holds %s records, want figures", cfg.Pairs, m.Kind)
		}
		for _, sh := range m.ShardsOf(ds.PreferredFormat()) {
			b, _ := json.Marshal(sh)
			p.shards = append(p.shards, b)
		}
		p.total = m.Totals.Records
		ds.Close()
	}
	sftStore, rlStore, err := cot.OpenOutput(ctx, cfg.Out, cfg.S3.Config())
	if err != nil {
		return nil, err
	}
	defer sftStore.Close()
	defer rlStore.Close()
	res, err := cot.Reserve(ctx, sftStore, rlStore, cfg.Out, cfg.Version, fixedVersion)
	if err != nil {
		return nil, err
	}
	cfg.Version, p.cfg.Version = res.Version, res.Version
	p.res = *res
	committed := false
	defer func() {
		if !committed {
			if err := res.Release(context.WithoutCancel(ctx), sftStore, rlStore); err != nil {
				slog.Warn("cot: releasing the version name", "version", res.Version, "err", err)
			}
		}
	}()

	b := cfg.Beam
	if b.JobName == "" {
		b.JobName = "eosin-cot-" + jobSafe.ReplaceAllString(strings.ToLower(cfg.Version), "-")
	}
	b.Namespace = metricNS
	total := p.total
	var line *progress.Line
	if progressOut != nil && b.Progress > 0 {
		line = progress.NewLine(progressOut, b.Progress)
		b.ProgressLine = func(c map[string]int64, el time.Duration) string { return progressLine(c, total, el) }
		b.ProgressOut = lineWriter{line}
	} else {
		b.ProgressOut = nil
	}

	sess := beamrun.Begin()
	defer sess.End()
	pipe, s := beam.NewPipelineWithRoot()
	if len(p.shards) == 0 && p.extract == "" {
		p.shards = [][]byte{} // an empty dataset still commits empty versions
	}
	buildGraph(s, p)
	slog.Info("cot on beam", "version", cfg.Version, "runner", b.RunnerName(), "pairs", cfg.Pairs, "figures", p.total, "output", cfg.Out)
	run, err := sess.Run(ctx, pipe, b)
	if line != nil && run != nil && run.Counters != nil {
		line.Print(progressLine(run.Counters, total, run.Elapsed), true)
	}
	if err != nil {
		return nil, fmt.Errorf("cot %s on %s: %w", cfg.Version, b.RunnerName(), jobError(err))
	}
	committed = true
	sum := &Summary{Version: cfg.Version, Runner: run.Runner, Counters: run.Counters, Elapsed: run.Elapsed}
	for _, x := range []struct {
		name string
		dst  **shards.Manifest
	}{{"sft", &sum.SFTManifest}, {"rl", &sum.RLManifest}} {
		ds, err := shards.Open(ctx, cfg.Out+"/"+x.name+"@"+cfg.Version, shards.ReadOptions{S3: cfg.S3.Config()})
		if err != nil {
			return sum, fmt.Errorf("after the run: %w", err)
		}
		*x.dst = ds.Manifest()
		ds.Close()
	}
	if err := sum.fromStats(sum.SFTManifest.Stats); err != nil {
		return sum, err
	}
	sum.Rejects = len(sum.SFTManifest.Rejects)
	return sum, nil
}

var jobSafe = regexp.MustCompile(`[^a-z0-9-]+`)

func optVersion(v string) string {
	if v == "" {
		return ""
	}
	return "@" + v
}

// fromStats reads the counts the commit step put into the SFT manifest.
func (s *Summary) fromStats(st map[string]any) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var v struct {
		Figures   int            `json:"cot_figures"`
		Requested int            `json:"cot_requested"`
		SFT       int            `json:"cot_sft"`
		RL        int            `json:"cot_rl"`
		Reasons   map[string]int `json:"cot_reject_reasons"`
		Client    ClientTotals   `json:"cot_client"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("manifest stats: %w", err)
	}
	s.Figures, s.Requested, s.SFT, s.RL, s.Reasons, s.Client = v.Figures, v.Requested, v.SFT, v.RL, v.Reasons, v.Client
	return nil
}

// absLocation makes a local path absolute (workers may run elsewhere in the filesystem);
// s3:// locations and "" stay as they are.
func absLocation(loc string) (string, error) {
	if loc == "" || strings.HasPrefix(loc, "s3://") {
		return loc, nil
	}
	a, err := filepath.Abs(loc)
	if err != nil {
		return "", fmt.Errorf("%s: %w", loc, err)
	}
	return a, nil
}

// jobError is the error of a failed job; when the commit step failed for one of the reasons
// of package cot, which reach the launcher as text inside the runner's report, it is that
// reason alone, wrapping its sentinel (cot.ErrAllRequestsFailed, shards.ErrLatestMoved).
func jobError(err error) error {
	msg := err.Error()
	for _, known := range []struct {
		text     string
		sentinel error
	}{
		{cot.ErrAllRequestsFailed.Error(), cot.ErrAllRequestsFailed},
		{"another run committed ", shards.ErrLatestMoved},
	} {
		i := strings.LastIndex(msg, known.text)
		if i < 0 {
			continue
		}
		line, _, _ := strings.Cut(msg[i:], "\n")
		if known.sentinel == cot.ErrAllRequestsFailed {
			return fmt.Errorf("%w%s", known.sentinel, strings.TrimPrefix(line, known.text))
		}
		return fmt.Errorf("%s (%w)", line, known.sentinel)
	}
	return err
}

// progressLine formats the counters as the progress line of package cot (cot.Progress).
func progressLine(c map[string]int64, total int, elapsed time.Duration) string {
	return cot.Progress{Figures: c[cFigures], Total: int64(total), SFT: c[cSFT], RL: c[cRL],
		Rejects: c[cRejects] + c[cNearDup], NearDup: c[cNearDup], Requests: c[cRequests], CacheHits: c[cCacheHits],
		Failures: c[cFailures], Shards: c[cShardsDone]}.Line(elapsed)
}

// lineWriter turns the lines beamrun writes into progress.Line prints (redrawn on a
// terminal).
type lineWriter struct{ l *progress.Line }

func (w lineWriter) Write(b []byte) (int, error) {
	w.l.Print(string(b), false)
	return len(b), nil
}
