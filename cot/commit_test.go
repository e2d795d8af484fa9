package cot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// testOutputs generates the outputs of n figures once (fake model, no cache).
func testOutputs(t *testing.T, n int) []*Output {
	t.Helper()
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	sink := &memSink{}
	if _, err := Run(context.Background(), testPipeline(t, testClient(t, fm.URL(), "")), seqOf(testFigures(n)), sink, RunConfig{Workers: 4}); err != nil {
		t.Fatal(err)
	}
	return sink.outs
}

// commitOutputs writes outs through sink and closes it.
func commitOutputs(ctx context.Context, sink *ShardsSink, outs []*Output) error {
	sum := &Summary{Reasons: map[string]int{}}
	for _, o := range outs {
		sum.add(o)
		if err := sink.Write(ctx, o); err != nil {
			sink.Abort()
			return err
		}
	}
	return sink.Close(ctx, sum)
}

func latestOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, shards.LatestName))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestRacingCommits: runs that started from the same LATEST commit at once into one local
// prefix. Exactly one moves LATEST (of both datasets, to the same version); every other one
// fails with a *ConcurrentCommitError naming the winner, and its version stays committed and
// readable by name. Nothing is lost, and no shard is shared.
func TestRacingCommits(t *testing.T) {
	ctx := context.Background()
	outs := testOutputs(t, 3)
	prefix := t.TempDir()
	opts := shards.WriteOptions{Formats: []shards.Format{shards.WebDataset, shards.Parquet}}
	first, err := NewShardsSink(ctx, prefix, withVersion(opts, "v0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := commitOutputs(ctx, first, outs); err != nil {
		t.Fatal(err)
	}
	const n = 4
	sinks := make([]*ShardsSink, n)
	for i := range sinks {
		if sinks[i], err = NewShardsSink(ctx, prefix, withVersion(opts, "r"+string(rune('1'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = commitOutputs(ctx, sinks[i], outs)
		}()
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("two commits moved LATEST: %s and %s", winner, sinks[i].Version())
			}
			winner = sinks[i].Version()
		}
	}
	if winner == "" {
		t.Fatalf("no commit won: %v", errs)
	}
	for _, ds := range []string{"sft", "rl"} {
		if got := latestOf(t, filepath.Join(prefix, ds)); got != winner {
			t.Errorf("%s LATEST %q, want the winner %s", ds, got, winner)
		}
	}
	for i, err := range errs {
		v := sinks[i].Version()
		if err != nil {
			var ce *ConcurrentCommitError
			if !errors.As(err, &ce) || !errors.Is(err, shards.ErrLatestMoved) || ce.Now != winner || ce.From != "v0" || ce.Version != v {
				t.Errorf("%s: %v (%+v), want a *ConcurrentCommitError naming %s", v, err, ce, winner)
			}
			for _, w := range []string{"sft@" + winner, "rl@" + v, "LATEST was left at " + winner} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q lacks %q", v, err, w)
				}
			}
		}
		for _, ds := range []string{"sft", "rl"} {
			d, err := shards.Open(ctx, filepath.Join(prefix, ds)+"@"+v, shards.ReadOptions{})
			if err != nil {
				t.Errorf("%s@%s: %v", ds, v, err)
				continue
			}
			for _, sh := range d.Manifest().Shards {
				if !strings.Contains(sh.Path, v) {
					t.Errorf("%s@%s: shard %s does not carry the version", ds, v, sh.Path)
				}
			}
			if _, err := d.Verify(ctx); err != nil {
				t.Errorf("%s@%s: verify: %v", ds, v, err)
			}
			d.Close()
		}
	}
}

func withVersion(o shards.WriteOptions, v string) shards.WriteOptions {
	o.Version = v
	return o
}

