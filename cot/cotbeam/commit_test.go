package cotbeam

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// TestRunChecksGenerator: a dead or mistyped generator stops the run before anything is
// written, with an error naming the URL and what went wrong.
func TestRunChecksGenerator(t *testing.T) {
	root := t.TempDir()
	commitFigures(t, filepath.Join(root, "figures"), testFigures(2), 4)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/v1"
	l.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "overloaded", 500) }))
	defer failing.Close()
	for _, tc := range []struct {
		name, url string
		want      []string
	}{
		{"dead port", dead, []string{dead + "/models", "no connection"}},
		{"404", notFound.URL + "/v1", []string{notFound.URL + "/v1/chat/completions", "HTTP 404", "API root"}},
		{"500", failing.URL + "/v1", []string{failing.URL + "/v1/models", "HTTP 500", "overloaded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(root, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			cfg := Config{Pairs: filepath.Join(root, "figures"), Out: out, Gen: testGen(tc.url, "")}
			cfg.Gen.Timeout = time.Second
			_, err := Run(context.Background(), cfg, nil)
			var ce *cot.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("run: %v, want a *cot.CheckError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s written: %v", out, err)
			}
		})
	}
}

// TestRunAllRequestsFail: a server that lists the model but refuses every chat request
// passes the check; the run then fails without committing, and gives its version name back.
func TestRunAllRequestsFail(t *testing.T) {
	root := t.TempDir()
	commitFigures(t, filepath.Join(root, "figures"), testFigures(3), 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprint(w, `{"data":[{"id":"fake"}]}`)
			return
		}
		http.Error(w, `{"error":"no such route"}`, http.StatusNotFound)
	}))
	defer srv.Close()
	out := filepath.Join(root, "out")
	_, err := Run(context.Background(), Config{Pairs: filepath.Join(root, "figures"), Out: out, Version: "v1",
		Gen: testGen(srv.URL+"/v1", "")}, nil)
	if !errors.Is(err, cot.ErrAllRequestsFailed) || !strings.Contains(err.Error(), "generator_http_404") || strings.Contains(err.Error(), "DoFn") {
		t.Fatalf("run: %v", err)
	}
	t.Log(err)
	for _, ds := range []string{"sft", "rl"} {
		ents, _ := os.ReadDir(filepath.Join(out, ds))
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				t.Errorf("%s: %s left behind", ds, e.Name())
			}
		}
	}
}

// TestCommitStepCompareAndSwap: the commit step moves LATEST only from the versions it
// named at the reservation: after another run's commit it fails with a
// *cot.ConcurrentCommitError and leaves LATEST alone (its manifests stay, readable by
// name); a retried commit that had succeeded succeeds again.
func TestCommitStepCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	sft, rl, err := cot.OpenOutput(ctx, out, storage.S3Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sft.Close()
	defer rl.Close()
	commit := func(res *cot.Reservation) error {
		f := &commitFn{Out: out, Version: res.Version, SFTParent: res.SFTParent, RLParent: res.RLParent, Generator: "http://gpu/v1",
			Formats: []shards.Format{shards.WebDataset}, Created: "2026-01-02T03:04:05Z"}
		defer f.Teardown()
		parts := [][]byte{commitPart{Marker: true}.encode(), commitPart{Stats: &batchStats{Figures: 1, Requests: 2, CacheHits: 2}}.encode()}
		return f.ProcessElement(ctx, 0, func(b *[]byte) bool {
			if len(parts) == 0 {
				return false
			}
			*b, parts = parts[0], parts[1:]
			return true
		})
	}
	a, err := cot.Reserve(ctx, sft, rl, out, "a", true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cot.Reserve(ctx, sft, rl, out, "b", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := commit(b); err != nil {
		t.Fatal(err)
	}
	if err := commit(b); err != nil { // a retried commit step
		t.Fatalf("retried commit: %v", err)
	}
	err = commit(a)
	var ce *cot.ConcurrentCommitError
	if !errors.As(err, &ce) || ce.Now != "b" || ce.Version != "a" {
		t.Fatalf("commit of a after b: %v", err)
	}
	for _, st := range []storage.Store{sft, rl} {
		if v, _ := shards.ReadLatest(ctx, st); v != "b" {
			t.Errorf("%s: LATEST %q, want b", st, v)
		}
		for _, v := range []string{"a", "b"} {
			d, err := shards.OpenIn(ctx, st, v, shards.ReadOptions{})
			if err != nil {
				t.Errorf("%s@%s: %v", st, v, err)
				continue
			}
			for _, sh := range d.Manifest().Shards {
				if !strings.Contains(sh.Path, v) {
					t.Errorf("%s@%s: shard %s does not carry the version", st, v, sh.Path)
				}
			}
		}
	}
}

var beamProgressRe = regexp.MustCompile(`figures (\d+)/(\d+) .*  requests (\d+) \((\d+) cached, (\d+) failed\)  shards (\d+)$`)

// TestBeamProgress: the pipeline's progress lines have the local driver's form (cot.Progress)
// and count what has completed; the final line shows every figure and request.
func TestBeamProgress(t *testing.T) {
	root := t.TempDir()
	figs := testFigures(16)
	commitFigures(t, filepath.Join(root, "figures"), figs, 4)
	fm := newFakeModel(testTimeout)
	fm.Latency.Store(int64(20 * time.Millisecond))
	defer fm.Close()
	var progress bytes.Buffer
	sum, err := Run(context.Background(), Config{Pairs: filepath.Join(root, "figures"), Out: filepath.Join(root, "out"),
		Gen: testGen(fm.URL(), ""), Batch: 4, Beam: beamrun.Options{Progress: 200 * time.Millisecond}}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	t.Logf("%d lines:\n%s", len(lines), progress.String())
	for i, l := range lines {
		m := beamProgressRe.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q", l)
		}
		figures, _ := strconv.Atoi(m[1])
		total, _ := strconv.Atoi(m[2])
		requests, _ := strconv.ParseInt(m[3], 10, 64)
		if total != len(figs) || (figures > 0 && requests == 0) {
			t.Errorf("line %q", l)
		}
		if i == len(lines)-1 && (figures != len(figs) || requests != sum.Client.Requests || requests == 0) {
			t.Errorf("final line %q; client %+v", l, sum.Client)
		}
	}
}
