package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readmeSkips are the README commands a fresh clone cannot run by itself, and why. Commands
// naming s3:// or http(s):// locations are skipped too: they need a store or a model server.
var readmeSkips = map[string]string{
	"make build":                  "the test runs the commands in-process",
	"reward serve":                "a server that runs until stopped (tested in reward_test.go)",
	"trainer/testdata/grpo.yaml":  "a real run: needs the model checkpoint it names",
	"--watch s3://corpus/cot/rl":  "needs a dataset in S3",
	"/data/pdfs s3://library/new": "needs a library and a store",
}

// readmeCommands returns the commands of README.md's sh blocks: continuation lines joined,
// comments dropped, a pipeline cut to its first command.
func readmeCommands(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in := false
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		line = strings.TrimSpace(line)
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		if c := strings.TrimSpace(cur.String()); c != "" {
			c, _, _ = strings.Cut(c, "|")
			cmds = append(cmds, strings.TrimSpace(c))
		}
		cur.Reset()
	}
	return cmds
}

// TestReadme runs the commands of README.md as a user would after `make build`, from a
// folder that holds what a fresh clone has (examples/, trainer/testdata/), in order: each
// must exit 0. Commands that need a store, a model server or a checkpoint are listed in
// readmeSkips or name s3:// or http:// locations.
func TestReadme(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every README command (builds, extracts, trains)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeCommands(t, filepath.Join(root, "README.md"))
	if len(cmds) < 10 {
		t.Fatalf("README.md: %d commands found in sh blocks", len(cmds))
	}
	dir := t.TempDir()
	for _, p := range []string{"examples", "trainer"} {
		if err := os.Symlink(filepath.Join(root, p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	ran := 0
	for _, c := range cmds {
		skip := ""
		for k, why := range readmeSkips {
			if strings.Contains(c, k) {
				skip = why
			}
		}
		if skip == "" && (strings.Contains(c, "s3://") || strings.Contains(c, "http://") || strings.Contains(c, "https://")) {
			skip = "needs a store or a model server"
		}
		if skip != "" {
			t.Logf("skip %q: %s", c, skip)
			continue
		}
		if strings.ContainsAny(c, `"'$;&<>`) {
			t.Errorf("%q: quoting and shell syntax are beyond this test; keep README commands plain", c)
			continue
		}
		args := strings.Fields(c)
		if args[0] != "bin/eosin" {
			t.Errorf("%q: README commands run bin/eosin (or are listed in readmeSkips)", c)
			continue
		}
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args[1:], &stdout, &stderr); code != exitOK {
			t.Errorf("%s: exit %d\n%s", c, code, tail(stderr.String(), 2000))
			continue
		}
		if stdout.Len() == 0 {
			t.Errorf("%s: nothing on stdout", c)
		}
		ran++
	}
	for _, f := range []string{"out/figures.jsonl", "report/index.html", "out-articles/agreement.json", "corpus/LATEST", "scored.jsonl"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after the README commands: %v", err)
		}
	}
	t.Logf("%d README commands ran", ran)
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
