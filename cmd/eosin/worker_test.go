package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eosinlab/eosin/shards"
)

// corpusDocs are two small documents of the test corpus (Debian documentation PDFs).
var corpusDocs = []string{
	"x/r-bioc-pcamethods/usr/lib/R/site-library/pcaMethods/doc/outliers.pdf",
	"x/r-cran-vegan/usr/lib/R/site-library/vegan/doc/partitioning.pdf",
}

// goBuild builds a main package into dir and returns the binary's path.
func goBuild(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// datasetSummary is what two runs must agree on: figure ids and shard hashes.
func datasetSummary(t *testing.T, prefix string) (ids, sums []string) {
	t.Helper()
	ctx := context.Background()
	d, err := shards.Open(ctx, prefix, shards.ReadOptions{})
	if err != nil {
		t.Fatalf("open %s: %v", prefix, err)
	}
	defer d.Close()
	for rec, err := range d.Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.Figure.ID)
	}
	for _, s := range d.Manifest().Shards {
		sums = append(sums, s.SHA256)
	}
	slices.Sort(ids)
	slices.Sort(sums)
	return ids, sums
}

// TestRemoteWorkerProcess runs `eosin build` the way a cluster does: a standalone prism job
// server starts workers as processes (PROCESS environment) through Beam's Go boot loader, which
// fetches the staged --worker_binary (this command, prebuilt) and runs it in worker mode. The
// dataset equals the in-process run's.
func TestRemoteWorkerProcess(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("go toolchain not found")
	}
	in := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range corpusDocs {
		b, err := os.ReadFile(filepath.Join("../../testdata/cache", d))
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("test corpus missing (make testdata): %v", err)
			}
			t.Skipf("test corpus missing (make testdata): %v", err)
		}
		if err := os.WriteFile(filepath.Join(in, filepath.Base(d)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := t.TempDir()
	eosin := goBuild(t, bin, "eosin", ".")
	prism := goBuild(t, bin, "prism", "github.com/apache/beam/sdks/v2/go/cmd/prism")
	boot := goBuild(t, bin, "boot", "github.com/apache/beam/sdks/v2/go/container")
	// prism starts the environment command with --id='<id>', quotes included, and the boot
	// loader would then ask for a worker id nobody registered; a Flink task manager or the
	// worker image's entrypoint pass the id bare. Strip the quotes.
	bootBare := filepath.Join(bin, "boot-bare-id")
	script := fmt.Sprintf(`#!/bin/sh
for a in "$@"; do
  case "$a" in --id=\'*\') a="--id=$(printf '%%s' "$a" | sed "s/^--id='\(.*\)'\$/\1/")";; esac
  set -- "$@" "$a"; shift
done
exec %s "$@"
`, boot)
	if err := os.WriteFile(bootBare, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	// The boot loader copies the worker binary to /tmp/bin*/worker; remove the copies made
	// during this test.
	before, _ := filepath.Glob("/tmp/bin*/worker")
	t.Cleanup(func() {
		after, _ := filepath.Glob("/tmp/bin*/worker")
		for _, p := range after {
			if !slices.Contains(before, p) {
				os.RemoveAll(filepath.Dir(p))
			}
		}
	})

	job := freeAddr(t)
	_, port, _ := net.SplitHostPort(job)
	var prismLog bytes.Buffer
	srv := exec.Command(prism, "-job_port="+port, "-web_port=0", "-serve_http=false")
	srv.Stdout, srv.Stderr = &prismLog, &prismLog
	srv.Dir = t.TempDir() // the boot loader writes pipeline_options.json into its working directory
	// prism's worker processes inherit its output: stop the whole process group.
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	srv.WaitDelay = 5 * time.Second
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
		srv.Wait()
	})
	for deadline := time.Now().Add(time.Minute); ; {
		if c, err := net.DialTimeout("tcp", job, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("prism does not listen on %s:\n%s", job, prismLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	run := func(out string, extra ...string) {
		t.Helper()
		args := append([]string{"build", "--output", out, "--progress", "0"}, extra...)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, eosin, append(args, in)...)
		cmd.Env = append(os.Environ(), "EOSIN_OCR_NO_REEXEC=1")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("eosin %s: %v\n%s\nprism:\n%s", strings.Join(args, " "), err, b, prismLog.String())
		}
		t.Logf("eosin %s:\n%s", strings.Join(args, " "), lastLines(string(b), 12))
	}
	local, remote := filepath.Join(t.TempDir(), "local"), filepath.Join(t.TempDir(), "remote")
	run(local)
	run(remote, "--runner", "universal", "--endpoint", job, "--environment_type", "PROCESS",
		"--environment_config", fmt.Sprintf(`{"command": %q}`, bootBare), "--worker_binary", eosin)

	idsL, sumsL := datasetSummary(t, local)
	idsR, sumsR := datasetSummary(t, remote)
	if len(idsL) == 0 || !slices.Equal(idsL, idsR) || !slices.Equal(sumsL, sumsR) {
		t.Fatalf("remote workers' dataset differs:\nlocal  %v %v\nremote %v %v", idsL, sumsL, idsR, sumsR)
	}
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
