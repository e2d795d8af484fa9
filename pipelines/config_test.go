package pipelines

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestConfigKeys(t *testing.T) {
	c := DefaultConfig()
	seen := map[string]bool{}
	for _, f := range c.Fields() {
		if seen[f.Key] {
			t.Errorf("key %s twice", f.Key)
		}
		seen[f.Key] = true
		if f.Usage == "" {
			t.Errorf("key %s has no usage text", f.Key)
		}
	}
	for k := range Usage {
		if !seen[k] {
			t.Errorf("usage for unknown key %s", k)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, yaml string
		check      func(Config) bool
		wantErr    string
	}{
		{"keys", "inputs: [a, b]\noutput: s3://bucket/x\nmin_width: 100\nlanguages: [en, de]\nmax_hamming: 3\nprogress: 5s\nbeam_options: {project: p}\ninclude_tables: true\n",
			func(c Config) bool {
				return len(c.Inputs) == 2 && c.Output == "s3://bucket/x" && c.MinWidth == 100 && len(c.Languages) == 2 &&
					c.MaxHamming == 3 && c.Progress == 5*time.Second && c.BeamOptions["project"] == "p" && c.IncludeTables &&
					c.MinHeight == DefaultConfig().MinHeight // untouched keys keep their default
			}, ""},
		{"empty file", "", func(c Config) bool { return c.Output == "./corpus" }, ""},
		{"unknown key", "min_widht: 3\n", nil, "min_widht"},
		{"bad type", "min_width: wide\n", nil, "line 1"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name+".yaml")
		if err := os.WriteFile(p, []byte(c.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(p)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one naming %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || !c.check(cfg) {
			t.Errorf("%s: %v %+v", c.name, err, cfg)
		}
	}
}

func TestValidateConfig(t *testing.T) {
	ok := DefaultConfig()
	ok.Inputs = []string{"x"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Config){
		"no inputs":            func(c *Config) { c.Inputs = nil },
		"formats":              func(c *Config) { c.Formats = []string{"tiff"} },
		"no formats":           func(c *Config) { c.Formats = nil },
		"languages":            func(c *Config) { c.Languages = []string{"english"} },
		"runner":               func(c *Config) { c.Runner = "hadoop" },
		"endpoint without env": func(c *Config) { c.Endpoint = "localhost:8099" },
		"shard size":           func(c *Config) { c.FiguresPerShard = 0 },
		"dpi":                  func(c *Config) { c.RenderDPI = 5 },
		"hamming":              func(c *Config) { c.MaxHamming = 40 },
		"filters":              func(c *Config) { c.MinAspect, c.MaxAspect = 3, 1 },
	}
	for name, f := range bad {
		c := ok
		f(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestProgressLine: the line shows the step now running, with its own rate and ETA: laying
// documents out, then the page ranges still rendering once every document is laid out.
func TestProgressLine(t *testing.T) {
	var b buildProgress
	if got := b.line(map[string]int64{}, time.Second); !strings.Contains(got, "documents 0") {
		t.Errorf("no work yet: %q", got)
	}
	c := map[string]int64{cDocsFound: 10, cDocsSkipped: 2, cDocsProcessed: 3, cDocsRejected: 1, cPagesDone: 40, cFiguresFound: 12,
		cFiguresKept: 9, cRejects: 5, cRangesQueued: 6, cRangesDone: 1}
	got := b.line(c, 20*time.Second)
	for _, want := range []string{"documents 4/8", "skipped 2", "pages 40 (2.0/s)", "12 found, 9 kept", "rejects 5", "ETA 20s"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	// Every document laid out: the rendering step, timed from when it began.
	c[cDocsProcessed], c[cRangesDone] = 7, 2
	b.line(c, 40*time.Second)
	c[cRangesDone] = 4
	got = b.line(c, 60*time.Second)
	for _, want := range []string{"page ranges 4/6", "ETA 10s"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "documents 8/8") {
		t.Errorf("%q still shows the finished layout step", got)
	}
}

// TestSettingsRoundTrip: the settings a manifest records (JSON of Config.Settings) written
// back as a --config file give the same configuration.
func TestSettingsRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.Inputs = []string{"/data/pdfs", "s3://library/new/"}
	c.Output = "s3://corpus/figures"
	c.Formats = []string{"webdataset", "mds", "jsonl"}
	c.Progress = 90 * time.Second
	c.RenderDPI, c.PagesPerRange, c.OCR = 300, 3, false
	c.BeamOptions = map[string]string{"project": "p", "region": "europe-west4"}
	c.Languages = []string{"en", "de"}
	c.MinCaptionChars, c.MaxHamming = 24, 4
	recorded, err := json.Marshal(c.Settings()) // as in the manifest
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(recorded, &m); err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "settings.yaml")
	if err := os.WriteFile(path, y, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	again, _ := json.Marshal(back.Settings())
	if string(again) != string(recorded) {
		t.Errorf("settings do not round-trip:\nrecorded %s\nreloaded %s", recorded, again)
	}
}
