package pipelines

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// Summary is the outcome of a build.
type Summary struct {
	// Version is the committed version ("" when nothing new was found).
	Version string
	// Location is the dataset prefix (output).
	Location string
	// Manifest is the committed manifest (nil when nothing new was found).
	Manifest *shards.Manifest
	// Build holds the exact counts of this build (from its build report).
	Build BuildStats
	// Counters are the Beam counters of namespace "eosin", summed over steps (the progress
	// line's source; prism can lose updates, so Build is the reference).
	Counters map[string]int64
	// Elapsed is the wall time of the pipeline run.
	Elapsed time.Duration
	// Runner names the runner used.
	Runner string
}

// Run builds (or extends) the dataset described by cfg. Progress lines go to progress (nil:
// none). It returns after the commit step has run; Summary.Version is the new LATEST.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Summary, error) {
	sess := beamrun.Begin()
	defer sess.End()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Inputs = slices.Clone(cfg.Inputs)
	for i, in := range cfg.Inputs {
		if strings.HasPrefix(in, "s3://") || strings.ContainsAny(in, "*?[") {
			continue
		}
		if _, err := os.Stat(in); err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		abs, err := absPath(in)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", in, err)
		}
		cfg.Inputs[i] = abs
	}
	if !strings.HasPrefix(cfg.Output, "s3://") {
		abs, err := absPath(cfg.Output)
		if err != nil {
			return nil, err
		}
		cfg.Output = abs
	}
	s3 := S3Settings{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Insecure: cfg.S3Insecure, CABundle: cfg.S3CABundle}
	st, err := storage.Open(ctx, cfg.Output, s3.Config())
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	defer st.Close()
	p := plan{cfg: cfg, created: time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)}
	if p.prevVersion, err = readLatest(ctx, st); err != nil {
		return nil, err
	}
	latestBefore := p.prevVersion
	if p.prevVersion != "" {
		m, err := readManifest(ctx, st, p.prevVersion)
		if err != nil {
			return nil, fmt.Errorf("previous version (LATEST): %w", err)
		}
		if cfg.Incremental {
			p.done = m.Documents
		} else {
			// A full rebuild: the new version starts empty (nothing carried, nothing skipped).
			slog.Info("full rebuild: the new version will not carry the previous one", "previous", p.prevVersion)
			p.prevVersion = ""
		}
	}
	if p.version, err = newVersion(ctx, st, time.Now().UTC()); err != nil {
		return nil, err
	}
	runner := strings.ToLower(cfg.Runner)
	if runner == "" {
		runner = "prism"
	}
	info, _ := json.Marshal(map[string]any{"runner": runner, "config": cfg})
	p.runInfo = string(info)

	pipe, s := beam.NewPipelineWithRoot()
	buildGraph(s, p)

	jobName := cfg.JobName
	if jobName == "" {
		jobName = "eosin-build-" + strings.ToLower(p.version)
	}
	slog.Info("corpus build", "version", p.version, "previous", p.prevVersion, "runner", runner, "endpoint", cfg.Endpoint, "output", cfg.Output, "skip_documents", len(p.done))
	res, err := sess.Run(ctx, pipe, beamrun.Options{
		Runner: cfg.Runner, Endpoint: cfg.Endpoint, EnvironmentType: cfg.EnvironmentType,
		EnvironmentConfig: cfg.EnvironmentConfig, WorkerBinary: cfg.WorkerBinary, JobName: jobName,
		BeamOptions: cfg.BeamOptions, Progress: cfg.Progress, ProgressOut: progress,
		Namespace: metricNS, ProgressLine: progressLine,
	})
	if err != nil {
		return nil, fmt.Errorf("build %s on %s: %w", p.version, runner, err)
	}
	sum := &Summary{Location: cfg.Output, Elapsed: res.Elapsed, Runner: runner, Counters: map[string]int64{}}
	if res.Counters != nil {
		sum.Counters = res.Counters
	}
	rb, err := storage.ReadAll(ctx, st, reportKey(p.version))
	if err != nil {
		return sum, fmt.Errorf("build report: %w", err)
	}
	var report BuildReport
	if err := json.Unmarshal(rb, &report); err != nil {
		return sum, fmt.Errorf("build report: %w", err)
	}
	sum.Build = report.Build
	latest, err := readLatest(ctx, st)
	if err != nil {
		return sum, err
	}
	if latest == p.version {
		sum.Version = latest
		if sum.Manifest, err = readManifest(ctx, st, latest); err != nil {
			return sum, err
		}
	} else if latest != latestBefore {
		return sum, fmt.Errorf("after the build LATEST is %q, neither the new version %s nor the previous %q", latest, p.version, latestBefore)
	}
	return sum, nil
}

