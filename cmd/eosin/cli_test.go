package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eosinlab/eosin/pipelines"
)

// parse runs cmd on argv with its run function replaced, and returns the error and what it
// printed (deprecation warnings).
func parse(t *testing.T, cmd *cobra.Command, argv ...string) (error, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(argv)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	err := cmd.ExecuteContext(context.Background())
	return err, out.String() + errb.String()
}

// TestExtractArgs: argv → options, or the exact error (cli/cli style).
func TestExtractArgs(t *testing.T) {
	jobs := runtime.NumCPU()
	for _, tc := range []struct {
		argv    []string
		want    extractOptions
		wantErr string
		warn    string
	}{
		{argv: []string{"a.pdf", "-o", "out"}, want: extractOptions{Output: "out", DPI: 200, Jobs: jobs, Langs: "eng", Inputs: []string{"a.pdf"}}},
		{argv: []string{"a.pdf", "--output", "out", "--dpi", "300", "--jobs", "2", "--tables", "--no-ocr", "--force"},
			want: extractOptions{Output: "out", DPI: 300, Jobs: 2, Tables: true, NoOCR: true, Force: true, Langs: "eng", Inputs: []string{"a.pdf"}}},
		{argv: []string{"a.pdf", "--out", "out", "--lang", "eng,deu"}, want: extractOptions{Output: "out", DPI: 200, Jobs: jobs, Langs: "eng,deu", Inputs: []string{"a.pdf"}},
			warn: "Flag --out has been deprecated, use --output"},
		{argv: []string{"a.pdf"}, wantErr: "-o/--output DIR is required"},
		{argv: []string{"-o", "out"}, wantErr: "requires at least 1 arg(s), only received 0"},
		{argv: []string{"a.pdf", "-o", "out", "--dpi", "20"}, wantErr: "--dpi 20 out of range 36–1200"},
		{argv: []string{"a.pdf", "-o", "out", "--ocr-languages", ""}, wantErr: "--ocr-languages is empty (or give --no-ocr)"},
		{argv: []string{"a.pdf", "-o", "out", "--render-dpi", "20"}, wantErr: "unknown flag: --render-dpi"},
	} {
		var got *extractOptions
		err, stderr := parse(t, newExtractCmd(func(o *extractOptions) error { got = o; return nil }), tc.argv...)
		checkParse(t, tc.argv, err, tc.wantErr)
		if tc.wantErr == "" && got != nil && !equalJSON(*got, tc.want) {
			t.Errorf("%q: options %+v, want %+v", tc.argv, *got, tc.want)
		}
		if tc.warn != "" && !strings.Contains(stderr, tc.warn) {
			t.Errorf("%q: no warning %q in %q", tc.argv, tc.warn, stderr)
		}
	}
}

func TestInspectArgs(t *testing.T) {
	jobs := runtime.NumCPU()
	for _, tc := range []struct {
		argv    []string
		want    inspectOptions
		wantErr string
	}{
		{argv: []string{"out", "-o", "report"}, want: inspectOptions{Output: "report", DPI: 96, Chunk: 1000, Jobs: jobs, Inputs: []string{"out"}}},
		{argv: []string{"out", "--out", "report", "--page-dpi", "72", "--s3_endpoint", "h:1", "--s3-profile", "p"},
			want: inspectOptions{Output: "report", DPI: 72, Chunk: 1000, Jobs: jobs, S3: s3Options{Endpoint: "h:1", Profile: "p"}, Inputs: []string{"out"}}},
		{argv: []string{"out"}, wantErr: "no report directory: pass -o/--output DIR"},
		{argv: []string{"out", "-o", "r", "--jobs", "0"}, wantErr: "--jobs 0: want at least 1"},
	} {
		var got *inspectOptions
		err, _ := parse(t, newInspectCmd(func(o *inspectOptions) error { got = o; return nil }), tc.argv...)
		checkParse(t, tc.argv, err, tc.wantErr)
		if tc.wantErr == "" && got != nil && !equalJSON(*got, tc.want) {
			t.Errorf("%q: options %+v, want %+v", tc.argv, *got, tc.want)
		}
	}
}

