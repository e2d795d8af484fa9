package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/internal/progress"
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
	// SupersededBy names the version of a concurrent build that committed every document
	// this build processed (this build then committed nothing).
	SupersededBy string
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
	p := plan{cfg: cfg, created: time.Now().UTC().Truncate(time.Second).Format(time.RFC3339), eosin: eosinVersion()}
	cleanTemporaries(ctx, st)
	if p.parent, err = finishPending(ctx, st); err != nil {
		return nil, err
	}
	ext, fp := cfg.ExtractionSettings()
	p.fingerprint = fp
	p.staging = stagingKey(fp, p.eosin)
	eb, _ := json.Marshal(ext)
	p.extraction = string(eb)
	sb, _ := json.Marshal(cfg.Settings())
	p.settings = string(sb)
	p.prevVersion = p.parent
	if p.parent != "" {
		m, err := readManifest(ctx, st, p.parent)
		if err != nil {
			return nil, fmt.Errorf("previous version (LATEST): %w", err)
		}
		switch {
		case !cfg.Incremental:
			// A full rebuild: the new version starts empty (nothing carried, nothing skipped).
			slog.Info("full rebuild: the new version will not carry the previous one", "previous", p.parent)
			p.prevVersion = ""
		case cfg.Reprocess:
			slog.Info("reprocess: every input document is processed again", "previous", p.parent, "committed_documents", len(m.Documents))
		}
		committed := doneDocuments(m, fp, ext) // what LATEST holds with these settings
		if cfg.Incremental && !cfg.Reprocess {
			p.done = committed
		}
		// Staging of those documents (left by a build interrupted after its commit) is of no
		// further use.
		done := map[string]bool{}
		for _, d := range committed {
			done[d] = true
		}
		stg := stage{Key: p.staging, sink: sink{store: st}}
		stg.removeDocs(ctx, done)
	}
	if p.version, err = shards.ReserveVersion(ctx, st, time.Now().UTC().Format("20060102T150405Z"), shards.Reservation{Base: p.parent}); err != nil {
		return nil, err
	}
	runner := strings.ToLower(cfg.Runner)
	if runner == "" {
		runner = "prism"
	}
	info, _ := json.Marshal(map[string]any{"runner": runner})
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
		Namespace: metricNS, ProgressLine: (&buildProgress{}).line,
	})
	if err != nil {
		if ctx.Err() != nil && committedReport(st, p.version) {
			// Interrupted after the commit step had moved LATEST: the version stands.
			slog.Warn("interrupted after the commit: the version is committed", "version", p.version)
		} else {
			return nil, fmt.Errorf("build %s on %s: %w", p.version, runner, err)
		}
	}
	sum := &Summary{Location: cfg.Output, Elapsed: res.Elapsed, Runner: runner, Counters: map[string]int64{}}
	if res.Counters != nil {
		sum.Counters = res.Counters
	}
	rb, err := storage.ReadAll(context.WithoutCancel(ctx), st, reportKey(p.version))
	if err != nil {
		return sum, fmt.Errorf("build report: %w", err)
	}
	var report BuildReport
	if err := json.Unmarshal(rb, &report); err != nil {
		return sum, fmt.Errorf("build report: %w", err)
	}
	sum.Build = report.Build
	if report.Build.DocsFound == 0 {
		return sum, fmt.Errorf("the inputs match no PDF file or article package (%s): nothing was committed", strings.Join(cfg.Inputs, ", "))
	}
	if report.Conflict != "" {
		return sum, errors.New(report.Conflict)
	}
	if report.Superseded {
		sum.SupersededBy = report.SupersededBy
		fmt.Fprintf(progressOrDiscard(progress), "a concurrent build committed %s with every document this build processed: nothing to add\n", report.SupersededBy)
		return sum, nil
	}
	if report.Committed {
		sum.Version = p.version
		if sum.Manifest, err = readManifest(context.WithoutCancel(ctx), st, p.version); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

func progressOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// doneDocuments returns the documents of m that a build with extraction settings fingerprint
// fp skips: those processed with the same settings, and those processed before settings were
// recorded (kept as they are; --reprocess processes them again). It logs the documents that
// are processed again because their settings differ, and which settings changed.
func doneDocuments(m *shards.Manifest, fp string, ext map[string]any) []string {
	var done []string
	changed := map[string]int{}
	legacy := 0
	for _, d := range m.Documents {
		old, ok := m.DocumentSettings[d]
		switch {
		case !ok || old == "":
			legacy++
			done = append(done, d)
		case old == fp:
			done = append(done, d)
		default:
			changed[old]++
		}
	}
	if legacy > 0 {
		slog.Info("documents of the previous version were built before settings were recorded: kept as they are (--reprocess processes them again)", "version", m.Version, "documents", legacy)
	}
	for old, n := range changed {
		var diffs []string
		for k, v := range ext {
			ov, _ := json.Marshal(m.Fingerprints[old][k])
			nv, _ := json.Marshal(v)
			if string(ov) != string(nv) {
				diffs = append(diffs, fmt.Sprintf("%s %s → %s", k, ov, nv))
			}
		}
		slices.Sort(diffs)
		slog.Warn("settings changed since these documents were processed: they are processed again", "version", m.Version, "documents", n, "changes", strings.Join(diffs, ", "))
	}
	return done
}

// finishPending finishes a commit interrupted between its manifest and LATEST (a build killed
// in its commit step): a version whose manifest was built on the version LATEST names becomes
// LATEST, instead of the rerun making a second version of the same documents. It returns the
// version LATEST names afterwards.
func finishPending(ctx context.Context, st storage.Store) (string, error) {
	latest, err := shards.ReadLatest(ctx, st)
	if err != nil {
		return "", err
	}
	vs, err := shards.VersionsIn(ctx, st)
	if err != nil {
		return "", err
	}
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if v.State != "pending" {
			continue
		}
		if err := shards.MoveLatest(ctx, st, latest, v.Version); err != nil {
			if errors.Is(err, shards.ErrLatestMoved) {
				return shards.ReadLatest(ctx, st)
			}
			return "", fmt.Errorf("finish the interrupted commit of %s: %w", v.Version, err)
		}
		slog.Warn("finished the commit of a version whose build stopped between its manifest and LATEST", "version", v.Version, "previous", latest)
		return v.Version, nil
	}
	return latest, nil
}

