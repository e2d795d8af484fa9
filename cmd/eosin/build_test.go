package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/pipelines"
	"github.com/spf13/pflag"
)

// TestBuildFlags checks that every configuration key is a documented flag of `eosin build`,
// that Beam's own options pass through, and that flags given on the command line win over the
// YAML file while its other keys keep their values.
func TestBuildFlags(t *testing.T) {
	cmd := newBuildCmd(nil)
	cfg := pipelines.DefaultConfig()
	for _, fd := range cfg.Fields() {
		f := cmd.Flags().Lookup(buildFlagName(fd.Key))
		if f == nil || f.Hidden || f.Usage == "" {
			t.Errorf("config key %s: flag %+v", fd.Key, f)
		}
	}
	for _, beamFlag := range []string{"project", "region", "temp_location"} {
		if f := cmd.Flags().Lookup(beamFlag); f == nil || !f.Hidden {
			t.Errorf("Beam option --%s is not passed through: %+v", beamFlag, f)
		}
	}

	p := filepath.Join(t.TempDir(), "corpus.yaml")
	if err := os.WriteFile(p, []byte("min-width: 100\nmin_height: 99\nlanguages: [de]\nno-ocr: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bound := pipelines.DefaultConfig()
	fs := pflag.NewFlagSet("build", pflag.ContinueOnError)
	for _, fd := range bound.Fields() {
		bindFlag(fs, fd)
	}
	if err := fs.Parse([]string{"--min-width=10", "--languages=en,fr", "--incremental=false"}); err != nil {
		t.Fatal(err)
	}
	var warn strings.Builder
	merged, err := loadBuildConfig(p, &warn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), `config key "min_height" is deprecated, use "min-height"`) {
		t.Errorf("no deprecation warning for min_height: %q", warn.String())
	}
	applyFlags(fs, &bound, &merged)
	if merged.MinWidth != 10 || merged.MinHeight != 99 || len(merged.Languages) != 2 || merged.Languages[1] != "fr" || merged.Incremental || merged.OCR {
		t.Fatalf("merged config: width %d height %d languages %v incremental %v ocr %v", merged.MinWidth, merged.MinHeight, merged.Languages, merged.Incremental, merged.OCR)
	}
}
