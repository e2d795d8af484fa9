package cot

import (
	"fmt"
	"sync"
	"time"

	"github.com/eosinlab/eosin/internal/progress"
)

// Progress is what a run has completed, as its progress line shows it. The local driver
// and the Beam pipeline (from its counters) fill it the same way: figures whose generation
// and verification finished, the samples and rejects of those figures, and the generator
// requests answered or failed for good.
type Progress struct {
	// Figures completed, of Total (0: unknown).
	Figures, Total int64
	// SFT and RL samples kept; Rejects, near duplicates (NearDup) included.
	SFT, RL, Rejects, NearDup int64
	// Requests completed, of them answered from the cache (CacheHits) and failed after all
	// attempts (Failures).
	Requests, CacheHits, Failures int64
	// Shards written; negative: not shown (the local driver writes them as it goes).
	Shards int64
}

// Line formats p in the way of internal/progress:
//
//	[1m5s] figures 12/40 (0.2/s) ETA 3m2s  sft 20  rl 10  rejects 3 (near-duplicate 1)  requests 90 (30 cached, 2 failed)
func (p Progress) Line(elapsed time.Duration) string {
	s := fmt.Sprintf("[%s] %s  sft %d  rl %d  rejects %d", elapsed.Round(time.Second),
		progress.Status("figures", uint64(max(p.Figures, 0)), uint64(max(p.Total, 0)), elapsed), p.SFT, p.RL, p.Rejects)
	if p.NearDup > 0 {
		s += fmt.Sprintf(" (near-duplicate %d)", p.NearDup)
	}
	s += fmt.Sprintf("  requests %d (%d cached, %d failed)", p.Requests, p.CacheHits, p.Failures)
	if p.Shards >= 0 {
		s += fmt.Sprintf("  shards %d", p.Shards)
	}
	return s
}

// liveProgress is the local driver's progress: a progress.Counter of completed figures
// whose reports print Progress lines.
type liveProgress struct {
	mu      sync.Mutex
	p       Progress
	client  *Client // nil: requests not shown as counted
	counter *progress.Counter
}

// newLiveProgress starts the progress of a run (no lines when rc.ProgressOut is nil).
func newLiveProgress(rc RunConfig, client *Client) *liveProgress {
	l := &liveProgress{p: Progress{Total: int64(max(rc.Total, 0)), Shards: -1}, client: client}
	if rc.ProgressOut == nil {
		return l
	}
	line := progress.NewLine(rc.ProgressOut, rc.Progress)
	l.counter = progress.New(rc.Progress, uint64(l.p.Total), func(value, total uint64, el time.Duration, final bool) {
		line.Print(l.snapshot().Line(el), final)
	})
	return l
}

// completed counts a figure whose output arrived.
func (l *liveProgress) completed(out *Output) {
	l.mu.Lock()
	l.p.Figures++
	l.p.SFT += int64(len(out.SFT))
	l.p.RL += int64(len(out.RL))
	l.p.Rejects += int64(len(out.Rejects))
	l.mu.Unlock()
	if l.counter != nil {
		l.counter.Add(1)
	}
}

// deduplicated moves sft SFT samples (and their rl RL twins) to the near-duplicate rejects.
func (l *liveProgress) deduplicated(sft, rl int64) {
	l.mu.Lock()
	l.p.SFT -= sft
	l.p.RL -= rl
	l.p.Rejects += sft
	l.p.NearDup += sft
	l.mu.Unlock()
}

// snapshot returns the counts now, the client's requests included.
func (l *liveProgress) snapshot() Progress {
	l.mu.Lock()
	p := l.p
	l.mu.Unlock()
	if l.client != nil {
		st := l.client.Stats()
		p.Requests, p.CacheHits, p.Failures = st.Completed, st.CacheHits, st.Failures
	}
	return p
}

// done prints the final line (once).
func (l *liveProgress) done() {
	if l.counter != nil {
		l.counter.Done()
	}
}
