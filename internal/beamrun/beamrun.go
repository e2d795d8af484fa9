// Package beamrun launches Beam pipelines for eosin's commands: runner selection (prism in
// this process, a portable job server, Flink, Spark, Dataflow), the job options, and a
// progress poller that reads a job's counters from the job service while it runs.
//
// Beam's job options are process-wide flags, so one pipeline runs at a time per process:
// Begin takes a process-wide lock that the caller holds for the whole launch.
package beamrun

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/metricsx"
	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	// Runners and filesystems selectable with --runner.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

// Options say where and how a pipeline runs.
type Options struct {
	// Runner is "" or prism (in-process), universal (portable), flink, spark or dataflow.
	Runner string
	// Endpoint is the job server HOST:PORT of a portable runner ("" with prism: start one in
	// this process).
	Endpoint string
	// EnvironmentType is LOOPBACK, EXTERNAL, PROCESS or DOCKER (portable runners).
	EnvironmentType string
	// EnvironmentConfig is the image, worker pool address or process JSON of the environment.
	EnvironmentConfig string
	// WorkerBinary is a prebuilt linux worker binary staged to remote workers.
	WorkerBinary string
	// JobName names the job on the runner (required: the progress poller finds the job by it).
	JobName string
	// BeamOptions are further Beam pipeline options (--key=value), e.g. Dataflow's project.
	BeamOptions map[string]string

	// Progress is the interval between progress lines (0: none).
	Progress time.Duration
	// ProgressOut receives the progress lines (nil: none).
	ProgressOut io.Writer `json:"-"`
	// Namespace is the counter namespace the progress lines and Result.Counters read.
	Namespace string
	// ProgressLine formats one progress line from the namespace's counters (summed over
	// steps) and the time since the launch.
	ProgressLine func(counters map[string]int64, elapsed time.Duration) string `json:"-"`
}

// Result describes a finished run.
type Result struct {
	// Runner is the runner as selected ("prism" by default).
	Runner string
	// Endpoint is the job server the job ran on ("" for runners without one).
	Endpoint string
	// Counters are the final counters of Options.Namespace, summed over steps (nil when the
	// runner reports none).
	Counters map[string]int64
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
}

// Runners are the accepted values of Options.Runner.
var Runners = []string{"prism", "universal", "portable", "flink", "spark", "dataflow"}

// Validate reports runner settings that cannot work.
func (o Options) Validate() error {
	r := strings.ToLower(o.Runner)
	ok := r == ""
	for _, n := range Runners {
		ok = ok || r == n
	}
	if !ok {
		return fmt.Errorf("runner %q: want prism, universal, flink, spark or dataflow", o.Runner)
	}
	if o.Endpoint != "" && o.EnvironmentType == "" {
		return fmt.Errorf("endpoint %s given without environment_type (LOOPBACK, EXTERNAL, PROCESS or DOCKER)", o.Endpoint)
	}
	return nil
}

// RunnerName is the runner o selects, lower case ("prism" when unset).
func (o Options) RunnerName() string {
	if r := strings.ToLower(o.Runner); r != "" {
		return r
	}
	return "prism"
}

// mu serialises launches in one process: Beam's job options are process-wide flags.
var mu sync.Mutex

// Session is the right to launch pipelines in this process. Begin one, Run, then End it.
type Session struct{ ended bool }

// Begin waits until no other pipeline of this process is being launched or run, and returns
// a session holding the process-wide launch lock. Call End when done.
func Begin() *Session {
	mu.Lock()
	return &Session{}
}

// End releases the launch lock. It is safe to call more than once.
func (s *Session) End() {
	if !s.ended {
		s.ended = true
		mu.Unlock()
	}
}

// Run executes pipe as o says and waits for it to finish. With the prism runner and no
// endpoint it starts a prism job server in this process (workers call back into it:
// LOOPBACK), so that progress can be read from the job service while the job runs.
func (s *Session) Run(ctx context.Context, pipe *beam.Pipeline, o Options) (*Result, error) {
	if s.ended {
		return nil, fmt.Errorf("beamrun: session already ended")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.JobName == "" {
		return nil, fmt.Errorf("beamrun: no job name")
	}
	runner := o.RunnerName()
	endpoint, envType, execRunner := o.Endpoint, o.EnvironmentType, runner
	if runner == "prism" && endpoint == "" {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		jctx, stop := context.WithCancel(context.Background())
		defer stop()
		if _, err := prism.CreateJobServer(jctx, prism.Options{Port: port}); err != nil {
			return nil, fmt.Errorf("start prism: %w", err)
		}
		endpoint = fmt.Sprintf("localhost:%d", port)
		envType = "LOOPBACK"
		execRunner = "universal"
	}
	opts := map[string]string{
		"endpoint":           endpoint,
		"environment_type":   envType,
		"environment_config": o.EnvironmentConfig,
		"worker_binary":      o.WorkerBinary,
		"job_name":           o.JobName,
	}
	for k, v := range o.BeamOptions {
		opts[k] = v
	}
	for k, v := range opts {
		if err := flag.Set(k, v); err != nil {
			return nil, fmt.Errorf("beam option %s: %w", k, err)
		}
	}
	beam.Init()

	start := time.Now()
	pctx, stopProgress := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if o.ProgressOut != nil && o.Progress > 0 && o.ProgressLine != nil && endpoint != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			PollProgress(pctx, endpoint, o.JobName, o.Namespace, o.Progress, func(c map[string]int64) {
				fmt.Fprintln(o.ProgressOut, o.ProgressLine(c, time.Since(start)))
			})
		}()
	}
	res, err := beam.Run(ctx, execRunner, pipe)
	stopProgress()
	wg.Wait()
	out := &Result{Runner: runner, Endpoint: endpoint, Elapsed: time.Since(start)}
	if err != nil {
		return out, err
	}
	if res != nil {
		out.Counters = Counters(res.Metrics(), o.Namespace)
	}
	return out, nil
}

// FreePort returns a TCP port on localhost that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Counters sums the counters of namespace ns over steps.
func Counters(r metrics.Results, ns string) map[string]int64 {
	out := map[string]int64{}
	for _, c := range r.AllMetrics().Counters() {
		if c.Namespace() == ns {
			out[c.Name()] += c.Result()
		}
	}
	return out
}

// PollProgress calls report every interval with the counters of namespace ns of the job
// named jobName, read from the job service at endpoint, until ctx ends. Polls that fail
// (the job not submitted yet, a busy service) are skipped.
func PollProgress(ctx context.Context, endpoint, jobName, ns string, every time.Duration, report func(map[string]int64)) {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		slog.Warn("progress: cannot reach the job service", "endpoint", endpoint, "err", err)
		return
	}
	defer conn.Close()
	cli := jobpb.NewJobServiceClient(conn)
	t := time.NewTicker(every)
	defer t.Stop()
	jobID := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if jobID == "" {
			jobs, err := cli.GetJobs(ctx, &jobpb.GetJobsRequest{})
			if err != nil {
				continue
			}
			for _, j := range jobs.GetJobInfo() {
				if j.GetJobName() == jobName {
					jobID = j.GetJobId()
				}
			}
			if jobID == "" {
				continue
			}
		}
		resp, err := cli.GetJobMetrics(ctx, &jobpb.GetJobMetricsRequest{JobId: jobID})
		if err != nil {
			continue
		}
		report(Counters(*metricsx.FromMonitoringInfos(nil, resp.GetMetrics().GetAttempted(), resp.GetMetrics().GetCommitted()), ns))
	}
}
