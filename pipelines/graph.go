package pipelines

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
)

// plan is what the launcher fixes before the graph is built.
type plan struct {
	cfg         Config
	version     string
	prevVersion string // the base: the version the build extends ("" for a full build)
	parent      string // the version LATEST named when the build started
	created     string // RFC 3339
	// done are the documents of the base processed with the current settings: skipped.
	done        []string
	runInfo     string // JSON recorded in the manifest's stats.run
	settings    string // JSON of every configuration key
	fingerprint string // of the extraction settings
	extraction  string // JSON of the extraction settings
	eosin       string // the program's version
	staging     string // the staging key (staging.go); "" stages nothing
}

// graph holds the PCollections tests look at.
type graph struct {
	work    beam.PCollection // workItem
	figures beam.PCollection // figItem, extracted
	kept    beam.PCollection // figItem, after filters and dedup
	rejects beam.PCollection // shards.Reject
	results beam.PCollection // docResult
}

// rejectsPerFile is the number of reject records per rejects/*.jsonl file.
const rejectsPerFile = 50000

func init() {
	register.Function1x1(commitMarker)
}

// commitMarker is the element that makes the commit step run even when the build has nothing
// else to commit (it then decides that there is nothing new).
func commitMarker(_ []byte) []byte { return []byte(`{}`) }

// buildGraph adds the corpus build to scope s:
//
//	inputs → match → Reshuffle → fingerprint ─┬→ CoGroupByKey(sha256) with the committed
//	                                          │   documents → pick (skip done, drop copies)
//	→ Reshuffle → extract + layout per document (text and drawings only: cheap) → page ranges
//	  (an article package is processed whole here: its figures join after render_ocr)
//	→ Reshuffle → render figure crops + OCR scanned pages per page range, then filters (same
//	step, fused) → dedup (one global decision over ids and hashes) → CoGroupByKey(id) join → shard key → GroupByKey → write
//	shards; rejects → GroupByKey → write reject files; everything → GroupByKey(fixed key)
//	→ commit (manifest, then LATEST).
func buildGraph(s beam.Scope, p plan) graph {
	cfg := p.cfg
	s3 := S3Settings{Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Insecure: cfg.S3Insecure, CABundle: cfg.S3CABundle}
	out := sink{Output: cfg.Output, S3: s3}
	stg := stage{sink: out, Key: p.staging}

	inputs := beam.CreateList(s.Scope("inputs"), cfg.Inputs)
	refs := beam.Reshuffle(s, beam.ParDo(s.Scope("match"), &matchFn{S3: s3}, inputs))
	fps, rejIngest := beam.ParDo2(s.Scope("fingerprint"), &fingerprintFn{S3: s3}, refs)
	done := beam.ParDo(s.Scope("committed"), shaKey, beam.CreateList(s.Scope("committed"), append([]string{}, p.done...)))
	work, rejPick, pickParts := beam.ParDo3(s.Scope("pick"), &pickDocFn{}, beam.CoGroupByKey(s, fps, done))
	work = beam.Reshuffle(s.Scope("spread_work"), work)

	ranges, rejLayout, results, pkgFigs := beam.ParDo4(s.Scope("extract_layout"), &layoutFn{S3: s3, OCR: cfg.OCR, PagesPerRange: cfg.PagesPerRange, DPI: cfg.RenderDPI, Stage: stg}, work)
	ranges = beam.Reshuffle(s.Scope("spread_ranges"), ranges)
	figs, rejRender, rangeResults := beam.ParDo3(s.Scope("render_ocr"), &renderFn{S3: s3, DPI: cfg.RenderDPI, OCRLanguages: cfg.OCRLanguages, Stage: stg}, ranges)
	figs = beam.Flatten(s, figs, pkgFigs)
	passed, items, rejFilter := beam.ParDo3(s.Scope("filter"), &filterFn{Params: cfg.Params}, figs)

	committed := beam.ParDo(s.Scope("committed_figures"), &readIndexFn{sink: out, PrevVersion: p.prevVersion}, beam.Impulse(s))
	markers := beam.ParDo(s.Scope("reprocess_markers"), reprocessMarker, work)
	items = beam.Flatten(s, items, committed, markers)
	decisions, groups := beam.ParDo2(s.Scope("dedup"), &dedupFn{Options: cfg.Options, Reprocess: cfg.Reprocess}, beam.GroupByKey(s, beam.AddFixedKey(s, items)))
	kept, rejDedup := beam.ParDo2(s.Scope("apply_dedup"), &joinFn{}, beam.CoGroupByKey(s, beam.ParDo(s, idOfFig, passed), decisions))

	nFigs := stats.Sum(s.Scope("count_figures"), beam.ParDo(s, countOne, kept))
	keyed := beam.ParDo(s.Scope("shard_key"), &figShardKeyFn{PerShard: cfg.FiguresPerShard}, kept, beam.SideInput{Input: nFigs})
	figParts := beam.ParDo(s.Scope("write_shards"), &writeFiguresFn{sink: out, Version: p.version, Formats: cfg.Formats}, beam.GroupByKey(s, keyed))

	rejects := beam.Flatten(s, rejIngest, rejPick, rejLayout, rejRender, rejFilter, rejDedup)
	nRej := stats.Sum(s.Scope("count_rejects"), beam.ParDo(s, countReject, rejects))
	rkeyed := beam.ParDo(s.Scope("reject_key"), &rejectShardKeyFn{PerShard: rejectsPerFile}, rejects, beam.SideInput{Input: nRej})
	rejParts := beam.ParDo(s.Scope("write_rejects"), &writeRejectsFn{sink: out, Version: p.version}, beam.GroupByKey(s, rkeyed))

	docParts := beam.ParDo(s, docResultPart, results)
	rangeParts := beam.ParDo(s, rangeResultPart, rangeResults)
	marker := beam.ParDo(s, commitMarker, beam.Impulse(s))
	parts := beam.Flatten(s, figParts, rejParts, docParts, rangeParts, groups, pickParts, marker)
	beam.ParDo0(s.Scope("commit"), &commitFn{sink: out, Version: p.version, Base: p.prevVersion, Parent: p.parent, Created: p.created,
		RunInfo: p.runInfo, Formats: cfg.Formats, Settings: p.settings, Fingerprint: p.fingerprint, Extraction: p.extraction, Eosin: p.eosin, Stage: stg},
		beam.GroupByKey(s, beam.AddFixedKey(s, parts)))
	return graph{work: work, figures: figs, kept: kept, rejects: rejects, results: results}
}
