package cot

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// The crash test runs a cot job in a child process (this test binary, re-executed), kills it
// with SIGKILL part-way, and resumes in this process from the child's on-disk cache.

const crashEnv = "EOSIN_COT_CRASH_CHILD"

func TestMain(m *testing.M) {
	if url := os.Getenv(crashEnv); url != "" {
		// child: run until killed
		c, err := NewClient(ClientConfig{BaseURL: url, Concurrency: 4, CacheDir: os.Getenv(crashEnv + "_CACHE")})
		if err != nil {
			os.Exit(3)
		}
		p, err := NewPipeline(c, Config{Model: "fake", Tasks: testTasks, Temperature: 0.8, Judge: true, Agreement: 3})
		if err != nil {
			os.Exit(3)
		}
		Run(context.Background(), p, seqOf(testFigures(40)), &memSink{}, RunConfig{Workers: 4})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestResumeAfterKill(t *testing.T) {
	cache := t.TempDir()
	fm := newFakeModel(testTimeout)
	fm.Latency.Store(int64(20 * time.Millisecond))
	defer fm.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+fm.URL(), crashEnv+"_CACHE="+cache)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for cacheEntries(t, cache) < 40 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child cached nothing in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL: no cleanup runs
	cmd.Wait()
	cached := cacheEntries(t, cache)

	figs := testFigures(40)
	fm2 := newFakeModel(testTimeout)
	defer fm2.Close()
	sink := &memSink{}
	sum, err := Run(context.Background(), testPipeline(t, testClient(t, fm2.URL(), cache)), seqOf(figs), sink, RunConfig{Workers: 8})
	if err != nil {
		t.Fatal(err)
	}
	total := cacheEntries(t, cache)
	if cached >= total {
		t.Fatalf("the child finished before the kill (%d of %d cached)", cached, total)
	}
	if got := fm2.Requests.Load(); got != int64(total-cached) {
		t.Errorf("resumed run sent %d requests, want %d (total %d, cached by the killed run %d)", got, total-cached, total, cached)
	}
	if sum.Requested != sum.SFT+sum.Rejects || sum.Figures != len(figs) {
		t.Errorf("summary %+v", sum)
	}
	fm3 := newFakeModel(testTimeout)
	defer fm3.Close()
	clean := &memSink{}
	if _, err := Run(context.Background(), testPipeline(t, testClient(t, fm3.URL(), "")), seqOf(figs), clean, RunConfig{Workers: 8}); err != nil {
		t.Fatal(err)
	}
	if a, b := outputDigest(sink.outs), outputDigest(clean.outs); a != b {
		t.Error("resumed output differs from a clean run")
	}
	t.Logf("killed with %d of %d responses cached; the resumed run sent %d requests", cached, total, fm2.Requests.Load())
}
