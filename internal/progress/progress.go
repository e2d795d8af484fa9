// Package progress is eosin's one progress counter and its formatting: a Counter that calls a
// report function on every tick and once when done (as restic's ui/progress.Counter), rate
// and ETA computed one way, Phases for jobs whose progress is polled from counters and runs
// in steps, and a Line writer that redraws one line on a terminal and prints plain lines
// otherwise. Progress goes to stderr; summaries are the commands' business.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Func reports progress: the value and total (0: unknown) of the counter, the time since it
// started, and whether this is the final call.
type Func func(value, total uint64, runtime time.Duration, final bool)

// Counter counts work done against a total and reports it every interval from a goroutine
// of its own, and once more from Done. The zero interval reports only from Done.
type Counter struct {
	report Func
	start  time.Time

	mu           sync.Mutex
	value, total uint64

	stop     chan struct{}
	finished chan struct{}
	once     sync.Once
}

// New starts a counter with total (0: unknown).
func New(interval time.Duration, total uint64, report Func) *Counter {
	c := &Counter{report: report, start: time.Now(), total: total, stop: make(chan struct{}), finished: make(chan struct{})}
	if interval <= 0 {
		close(c.finished)
		return c
	}
	go func() {
		defer close(c.finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				v, tot := c.Get()
				c.report(v, tot, time.Since(c.start), false)
			}
		}
	}()
	return c
}

// Add adds n to the value.
func (c *Counter) Add(n uint64) {
	c.mu.Lock()
	c.value += n
	c.mu.Unlock()
}

// Set sets the value and the total.
func (c *Counter) Set(value, total uint64) {
	c.mu.Lock()
	c.value, c.total = value, total
	c.mu.Unlock()
}

// SetTotal sets the total.
func (c *Counter) SetTotal(total uint64) {
	c.mu.Lock()
	c.total = total
	c.mu.Unlock()
}

// Get returns the value and the total.
func (c *Counter) Get() (value, total uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value, c.total
}

// Done stops the ticks and reports the final state once. It is safe to call more than once.
func (c *Counter) Done() {
	c.once.Do(func() {
		close(c.stop)
		<-c.finished
		v, t := c.Get()
		c.report(v, t, time.Since(c.start), true)
	})
}

// Rate is value per second over elapsed (0 before any time has passed).
func Rate(value uint64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(value) / elapsed.Seconds()
}

// ETA is the time left at the rate so far; ok is false while it cannot be known (nothing
// done yet, or no total).
func ETA(value, total uint64, elapsed time.Duration) (eta time.Duration, ok bool) {
	if value == 0 || total == 0 || elapsed <= 0 {
		return 0, false
	}
	if value >= total {
		return 0, true
	}
	return time.Duration(float64(elapsed) / float64(value) * float64(total-value)), true
}

// FormatETA is "ETA 1m5s", or "ETA ?" when unknown.
func FormatETA(value, total uint64, elapsed time.Duration) string {
	eta, ok := ETA(value, total, elapsed)
	if !ok {
		return "ETA ?"
	}
	return "ETA " + eta.Round(time.Second).String()
}

// Status formats one counter: "documents 3/10 (1.5/s) ETA 5s"; total 0 leaves out the total
// and the ETA.
func Status(label string, value, total uint64, elapsed time.Duration) string {
	if total == 0 {
		return fmt.Sprintf("%s %d (%.1f/s)", label, value, Rate(value, elapsed))
	}
	return fmt.Sprintf("%s %d/%d (%.1f/s) %s", label, value, total, Rate(value, elapsed), FormatETA(value, total, elapsed))
}

// Step is one step of a job polled from counters: Done of Total units (Total 0: not known
// yet).
type Step struct {
	Name        string
	Done, Total uint64
}

// Phases formats the progress of a job that runs in steps, one after another: the rate and
// the ETA are those of the step now running (the first unfinished one), counted from when
// it started, so that a long last step does not show the first step's "ETA 0s". Use one
// Phases per job; its methods are not safe for concurrent use.
type Phases struct {
	started map[string]time.Duration // step name → job time when it was first seen running
}

// Line returns "[elapsed] step done/total (rate/s) ETA …" for the step now running, followed
// by extra (other counters worth showing).
func (p *Phases) Line(elapsed time.Duration, steps []Step, extra string) string {
	if p.started == nil {
		p.started = map[string]time.Duration{}
	}
	if len(steps) == 0 {
		return fmt.Sprintf("[%s] %s", elapsed.Round(time.Second), extra)
	}
	cur := steps[len(steps)-1]
	for _, s := range steps {
		if s.Total == 0 || s.Done < s.Total {
			cur = s
			break
		}
	}
	if _, ok := p.started[cur.Name]; !ok && cur.Name != steps[0].Name {
		p.started[cur.Name] = elapsed // the first step starts with the job
	}
	in := elapsed - p.started[cur.Name]
	line := fmt.Sprintf("[%s] %s", elapsed.Round(time.Second), Status(cur.Name, cur.Done, cur.Total, in))
	if extra != "" {
		line += "  " + extra
	}
	return line
}

// Line writes progress lines to w: on a terminal one line, redrawn in place; elsewhere (a
// file, a pipe, CI logs) one line per call, at most one per every.
type Line struct {
	w     io.Writer
	tty   bool
	every time.Duration

	mu    sync.Mutex
	last  time.Time
	drawn bool
}

// NewLine writes to w, redrawing when w is a terminal.
func NewLine(w io.Writer, every time.Duration) *Line {
	return &Line{w: w, tty: IsTerminal(w), every: every}
}

// Print shows s; final lines are always printed (and end a redrawn line).
func (l *Line) Print(s string, final bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s = strings.TrimRight(s, "\n")
	if l.tty {
		fmt.Fprintf(l.w, "\r\033[K%s", s)
		l.drawn = true
		if final {
			fmt.Fprintln(l.w)
			l.drawn = false
		}
		return
	}
	if final || l.last.IsZero() || time.Since(l.last) >= l.every {
		l.last = time.Now()
		fmt.Fprintln(l.w, s)
	}
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
