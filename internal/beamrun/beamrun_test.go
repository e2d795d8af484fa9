package beamrun

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		o      Options
		ok     bool
		runner string
	}{
		{Options{}, true, "prism"},
		{Options{Runner: "Prism"}, true, "prism"},
		{Options{Runner: "universal", Endpoint: "localhost:8099", EnvironmentType: "LOOPBACK"}, true, "universal"},
		{Options{Runner: "flink", Endpoint: "localhost:8099"}, false, "flink"},
		{Options{Runner: "dataflow"}, true, "dataflow"},
		{Options{Runner: "direct"}, false, "direct"},
	}
	for _, c := range cases {
		if err := c.o.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", c.o, err, c.ok)
		}
		if got := c.o.RunnerName(); got != c.runner {
			t.Errorf("%+v: runner %q, want %q", c.o, got, c.runner)
		}
	}
}

var (
	tickCounter = beam.NewCounter("beamrun_test", "ticks")
	otherNS     = beam.NewCounter("other", "ticks")
)

// slowFn counts its elements, slowly, so that the poller sees the job running.
func slowFn(ctx context.Context, b []byte, emit func([]byte)) {
	time.Sleep(700 * time.Millisecond)
	tickCounter.Inc(ctx, 3)
	otherNS.Inc(ctx, 1)
	emit(b)
}

func init() {
	register.Function3x0(slowFn)
	register.Emitter1[[]byte]()
}

// TestRunInProcess runs a pipeline on in-process prism: the counters of the namespace come
// back summed, progress lines are polled from the job service while it runs, and a second
// launch waits for the first session to end.
func TestRunInProcess(t *testing.T) {
	pipe, s := beam.NewPipelineWithRoot()
	beam.ParDo(s, slowFn, beam.Impulse(s))
	var mu sync.Mutex
	var lines bytes.Buffer
	sess := Begin()
	res, err := sess.Run(context.Background(), pipe, Options{JobName: "beamrun-test", Namespace: "beamrun_test",
		Progress: 100 * time.Millisecond, ProgressOut: lockedWriter{&mu, &lines},
		ProgressLine: func(c map[string]int64, el time.Duration) string { return fmt.Sprintf("ticks=%d", c["ticks"]) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Runner != "prism" || res.Counters["ticks"] != 3 || len(res.Counters) != 1 || !strings.HasPrefix(res.Endpoint, "localhost:") {
		t.Fatalf("result %+v", res)
	}
	mu.Lock()
	out := lines.String()
	mu.Unlock()
	if !strings.Contains(out, "ticks=") {
		t.Errorf("no progress lines: %q", out)
	}
	done := make(chan bool)
	go func() {
		s2 := Begin()
		s2.End()
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("a second session began while the first was held")
	case <-time.After(100 * time.Millisecond):
	}
	sess.End()
	sess.End() // a second End is harmless
	<-done
	if _, err := sess.Run(context.Background(), pipe, Options{JobName: "x"}); err == nil {
		t.Error("Run on an ended session")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
