package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/eosinlab/eosin/pipelines"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
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

// buildOptions are the settings of `eosin build`: the configuration its flags are bound to,
// and the YAML file under them.
type buildOptions struct {
	ConfigPath string
	Profile    string // --s3-profile
	Flags      *pflag.FlagSet
	Bound      *pipelines.Config // the flags' values (given or default)
	Args       []string
}

// buildFlagNames maps the configuration keys whose flag (and YAML key) is not simply their
// kebab-case spelling. Beam's own options keep Beam's spelling.
var buildFlagNames = map[string]string{
	"render_dpi":         "dpi",
	"include_tables":     "tables",
	"ocr":                "no-ocr",
	"environment_type":   "environment_type",
	"environment_config": "environment_config",
	"worker_binary":      "worker_binary",
	"job_name":           "job_name",
}

// buildFlagName is the flag name and YAML key of a configuration key.
func buildFlagName(key string) string {
	if n, ok := buildFlagNames[key]; ok {
		return n
	}
	return kebab(key)
}

// newBuildCmd is `eosin build`: the corpus build on Apache Beam. runF replaces the run
// function in tests (nil: runBuild).
func newBuildCmd(runF func(*buildOptions) error) *cobra.Command {
	bound := pipelines.DefaultConfig()
	opts := &buildOptions{Bound: &bound}
	cmd := &cobra.Command{
		Use:   "build [flags] [INPUT...]",
		Short: "Build or extend the figure–caption dataset from PDFs (Apache Beam; runs locally by default)",
		Long: `build reads PDFs and publisher article packages (PMC folders or .tar.gz, .nxml/.xml
beside a PDF) from files, directories, globs and s3://bucket/prefix, extracts every
captioned figure (extract + layout; captions and mentions from the XML for packages), filters and deduplicates them, and commits a new
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
` + "`make worker-image`" + `. Beam's own options keep Beam's spelling (snake_case).

Every flag is also a key of the YAML file given with --config, spelled as the flag (flags
win), e.g.

  inputs: [/data/pdfs, s3://library/new/]
  output: s3://corpus/figures
  min-caption-chars: 24
  languages: [en]
  max-hamming: 6
  beam-options: {project: my-project, region: europe-west1}

Progress (documents, pages, figures, rejects, rate, ETA) goes to stderr, from the job's Beam
metrics; the summary at the end, from the committed manifest, to stdout.`,
		Example: `  eosin build testdata/cache/x/ -o ./corpus
  eosin build --config corpus.yaml
  eosin build /data/pdfs --runner=universal --endpoint=localhost:8099 --environment_type=LOOPBACK`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Flags, opts.Args = cmd.Flags(), args
			if runF != nil {
				return runF(opts)
			}
			return runBuild(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ConfigPath, "config", "", "YAML configuration file (keys as the flags below; flags win)")
	for _, fd := range bound.Fields() {
		bindFlag(f, fd)
	}
	f.StringVar(&opts.Profile, "s3-profile", "", "profile in ~/.aws/credentials (default $AWS_PROFILE)")
	for _, fd := range bound.Fields() {
		if n := buildFlagName(fd.Key); n != fd.Key && fd.Key != "ocr" {
			aliasFlag(f, n, fd.Key)
		}
	}
	// --ocr[=false], the old spelling of --no-ocr, sets the field itself
	f.BoolVar(&bound.OCR, "ocr", bound.OCR, "find figures on scanned pages with Tesseract")
	f.Lookup("ocr").Annotations = map[string][]string{aliasAnnotation: {"no-ocr"}}
	_ = f.MarkDeprecated("ocr", "use --no-ocr to turn OCR off")
	aliasFlag(f, "dpi", "render-dpi")
	aliasFlag(f, "tables", "include-tables")
	addBeamOptions(f)
	return cmd
}

// runBuild loads the configuration (defaults, YAML file, flags), runs the build, and prints
// its summary.
func runBuild(cmd *cobra.Command, opts *buildOptions) error {
	cfg, err := buildConfig(opts, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if opts.Profile != "" {
		if err := (s3Options{Profile: opts.Profile}).exportEnv(); err != nil {
			return err
		}
	}
	sum, err := pipelines.Run(cmd.Context(), cfg, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	pipelines.PrintSummary(cmd.OutOrStdout(), sum)
	return nil
}

// buildConfig is the configuration of a build: defaults, then the YAML file, then the flags
// given, then the arguments as further inputs. Unusable settings are usage errors.
func buildConfig(opts *buildOptions, warn io.Writer) (pipelines.Config, error) {
	cfg := pipelines.DefaultConfig()
	if opts.ConfigPath != "" {
		c, err := loadBuildConfig(opts.ConfigPath, warn)
		if err != nil {
			return cfg, &usageError{err}
		}
		cfg = c
	}
	applyFlags(opts.Flags, opts.Bound, &cfg)
	cfg.Inputs = append(cfg.Inputs, opts.Args...)
	if err := cfg.Validate(); err != nil {
		return cfg, &usageError{err}
	}
	return cfg, nil
}

// loadBuildConfig reads a build's YAML file over the defaults. Its keys are the flag names;
// the configuration's own snake_case keys (as earlier releases and manifests spell them) are
// accepted with a warning. Unknown keys are errors.
func loadBuildConfig(path string, warn io.Writer) (pipelines.Config, error) {
	cfg := pipelines.DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("--config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return cfg, fmt.Errorf("--config %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return cfg, fmt.Errorf("--config %s: want a mapping of keys to values", path)
	}
	keyOf := map[string]string{} // flag name → configuration key
	for _, fd := range cfg.Fields() {
		keyOf[buildFlagName(fd.Key)] = fd.Key
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if key, ok := keyOf[k.Value]; ok {
			if key == "ocr" { // no-ocr: the negation of ocr
				var no bool
				if err := v.Decode(&no); err != nil {
					return cfg, fmt.Errorf("--config %s: no-ocr: %w", path, err)
				}
				v.Value, v.Tag = strconv.FormatBool(!no), "!!bool"
			}
			k.Value = key
			continue
		}
		if _, old := buildFlagNames[k.Value]; old || strings.Contains(k.Value, "_") {
			fmt.Fprintf(warn, "eosin: config key %q is deprecated, use %q\n", k.Value, buildFlagName(k.Value))
		}
	}
	norm, err := yaml.Marshal(m)
	if err != nil {
		return cfg, fmt.Errorf("--config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(norm))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("--config %s: %w", path, err)
	}
	return cfg, nil
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
	usage, name := fd.Usage, buildFlagName(fd.Key)
	switch p := fd.Value.Addr().Interface().(type) {
	case *string:
		if name == "output" {
			f.StringVarP(p, name, "o", *p, usage)
			return
		}
		f.StringVar(p, name, *p, usage)
	case *int:
		f.IntVar(p, name, *p, usage)
	case *bool:
		if name == "no-ocr" {
			f.Var(invertedBool{p}, name, "do not OCR scanned pages (they become scanned_page rejects)")
			f.Lookup(name).NoOptDefVal = "true"
			return
		}
		f.BoolVar(p, name, *p, usage)
	case *float64:
		f.Float64Var(p, name, *p, usage)
	case *time.Duration:
		f.DurationVar(p, name, *p, usage)
	case *[]string:
		f.StringSliceVar(p, name, slices.Clone(*p), usage)
	case *map[string]string:
		f.StringToStringVar(p, name, nil, usage)
	default:
		panic(fmt.Sprintf("config key %s: no flag for %s", fd.Key, fd.Value.Type()))
	}
}

// applyFlags copies the values of the flags given on the command line (under any spelling)
// from flagCfg (which the flags are bound to) into cfg (defaults, then the YAML file).
func applyFlags(f *pflag.FlagSet, flagCfg, cfg *pipelines.Config) {
	syncAliases(f)
	dst := map[string]reflect.Value{}
	for _, fd := range cfg.Fields() {
		dst[buildFlagName(fd.Key)] = fd.Value
	}
	src := map[string]reflect.Value{}
	for _, fd := range flagCfg.Fields() {
		src[buildFlagName(fd.Key)] = fd.Value
	}
	f.VisitAll(func(fl *pflag.Flag) {
		if d, ok := dst[fl.Name]; ok && fl.Changed {
			d.Set(src[fl.Name])
		}
	})
}