func TestCoTArgs(t *testing.T) {
	base := []string{"--pairs", "p", "--generator", "http://h/v1", "--model", "m"}
	for _, tc := range []struct {
		argv    []string
		check   func(*cotOptions) bool
		wantErr string
	}{
		{argv: append(base[:6:6], "-o", "s3://b/cot", "--refresh", "--s3-endpoint", "h:9000", "--dataset-version", "v1"),
			check: func(o *cotOptions) bool {
				return o.Output == "s3://b/cot" && o.Refresh && o.S3.Endpoint == "h:9000" && o.DatasetVersion == "v1"
			}},
		{argv: append(base[:6:6], "--out-dir", "d", "--s3_endpoint", "h:1", "--beam_options", "project=x"),
			check: func(o *cotOptions) bool {
				return o.OutputDir == "d" && o.S3.Endpoint == "h:1" && o.Beam.BeamOptions["project"] == "x"
			}},
		{argv: base[:6:6], wantErr: "give exactly one of -o/--output PREFIX and --output-dir DIR"},
		{argv: []string{"--generator", "g", "--model", "m", "-o", "x"}, wantErr: "--pairs is required"},
		{argv: append(base[:6:6], "-o", "x", "--formats", "zip"), wantErr: `--formats: unknown format "zip" (webdataset, parquet, mds, jsonl)`},
		{argv: append(base[:6:6], "-o", "x", "--runner", "nope"), wantErr: `runner "nope": want prism, universal, flink, spark or dataflow`},
		{argv: []string{"--dump-templates", "t"}, check: func(o *cotOptions) bool { return o.DumpTemplates == "t" }},
	} {
		var got *cotOptions
		err, _ := parse(t, newCoTCmd(func(o *cotOptions) error { got = o; return nil }), tc.argv...)
		checkParse(t, tc.argv, err, tc.wantErr)
		if tc.wantErr == "" && got != nil && !tc.check(got) {
			t.Errorf("%q: options %+v", tc.argv, *got)
		}
	}
}

// TestCoTConfigKeys: YAML keys are flag names; an old spelling works with a warning; flags win.
func TestCoTConfigKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cot.yaml")
	os.WriteFile(p, []byte("pairs: figs\ngenerator: http://h/v1\nmodel: m\nout-dir: d\nmax-tokens: 99\ntasks: [mcq, reasoning]\n"), 0o644)
	var got *cotOptions
	err, stderr := parse(t, newCoTCmd(func(o *cotOptions) error { got = o; return nil }), "--config", p, "--model", "flag")
	if err != nil {
		t.Fatal(err)
	}
	if got.Pairs != "figs" || got.OutputDir != "d" || got.MaxTokens != 99 || got.Model != "flag" || got.Tasks != "mcq,reasoning" {
		t.Errorf("options %+v", *got)
	}
	if !strings.Contains(stderr, `config key "out-dir" is deprecated, use "output-dir"`) {
		t.Errorf("no deprecation warning: %q", stderr)
	}
}

func TestBuildArgs(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		check   func(*buildOptions) bool
		wantErr string
	}{
		{argv: []string{"in/", "-o", "corpus", "--dpi", "200", "--tables", "--no-ocr", "--s3-endpoint", "h:1", "--s3-profile", "p"},
			check: func(o *buildOptions) bool {
				c := o.Bound
				return c.Output == "corpus" && c.RenderDPI == 200 && c.IncludeTables && !c.OCR && c.S3Endpoint == "h:1" && o.Profile == "p" && o.Args[0] == "in/"
			}},
		{argv: []string{"in/", "--render_dpi", "120", "--ocr=false", "--ocr_languages", "eng+deu", "--environment_type", "LOOPBACK"},
			check: func(o *buildOptions) bool {
				return o.Bound.RenderDPI == 120 && !o.Bound.OCR && o.Bound.OCRLanguages == "eng+deu" && o.Bound.EnvironmentType == "LOOPBACK"
			}},
		{argv: []string{"--min-width", "x"}, wantErr: `invalid argument "x" for "--min-width" flag: strconv.ParseInt: parsing "x": invalid syntax`},
	} {
		var got *buildOptions
		err, _ := parse(t, newBuildCmd(func(o *buildOptions) error { got = o; return nil }), tc.argv...)
		checkParse(t, tc.argv, err, tc.wantErr)
		if tc.wantErr == "" && got != nil && !tc.check(got) {
			t.Errorf("%q: config %+v", tc.argv, *got.Bound)
		}
	}
	// settings that cannot run are usage errors
	opts := &buildOptions{Flags: newBuildCmd(nil).Flags(), Bound: new(pipelines.Config)}
	*opts.Bound = pipelines.DefaultConfig()
	if _, err := buildConfig(opts, os.Stderr); err == nil || !isUsageError(err) || err.Error() != "no inputs: give PDF files, directories, globs or s3:// prefixes" {
		t.Errorf("no inputs: %v", err)
	}
}

func TestTrainArgs(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		check   func(*trainOptions) bool
		wantErr string
	}{
		{argv: []string{"--config", "c.yaml", "-o", "runs/x", "--jobs", "2", "--reward-preset", "r1v"},
			check: func(o *trainOptions) bool {
				return o.ConfigPath == "c.yaml" && o.Overrides.out == "runs/x" && o.Overrides.workers == 2 && o.Overrides.preset == "r1v"
			}},
		{argv: []string{"--out", "runs/y", "--workers", "3", "--reward", "dapo"},
			check: func(o *trainOptions) bool {
				return o.Overrides.out == "runs/y" && o.Overrides.workers == 3 && o.Overrides.preset == "dapo" && o.Flags.Changed("output")
			}},
		{argv: []string{"extra"}, wantErr: `unknown command "extra" for "train"`},
		{argv: []string{"--watch", "w", "--poll", "0s"}, wantErr: "--poll 0s: want a positive interval"},
	} {
		var got *trainOptions
		err, _ := parse(t, newTrainCmd(func(o *trainOptions) error { got = o; return nil }), tc.argv...)
		checkParse(t, tc.argv, err, tc.wantErr)
		if tc.wantErr == "" && got != nil && !tc.check(got) {
			t.Errorf("%q: options %+v", tc.argv, *got)
		}
	}
}

