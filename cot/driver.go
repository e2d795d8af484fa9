package cot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/eosinlab/eosin/shards"
)

// Sink receives the output of the run, figure by figure, in input order.
type Sink interface {
	// Write stores one figure's samples and rejects.
	Write(ctx context.Context, out *Output) error
	// Close finishes the datasets; summary describes the run.
	Close(ctx context.Context, summary *Summary) error
}

// Summary counts a run.
type Summary struct {
	Figures   int            `json:"figures"`
	Requested int            `json:"requested"`
	SFT       int            `json:"sft"`
	RL        int            `json:"rl"`
	Rejects   int            `json:"rejects"`
	Reasons   map[string]int `json:"reject_reasons"`
	Client    ClientStats    `json:"client"`
	Elapsed   time.Duration  `json:"elapsed_ns"`
}

// RunConfig configures the local driver.
type RunConfig struct {
	// Workers process figures concurrently (default 64); the generator's own concurrency bound
	// still caps the requests in flight.
	Workers int
	// DedupThreshold is the estimated Jaccard similarity above which a sample whose question and
	// answer repeat an earlier one is rejected as near_duplicate (default 0.8; negative: off).
	DedupThreshold float64
	// Total is the number of figures, when known, for progress and ETA.
	Total int
	// Progress is the interval between progress lines (default 10 s).
	Progress time.Duration
	// ProgressOut receives the progress lines (internal/progress: one line redrawn on a
	// terminal, else a line per interval, and a final line); nil: none.
	ProgressOut io.Writer
}

type indexed struct {
	seq int
	out *Output
	err error
}

// Run processes figures with a bounded worker pool and writes each figure's output to sink in
// input order, after near-duplicate removal across the whole run. A source error or a sink
// error stops the run; generator failures become rejects, but when every request to the
// generator (a *Client) failed, sink is not closed (nothing is committed) and the error wraps
// ErrAllRequestsFailed. Progress lines (Progress.Line) go to rc.ProgressOut.
func Run(ctx context.Context, p *Pipeline, figures iter.Seq2[FigureInput, error], sink Sink, rc RunConfig) (*Summary, error) {
	if rc.Workers <= 0 {
		rc.Workers = 64
	}
	if rc.DedupThreshold == 0 {
		rc.DedupThreshold = 0.8
	}
	if rc.Progress <= 0 {
		rc.Progress = 10 * time.Second
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	client, _ := p.gen.(*Client)
	live := newLiveProgress(rc, client)
	defer live.done()

	jobs := make(chan indexed2, rc.Workers)
	results := make(chan indexed, rc.Workers)
	var srcErr error
	go func() {
		defer close(jobs)
		seq := 0
		for in, err := range figures {
			if err != nil {
				srcErr = err
				cancel(err)
				return
			}
			select {
			case jobs <- indexed2{seq, in}:
				seq++
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < rc.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				out, err := p.Process(ctx, j.in)
				select {
				case results <- indexed{j.seq, out, err}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	sum := &Summary{Reasons: map[string]int{}}
	var dedup *Dedup
	if rc.DedupThreshold > 0 {
		dedup = NewDedup(rc.DedupThreshold)
	}
	pending := map[int]*Output{}
	next := 0
	var runErr error
	for r := range results {
		if runErr != nil {
			continue // drain
		}
		if r.err != nil {
			runErr = fmt.Errorf("figure %d: %w", r.seq, r.err)
			cancel(runErr)
			continue
		}
		live.completed(r.out)
		pending[r.seq] = r.out
		for {
			out, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if dedup != nil {
				sft, rl := len(out.SFT), len(out.RL)
				applyDedup(dedup, out)
				live.deduplicated(int64(sft-len(out.SFT)), int64(rl-len(out.RL)))
			}
			sum.add(out)
			if err := sink.Write(ctx, out); err != nil {
				runErr = fmt.Errorf("writing figure %s: %w", out.FigureID, err)
				cancel(runErr)
				break
			}
		}
	}
	if srcErr != nil {
		runErr = fmt.Errorf("reading figures: %w", srcErr)
	}
	if runErr == nil && ctx.Err() != nil {
		runErr = context.Cause(ctx)
	}
	sum.Elapsed = time.Since(start)
	if client != nil {
		sum.Client = client.Stats()
	}
	live.done()
	if runErr != nil {
		return sum, runErr
	}
	if client != nil {
		if err := AllFailed(sum.Client.Requests, sum.Client.Failures, client.BaseURL(), sum.Reasons, client.LastError()); err != nil {
			return sum, err
		}
	}
	return sum, sink.Close(ctx, sum)
}

// ErrAllRequestsFailed is returned (wrapped) by a run in which every request to the
// generator failed: nothing is committed.
var ErrAllRequestsFailed = errors.New("every request to the generator failed")

// AllFailed returns an error wrapping ErrAllRequestsFailed when a run made requests and all of
// them failed (responses from the cache count as answered), naming the server, the most
// frequent reject reasons and the last error (nil when unknown); otherwise nil.
func AllFailed(requests, failures int64, url string, reasons map[string]int, last error) error {
	if requests == 0 || failures < requests {
		return nil
	}
	s := &Summary{Reasons: reasons}
	var top []string
	for i, r := range s.TopReasons() {
		if i == 3 {
			break
		}
		top = append(top, fmt.Sprintf("%s: %d", r, reasons[r]))
	}
	detail := ""
	if len(top) > 0 {
		detail = " (rejects " + strings.Join(top, ", ") + ")"
	}
	if last != nil {
		detail += "; last error: " + strings.TrimSpace(last.Error())
	}
	return fmt.Errorf("%w: %d of %d requests to %s%s; nothing was committed: check the model server and --model, then rerun",
		ErrAllRequestsFailed, failures, requests, url, detail)
}

type indexed2 struct {
	seq int
	in  FigureInput
}

func (s *Summary) add(out *Output) {
	s.Figures++
	s.Requested += out.Requested
	s.SFT += len(out.SFT)
	s.RL += len(out.RL)
	s.Rejects += len(out.Rejects)
	for _, r := range out.Rejects {
		s.Reasons[r.Reason]++
	}
}

// applyDedup moves SFT samples (and their RL twins) that nearly repeat an earlier sample's
// question and answer into the rejects.
func applyDedup(d *Dedup, out *Output) {
	var kept []shards.Sample
	dropped := map[string]bool{}
	for _, s := range out.SFT {
		text := s.Problem + " " + s.Answer
		if dup := d.Check(s.ID, text); dup != "" {
			dropped[s.ID] = true
			out.Rejects = append(out.Rejects, shards.Reject{Stage: "cot", Kind: "sample", ID: s.ID,
				Reason: "near_duplicate", Detail: "near duplicate of " + dup})
			continue
		}
		kept = append(kept, s)
	}
	out.SFT = kept
	var rl []shards.Sample
	for _, s := range out.RL {
		if !dropped[s.ID[:len(s.ID)-len("-rl")]] {
			rl = append(rl, s)
		}
	}
	out.RL = rl
}

// TopReasons returns reject reasons by descending count.
func (s *Summary) TopReasons() []string {
	keys := make([]string, 0, len(s.Reasons))
	for k := range s.Reasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.Reasons[keys[i]] != s.Reasons[keys[j]] {
			return s.Reasons[keys[i]] > s.Reasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