// TestReserve: version names are reserved create-only in both datasets.
func TestReserve(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T, prefix string) (storage.Store, storage.Store) {
		sft, rl, err := OpenOutput(ctx, prefix, storage.S3Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sft.Close(); rl.Close() })
		return sft, rl
	}
	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	claim := func(t *testing.T, st storage.Store, v string, pid int) {
		b, _ := json.Marshal(shards.Reservation{Version: v, Created: time.Now(), Host: host, PID: pid})
		if err := st.Put(ctx, storage.Join(v, shards.ReservationName), b); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("automatic names never collide", func(t *testing.T) {
		sft, rl := open(t, t.TempDir())
		claim(t, rl, "b-2", os.Getpid()) // taken in one dataset only: skipped in both
		names := make([]string, 8)
		var wg sync.WaitGroup
		for i := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := Reserve(ctx, sft, rl, "out", "b", false)
				if err != nil {
					t.Error(err)
					return
				}
				names[i] = r.Version
			}()
		}
		wg.Wait()
		slices.Sort(names)
		if slices.Contains(names, "b-2") || len(slices.Compact(slices.Clone(names))) != len(names) || names[0] != "b" {
			t.Fatalf("names %v", names)
		}
		for _, v := range names {
			for _, st := range []storage.Store{sft, rl} {
				r, err := shards.ReadReservation(ctx, st, v)
				if err != nil || r.Version != v || r.PID != os.Getpid() {
					t.Errorf("%s@%s: reservation %+v, %v", st, v, r, err)
				}
			}
		}
	})

	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, sft, rl storage.Store)
		want    string // "" reserved, else a part of the error
	}{
		{"free", func(*testing.T, storage.Store, storage.Store) {}, ""},
		{"committed", func(t *testing.T, sft, _ storage.Store) {
			sft.Put(ctx, storage.Join("v", shards.ManifestName), []byte("{}"))
		}, "version already committed: choose another --dataset-version"},
		{"held by this process", func(t *testing.T, _, rl storage.Store) { claim(t, rl, "v", os.Getpid()) }, "reserved by another run"},
		{"held by a live process", func(t *testing.T, sft, _ storage.Store) { claim(t, sft, "v", os.Getppid()) }, "reserved by another run"},
		{"left by a dead process", func(t *testing.T, sft, rl storage.Store) {
			claim(t, sft, "v", dead.Process.Pid)
			claim(t, rl, "v", dead.Process.Pid)
		}, ""},
		{"shards of a failed run", func(t *testing.T, sft, _ storage.Store) {
			sft.Put(ctx, "v/wds/shard-v-000000.tar", []byte("x"))
		}, ""},
	} {
		t.Run("fixed name "+tc.name, func(t *testing.T) {
			sft, rl := open(t, t.TempDir())
			tc.prepare(t, sft, rl)
			before := map[storage.Store][]byte{}
			for _, st := range []storage.Store{sft, rl} {
				before[st], _ = storage.ReadAll(ctx, st, "v/"+shards.ReservationName)
			}
			r, err := Reserve(ctx, sft, rl, "out", "v", true)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v, want %q", err, tc.want)
				}
				for _, st := range []storage.Store{sft, rl} {
					if now, _ := storage.ReadAll(ctx, st, "v/"+shards.ReservationName); string(now) != string(before[st]) {
						t.Errorf("%s: the refused reservation changed %s: %s", st, shards.ReservationName, now)
					}
				}
				return
			}
			if err != nil || r.Version != "v" {
				t.Fatalf("reserve: %+v, %v", r, err)
			}
			if err := r.Release(ctx, sft, rl); err != nil {
				t.Fatal(err)
			}
			for _, st := range []storage.Store{sft, rl} {
				if _, err := st.Stat(ctx, "v/"+shards.ReservationName); !errors.Is(err, storage.ErrNotExist) {
					t.Errorf("%s: reservation still there after Release: %v", st, err)
				}
			}
		})
	}
}

// TestPublishRollsBack: when LATEST of the RL dataset moved, that of the SFT dataset, already
// moved, is put back, so both keep naming the same version.
func TestPublishRollsBack(t *testing.T) {
	ctx := context.Background()
	sft, rl, err := OpenOutput(ctx, t.TempDir(), storage.S3Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sft.Close()
	defer rl.Close()
	for _, st := range []storage.Store{sft, rl} {
		if err := shards.MoveLatest(ctx, st, "", "v0"); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Reserve(ctx, sft, rl, "out", "a", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := shards.MoveLatest(ctx, rl, "v0", "b"); err != nil {
		t.Fatal(err)
	}
	err = r.Publish(ctx, sft, rl)
	var ce *ConcurrentCommitError
	if !errors.As(err, &ce) || ce.Dataset != "rl" || ce.Now != "b" || ce.From != "v0" {
		t.Fatalf("publish: %v", err)
	}
	for st, want := range map[storage.Store]string{sft: "v0", rl: "b"} {
		if got, _ := shards.ReadLatest(ctx, st); got != want {
			t.Errorf("%s: LATEST %q, want %q", st, got, want)
		}
	}
	// a retried publish after a successful one changes nothing
	r2, err := Reserve(ctx, sft, rl, "out", "c", true)
	if err != nil {
		t.Fatal(err)
	}
	r2.RLParent = "b"
	for range 2 {
		if err := r2.Publish(ctx, sft, rl); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAllRequestsFailed: a run in which every request failed commits nothing and gives its
// version name back; one in which some succeeded commits.
func TestAllRequestsFailed(t *testing.T) {
	fm := newFakeModel(testTimeout)
	defer fm.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	for _, tc := range []struct {
		name   string
		url    string
		faults []string
		want   []string // parts of the error; none: committed
	}{
		{"404 server", notFound.URL + "/v1", nil, []string{"every request to the generator failed", "generator_http_404", notFound.URL + "/v1", "HTTP 404"}},
		{"every request refused", fm.URL(), []string{"badreq", "badreq", "badreq"}, []string{"every request to the generator failed: 12 of 12",
			"generator_http_400: 15", "image too large"}},
		{"some refused", fm.URL(), []string{"badreq"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			prefix := t.TempDir()
			sink, err := NewShardsSink(ctx, prefix, shards.WriteOptions{Version: "v1"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Run(ctx, testPipeline(t, testClient(t, tc.url, "")), seqOf(testFigures(3, tc.faults...)), sink, RunConfig{Workers: 2})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if latestOf(t, filepath.Join(prefix, "rl")) != "v1" {
					t.Fatal("not committed")
				}
				return
			}
			sink.Abort()
			if !errors.Is(err, ErrAllRequestsFailed) {
				t.Fatalf("run: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, ds := range []string{"sft", "rl"} {
				ents, _ := os.ReadDir(filepath.Join(prefix, ds))
				for _, e := range ents {
					if !strings.HasPrefix(e.Name(), ".") {
						t.Errorf("%s: %s left behind", ds, e.Name())
					}
				}
			}
		})
	}
}