// cleanTemporaries removes temporary files of writers that died (local stores; an S3
// upload that never completed is invisible and expires with the bucket's lifecycle rules).
func cleanTemporaries(ctx context.Context, st storage.Store) {
	c, ok := st.(interface {
		CleanTemporaries(context.Context, time.Duration) (int, error)
	})
	if !ok {
		return
	}
	n, err := c.CleanTemporaries(ctx, time.Hour)
	if err != nil {
		slog.Warn("cleaning stale temporary files", "location", st.String(), "err", err)
	} else if n > 0 {
		slog.Info("removed stale temporary files of killed writers", "location", st.String(), "files", n)
	}
}

// committedReport reports whether the build report of version says it committed (read without
// the build's context, which may be cancelled).
func committedReport(st storage.Store, version string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := storage.ReadAll(ctx, st, reportKey(version))
	if err != nil {
		return false
	}
	var r BuildReport
	return json.Unmarshal(b, &r) == nil && r.Committed
}

// eosinVersion is the program's version: its module version, else its VCS revision.
func eosinVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && (v == "" || v == "(devel)") {
			v = s.Value
			if len(v) > 12 {
				v = v[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
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

// freePort returns a free TCP port on localhost.
func freePort() (int, error) { return beamrun.FreePort() }

// buildProgress formats the counters of a running build as one progress line. The build runs
// in steps — laying documents out, rendering and OCR of their page ranges, checking the
// figures (filters, deduplication) — and the rate
// and ETA are those of the step now running (progress.Phases), so the rendering of a long
// document no longer shows "ETA 0s" once every document is laid out. Use one per build.
type buildProgress struct{ phases progress.Phases }

func (b *buildProgress) line(c map[string]int64, elapsed time.Duration) string {
	pos := func(v int64) uint64 { return uint64(max(v, 0)) }
	docs := progress.Step{Name: "documents", Done: pos(c[cDocsProcessed] + c[cDocsRejected]),
		Total: pos(c[cDocsFound] - c[cDocsSkipped] - c[cDocsDuplicate])}
	ranges := progress.Step{Name: "page ranges", Done: pos(c[cRangesDone]), Total: pos(c[cRangesQueued])}
	figs := progress.Step{Name: "figures checked", Done: pos(c[cFiguresKept] + c[cFiguresFiltered] + c[cFiguresDup]), Total: pos(c[cFiguresFound])}
	steps := []progress.Step{docs}
	if docs.Total > 0 && docs.Done >= docs.Total {
		// What is left once layout is done: rendering and OCR of page ranges, then the
		// filters and deduplication of the figures found.
		if ranges.Total > 0 {
			steps = append(steps, ranges)
		}
		if figs.Total > 0 {
			steps = append(steps, figs)
		}
	}
	extra := fmt.Sprintf("(skipped %d)  pages %d (%.1f/s)  figures %d found, %d kept  rejects %d",
		c[cDocsSkipped], c[cPagesDone], progress.Rate(pos(c[cPagesDone]), elapsed), c[cFiguresFound], c[cFiguresKept], c[cRejects])
	return b.phases.Line(elapsed, steps, extra)
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
	if b.Packages > 0 {
		row("article packages", b.Packages)
	}
	if a := b.Agreement; a != nil {
		row("PDF-only vs XML captions", fmt.Sprintf("recall %.3f, precision %.3f (%d articles)", a.Total.Recall, a.Total.Precision, a.Total.Articles))
		// Journals where the PDF path falls short; the others are counted (the build report
		// has every journal).
		perfect := 0
		for _, j := range a.Journals {
			if j.Recall >= 1 && j.Precision >= 1 {
				perfect++
				continue
			}
			row("  "+j.Journal, fmt.Sprintf("recall %.3f, precision %.3f (%d)", j.Recall, j.Precision, j.Articles))
		}
		if perfect > 0 {
			row("  other journals", fmt.Sprintf("%d at recall and precision 1.000", perfect))
		}
	}
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
