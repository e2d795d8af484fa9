package cot

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		p    Progress
		el   time.Duration
		want string
	}{
		{Progress{Shards: -1}, 0, "[0s] figures 0 (0.0/s)  sft 0  rl 0  rejects 0  requests 0 (0 cached, 0 failed)"},
		{Progress{Figures: 10, Total: 40, SFT: 20, RL: 12, Rejects: 5, NearDup: 2, Requests: 90, CacheHits: 30, Failures: 1, Shards: -1}, 5 * time.Second,
			"[5s] figures 10/40 (2.0/s) ETA 15s  sft 20  rl 12  rejects 5 (near-duplicate 2)  requests 90 (30 cached, 1 failed)"},
		{Progress{Figures: 40, Total: 40, SFT: 80, Requests: 200, Shards: 3}, time.Minute,
			"[1m0s] figures 40/40 (0.7/s) ETA 0s  sft 80  rl 0  rejects 0  requests 200 (0 cached, 0 failed)  shards 3"},
	} {
		if got := tc.p.Line(tc.el); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.p, got, tc.want)
		}
	}
}

var progressRe = regexp.MustCompile(`figures (\d+)/(\d+) .*  sft (\d+)  rl (\d+)  rejects (\d+).*  requests (\d+) \((\d+) cached, (\d+) failed\)`)

// TestRunProgress: the local driver's progress lines (stderr in the command) count what has
// completed: no line shows figures done without the requests they took, and the final line
// shows the run's totals; a rerun answered from the cache shows its requests as cached.
func TestRunProgress(t *testing.T) {
	fm := newFakeModel(testTimeout)
	fm.Latency.Store(int64(2 * time.Millisecond))
	defer fm.Close()
	cache := t.TempDir()
	figs := testFigures(20)
	for run, cached := range []bool{false, true} {
		var out bytes.Buffer
		c := testClient(t, fm.URL(), cache)
		sum, err := Run(context.Background(), testPipeline(t, c), seqOf(figs), &memSink{},
			RunConfig{Workers: 4, Total: len(figs), Progress: time.Millisecond, ProgressOut: &out})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		for i, l := range lines {
			m := progressRe.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("run %d: line %q", run, l)
			}
			n := make([]int, len(m))
			for j := 1; j < len(m); j++ {
				n[j], _ = strconv.Atoi(m[j])
			}
			figures, total, sft, rl, rejects, requests, hits := n[1], n[2], n[3], n[4], n[5], n[6], n[7]
			if total != len(figs) || (figures > 0 && requests == 0) || (cached && hits != requests) {
				t.Errorf("run %d: line %q", run, l)
			}
			if i == len(lines)-1 {
				want := fmt.Sprintf("figures %d/%d", len(figs), len(figs))
				if !strings.Contains(l, want) || sft != sum.SFT || rl != sum.RL || rejects != sum.Rejects ||
					int64(requests) != sum.Client.Completed || sum.Client.Completed != sum.Client.Requests {
					t.Errorf("run %d: final line %q, summary %+v", run, l, sum)
				}
			}
		}
		t.Logf("run %d: %d lines, last %q", run, len(lines), lines[len(lines)-1])
		c.Close()
	}
}
