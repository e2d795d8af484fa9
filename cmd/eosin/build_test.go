package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eosinlab/eosin/pipelines"
	"github.com/spf13/pflag"
)

// TestBuildFlags checks that every configuration key is a documented flag of `eosin build`,
// that Beam's own options pass through, and that flags given on the command line win over the
// YAML file while its other keys keep their values.
func TestBuildFlags(t *testing.T) {
	cmd := newBuildCmd()
	cfg := pipelines.DefaultConfig()
	for _, fd := range cfg.Fields() {
		f := cmd.Flags().Lookup(fd.Key)
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
	if err := os.WriteFile(p, []byte("min_width: 100\nmin_height: 99\nlanguages: [de]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bound := pipelines.DefaultConfig()
	fs := pflag.NewFlagSet("build", pflag.ContinueOnError)
	for _, fd := range bound.Fields() {
		bindFlag(fs, fd)
	}
	if err := fs.Parse([]string{"--min_width=10", "--languages=en,fr", "--incremental=false"}); err != nil {
		t.Fatal(err)
	}
	merged, err := pipelines.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	applyFlags(fs, &bound, &merged)
	if merged.MinWidth != 10 || merged.MinHeight != 99 || len(merged.Languages) != 2 || merged.Languages[1] != "fr" || merged.Incremental {
		t.Fatalf("merged config: width %d height %d languages %v incremental %v", merged.MinWidth, merged.MinHeight, merged.Languages, merged.Incremental)
	}
}