func absPath(p string) (string, error) {
	if _, err := os.Stat(p); err != nil && !os.IsNotExist(err) {
		return "", err
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if path.IsAbs(p) {
		return path.Clean(p), nil
	}
	return path.Join(wd, p), nil
}

// newVersion names a new version after the UTC time, adding a suffix when that name is
// already taken (even by an uncommitted, crashed build: its objects are never reused).
func newVersion(ctx context.Context, st storage.Store, now time.Time) (string, error) {
	base := now.Format("20060102T150405Z")
	entries, err := st.List(ctx, "")
	if err != nil {
		return "", fmt.Errorf("list %s: %w", st, err)
	}
	taken := map[string]bool{}
	for _, e := range entries {
		taken[e.Key] = true
	}
	v := base
	for i := 2; taken[v]; i++ {
		v = fmt.Sprintf("%s-%d", base, i)
	}
	if err := shards.ValidVersion(v); err != nil {
		return "", err
	}
	return v, nil
}

// freePort returns a free TCP port on localhost.
func freePort() (int, error) { return beamrun.FreePort() }

// progressLine formats counters as one progress line with rate and ETA. The ETA counts
// documents: found minus skipped, duplicate and finished ones remain.
func progressLine(c map[string]int64, elapsed time.Duration) string {
	done := c[cDocsProcessed] + c[cDocsRejected]
	todo := c[cDocsFound] - c[cDocsSkipped] - c[cDocsDuplicate]
	rate := float64(c[cPagesDone]) / elapsed.Seconds()
	eta := "?"
	if done > 0 && todo >= done {
		perDoc := elapsed / time.Duration(done)
		eta = (perDoc * time.Duration(todo-done)).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] documents %d/%d (skipped %d)  pages %d (%.1f/s)  figures %d found, %d kept  rejects %d  ETA %s",
		elapsed.Round(time.Second), done, todo, c[cDocsSkipped], c[cPagesDone], rate, c[cFiguresFound], c[cFiguresKept], c[cRejects], eta)
}

// PrintSummary writes the summary table of a build.
func PrintSummary(w io.Writer, s *Summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	b := s.Build
	row := func(name string, v any) { fmt.Fprintf(tw, "%s\t%v\t\n", name, v) }
	fmt.Fprintln(tw, "this build\t\t")
	row("documents found", b.DocsFound)
	row("  skipped (already committed)", b.DocsSkipped)
	row("  duplicate copies", b.DocsDuplicate)
	row("  unreadable", b.DocsUnreadable)
	row("  processed", b.DocsProcessed)
	row("  rejected", b.DocsRejected)
	row("pages", b.Pages)
	row("  rejected", b.PagesRejected)
	row("figures found", b.FiguresFound)
	row("  filtered", b.FiguresFiltered)
	row("  duplicates", b.FiguresDuplicate)
	row("  written", b.FiguresWritten)
	row("near-duplicate caption groups", b.CaptionGroups)
	row("rejects", b.Rejects)
	row("elapsed", s.Elapsed.Round(time.Millisecond))
	if secs := s.Elapsed.Seconds(); secs > 0 {
		row("pages/s", fmt.Sprintf("%.2f", float64(b.Pages)/secs))
	}
	if m := s.Manifest; m != nil {
		fmt.Fprintln(tw, "dataset\t\t")
		row("version", m.Version)
		row("documents", len(m.Documents))
		row("figures", m.Totals.Records)
		row("shards", m.Totals.Shards)
		row("bytes", m.Totals.Bytes)
		row("rejects", m.Totals.Rejects)
		keys := make([]string, 0, len(m.RejectCounts))
		for k := range m.RejectCounts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row("  "+k, m.RejectCounts[k])
		}
	}
	tw.Flush()
	if s.Manifest != nil {
		dir := strings.TrimSuffix(s.Location, "/") + "/" + s.Version
		fmt.Fprintf(w, "\ndataset: %s (manifest %s/%s, LATEST → %s)\n", dir, dir, shards.ManifestName, s.Version)
	} else {
		fmt.Fprintf(w, "\nnothing new: %s is unchanged\n", s.Location)
	}
}
