package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/eosinlab/eosin/pipelines"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// When a Beam runner starts this binary as a remote worker (--worker_binary), it passes
// --worker and the Fn API endpoints: hand the process to the Beam harness before the command
// line is parsed as eosin's. The DoFns are registered by package pipelines' init.
func init() {
	for _, a := range os.Args[1:] {
		if a == "--worker" || a == "-worker" || strings.HasPrefix(a, "--worker=") || strings.HasPrefix(a, "-worker=") {
			flag.Parse()
			beam.Init() // runs the worker harness and exits
			return
		}
	}
}

// newBuildCmd is `eosin build`: the corpus build on Apache Beam.
func newBuildCmd() *cobra.Command {
	flagCfg := pipelines.DefaultConfig()
	var configPath string
	cmd := &cobra.Command{
		Use:   "build [flags] [INPUT...]",
		Short: "Build or extend the figure–caption dataset from PDFs (Apache Beam; runs locally by default)",
		Long: `build reads PDFs (files, directories, globs, s3://bucket/prefix), extracts every
captioned figure (extract + layout), filters and deduplicates them, and commits a new
dataset version under the output location: <output>/<version>/ with WebDataset shards,
rejects/*.jsonl (every dropped document, page and figure with its reason) and
manifest.json, written last, then <output>/LATEST. Builds are incremental: documents
whose sha256 is in the latest committed version are skipped, and the new version holds
every document. A build that finds nothing new commits nothing.

It runs on Apache Beam. By default on prism, in this process (nothing to install). With
--runner=universal --endpoint=HOST:PORT --environment_type=LOOPBACK|EXTERNAL|PROCESS|DOCKER
it submits to a portable job server (Flink's job server, Spark, a standalone prism);
with --runner=dataflow to Google Cloud Dataflow (--project, --region, --temp_location,
--staging_location, --sdk_container_image, ... are passed to Beam as they are). Remote
workers need a prebuilt worker binary (--worker_binary, this program built for linux with
cgo) in an image with libtesseract and libmupdf: see deploy/worker.Dockerfile and
` + "`make worker-image`" + `.

Every flag is also a key of the YAML file given with --config (flags win), e.g.

  inputs: [/data/pdfs, s3://library/new/]
  output: s3://corpus/figures
  min_caption_chars: 24
  languages: [en]
  max_hamming: 6
  beam_options: {project: my-project, region: europe-west1}

Progress lines (documents, pages, figures, rejects, rate, ETA) come from the job's Beam
metrics; the summary at the end from the committed manifest.`,
		Example: `  eosin build testdata/cache/x/ --output ./corpus
  eosin build --config corpus.yaml
  eosin build /data/pdfs --runner=universal --endpoint=localhost:8099 --environment_type=LOOPBACK`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := pipelines.DefaultConfig()
			if configPath != "" {
				c, err := pipelines.LoadConfig(configPath)
				if err != nil {
					return err
				}
				cfg = c
			}
			applyFlags(cmd.Flags(), &flagCfg, &cfg)
			cfg.Inputs = append(cfg.Inputs, args...)
			sum, err := pipelines.Run(cmd.Context(), cfg, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			pipelines.PrintSummary(cmd.OutOrStdout(), sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "YAML configuration file (keys as the flags below; flags win)")
	for _, fd := range flagCfg.Fields() {
		bindFlag(f, fd)
	}
	addBeamOptions(f)
	return cmd
}

// addBeamOptions accepts every other Beam pipeline option (Dataflow's --project, --region,
// …) on f and passes it to Beam; they are hidden to keep the help readable.
func addBeamOptions(f *pflag.FlagSet) {
	own := map[string]bool{}
	f.VisitAll(func(fl *pflag.Flag) { own[fl.Name] = true })
	f.AddGoFlagSet(flag.CommandLine)
	f.VisitAll(func(fl *pflag.Flag) {
		if !own[fl.Name] {
			fl.Hidden = true
		}
	})
}

// bindFlag defines the flag of one configuration key, pointing at its field.
func bindFlag(f *pflag.FlagSet, fd pipelines.Field) {
	usage := fd.Usage
	switch p := fd.Value.Addr().Interface().(type) {
	case *string:
		f.StringVar(p, fd.Key, *p, usage)
	case *int:
		f.IntVar(p, fd.Key, *p, usage)
	case *bool:
		f.BoolVar(p, fd.Key, *p, usage)
	case *float64:
		f.Float64Var(p, fd.Key, *p, usage)
	case *time.Duration:
		f.DurationVar(p, fd.Key, *p, usage)
	case *[]string:
		f.StringSliceVar(p, fd.Key, slices.Clone(*p), usage)
	case *map[string]string:
		f.StringToStringVar(p, fd.Key, nil, usage)
	default:
		panic(fmt.Sprintf("config key %s: no flag for %s", fd.Key, fd.Value.Type()))
	}
}

// applyFlags copies the values of the flags given on the command line from flagCfg (which
// the flags are bound to) into cfg (defaults, then the YAML file).
func applyFlags(f *pflag.FlagSet, flagCfg, cfg *pipelines.Config) {
	dst := map[string]reflect.Value{}
	for _, fd := range cfg.Fields() {
		dst[fd.Key] = fd.Value
	}
	src := map[string]reflect.Value{}
	for _, fd := range flagCfg.Fields() {
		src[fd.Key] = fd.Value
	}
	f.Visit(func(fl *pflag.Flag) {
		if d, ok := dst[fl.Name]; ok {
			d.Set(src[fl.Name])
		}
	})
}