func TestRewardScoreArgs(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want rewardScoreOptions
	}{
		{[]string{"--input", "c.jsonl", "-o", "s.jsonl"}, rewardScoreOptions{Input: "c.jsonl", Output: "s.jsonl", Rejects: "s.rejects.jsonl"}},
		{[]string{"--in", "c.jsonl", "--out", "-"}, rewardScoreOptions{Input: "c.jsonl", Output: "-", Rejects: "-"}},
		{[]string{"-o", "s.jsonl", "--rejects", "bad.jsonl", "--preset", "r1v"}, rewardScoreOptions{Input: "-", Output: "s.jsonl", Rejects: "bad.jsonl", Preset: "r1v"}},
	} {
		var got *rewardScoreOptions
		err, _ := parse(t, newRewardScoreCmd(func(o *rewardScoreOptions) error { got = o; return nil }), tc.argv...)
		checkParse(t, tc.argv, err, "")
		if got != nil && *got != tc.want {
			t.Errorf("%q: options %+v, want %+v", tc.argv, *got, tc.want)
		}
	}
}

// TestSameFlagsEverywhere: the shared vocabulary means the same flag in every command.
func TestSameFlagsEverywhere(t *testing.T) {
	root := newRootCmd()
	find := func(path ...string) *cobra.Command {
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	writers := map[string]*cobra.Command{"build": find("build"), "extract": find("extract"), "inspect": find("inspect"),
		"cot": find("cot"), "train": find("train"), "reward score": find("reward", "score")}
	for name, c := range writers {
		if f := c.Flags().Lookup("output"); f == nil || f.Shorthand != "o" {
			t.Errorf("%s: no -o/--output", name)
		}
	}
	for _, name := range []string{"build", "inspect", "cot", "train"} {
		for _, s3 := range []string{"s3-endpoint", "s3-region", "s3-ca-bundle", "s3-insecure", "s3-profile"} {
			if writers[name].Flags().Lookup(s3) == nil {
				t.Errorf("%s: no --%s", name, s3)
			}
		}
	}
	if find("shards", "ls").InheritedFlags().Lookup("s3-profile") == nil {
		t.Error("shards: no --s3-profile")
	}
	for _, name := range []string{"extract", "inspect", "train"} {
		if f := writers[name].Flags().Lookup("jobs"); f == nil || f.DefValue != strconv.Itoa(runtime.NumCPU()) {
			t.Errorf("%s: --jobs %+v, want the CPU count as default", name, f)
		}
	}
	// every visible flag is kebab-case, except Beam's own options
	beam := map[string]bool{"environment_type": true, "environment_config": true, "worker_binary": true, "job_name": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && strings.Contains(f.Name, "_") && !beam[f.Name] {
				t.Errorf("%s: flag --%s is not kebab-case", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// TestExitCodes: 0 done, 2 for a command line that cannot run, 1 for a failure, 130 when
// interrupted; --version prints the version.
func TestExitCodes(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	for _, tc := range []struct {
		ctx  context.Context
		argv []string
		code int
		out  string
	}{
		{context.Background(), []string{"--version"}, 0, "eosin "},
		{context.Background(), []string{"nope"}, 2, `unknown command "nope"`},
		{context.Background(), []string{"extract", "x.pdf"}, 2, "-o/--output DIR is required"},
		{context.Background(), []string{"extract", "--bogus"}, 2, "unknown flag: --bogus"},
		{context.Background(), []string{"shards", "ls"}, 2, "accepts 1 arg(s), received 0"},
		{context.Background(), []string{"shards", "verify", filepath.Join(dir, "none")}, 1, "eosin: "},
		{cancelled, []string{"reward", "score", "--input", filepath.Join("testdata", "none.jsonl"), "-o", filepath.Join(dir, "s.jsonl")}, 130,
			"interrupted, nothing committed; rerun to resume"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.ctx, tc.argv, &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.out) {
			t.Errorf("%q: exit %d, want %d; output %q, want %q", tc.argv, code, tc.code, out.String()+errb.String(), tc.out)
		}
	}
}

// checkParse compares err with the expected error text ("" for none).
func checkParse(t *testing.T, argv []string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%q: %v", argv, err)
	case want != "" && (err == nil || err.Error() != want):
		t.Errorf("%q: error %v, want %q", argv, err, want)
	case want != "" && !isUsageError(err):
		t.Errorf("%q: %v is not a usage error", argv, err)
	}
}

// equalJSON compares two values by their JSON encoding.
func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
