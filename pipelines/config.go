package pipelines

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/eosinlab/eosin/internal/quality"
	"github.com/eosinlab/eosin/shards"
	"gopkg.in/yaml.v3"
)

// Config configures a corpus build. Every field has a YAML key (the `yaml` tag) and a
// command-line flag of the same name; Usage holds the help text of each.
type Config struct {
	// Inputs are local files, directories (searched recursively for *.pdf and article
	// packages, see package articles), globs, or
	// s3://bucket/prefix locations.
	Inputs []string `yaml:"inputs"`
	// Output is the dataset location: a directory or s3://bucket/prefix.
	Output string `yaml:"output"`
	// Formats are the shard formats of the figure dataset: any of webdataset, parquet, mds,
	// jsonl (every format holds every figure).
	Formats []string `yaml:"formats"`

	// Runner selects the Beam runner: "" or prism (in-process), universal, flink, dataflow.
	Runner string `yaml:"runner"`
	// Endpoint is the job server HOST:PORT of a portable runner.
	Endpoint string `yaml:"endpoint"`
	// EnvironmentType is LOOPBACK, EXTERNAL, PROCESS or DOCKER (portable runners).
	EnvironmentType string `yaml:"environment_type"`
	// EnvironmentConfig is the image, worker pool address or process JSON of the environment.
	EnvironmentConfig string `yaml:"environment_config"`
	// WorkerBinary is a prebuilt linux worker (cgo, with libtesseract) staged to remote workers.
	WorkerBinary string `yaml:"worker_binary"`
	// JobName names the job on the runner (default: eosin-build-<version>).
	JobName string `yaml:"job_name"`
	// BeamOptions are further Beam pipeline options (e.g. Dataflow's project, region,
	// temp_location), passed as --key=value.
	BeamOptions map[string]string `yaml:"beam_options"`

	// FiguresPerShard is the target number of figures per shard.
	FiguresPerShard int `yaml:"figures_per_shard"`
	// Incremental skips documents already in the latest committed version (processed with
	// the same extraction settings).
	Incremental bool `yaml:"incremental"`
	// Reprocess processes every input document again, also those the latest version holds
	// with the same settings (their records are replaced).
	Reprocess bool `yaml:"reprocess"`
	// OCR finds figures on scanned pages with Tesseract (layout/scan); without it such pages
	// are rejected as "scanned_page".
	OCR bool `yaml:"ocr"`
	// OCRLanguages are the Tesseract languages, e.g. eng or eng+deu.
	OCRLanguages string `yaml:"ocr_languages"`
	// PagesPerRange is the most pages with figures (or scanned pages) one page-range work
	// item renders; documents are laid out whole, then rendered and OCR'd in page ranges.
	PagesPerRange int `yaml:"pages_per_range"`
	// RenderDPI is the resolution figure regions are rendered at.
	RenderDPI int `yaml:"render_dpi"`
	// Progress is the interval between progress lines (0 disables them).
	Progress time.Duration `yaml:"progress"`

	// S3Endpoint, S3Region, S3Insecure and S3CABundle configure s3:// locations (credentials
	// come from the environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws).
	S3Endpoint string `yaml:"s3_endpoint"`
	S3Region   string `yaml:"s3_region"`
	S3Insecure bool   `yaml:"s3_insecure"`
	S3CABundle string `yaml:"s3_ca_bundle"`

	quality.Params  `yaml:",inline"`
	quality.Options `yaml:",inline"`
}

// Usage is the help text of every configuration key (and flag).
var Usage = map[string]string{
	"inputs":                  "PDF files, directories (recursive), globs or s3://bucket/prefix locations (also as arguments)",
	"output":                  "dataset location: a directory or s3://bucket/prefix",
	"formats":                 "shard formats of the figure dataset: webdataset, parquet, mds, jsonl (any subset)",
	"reprocess":               "process every input document again, also those already committed with the same settings",
	"runner":                  "Beam runner: prism (in-process, default), universal, flink, dataflow",
	"endpoint":                "job server HOST:PORT for universal/flink (e.g. localhost:8099)",
	"environment_type":        "worker environment for portable runners: LOOPBACK, EXTERNAL, PROCESS, DOCKER",
	"environment_config":      "environment config: worker pool address (EXTERNAL), process JSON, or container image",
	"worker_binary":           "prebuilt linux worker binary (this program built with cgo) for remote workers",
	"job_name":                "job name on the runner (default eosin-build-<version>)",
	"beam_options":            "further Beam options as key=value (e.g. project=P,region=R,temp_location=gs://…)",
	"ocr":                     "find figures on scanned pages with Tesseract (else they are rejected as scanned_page)",
	"ocr_languages":           "Tesseract languages for scanned pages, e.g. eng or eng+deu",
	"figures_per_shard":       "target number of figures per shard",
	"incremental":             "skip documents already in the latest committed version",
	"render_dpi":              "resolution of rendered figure crops",
	"pages_per_range":         "most figure or scanned pages one page-range work item renders",
	"progress":                "interval between progress lines (0 disables)",
	"s3_endpoint":             "S3 endpoint host:port or URL (default $AWS_ENDPOINT_URL_S3)",
	"s3_region":               "S3 region (default $AWS_REGION)",
	"s3_insecure":             "plain HTTP to a bare host:port S3 endpoint",
	"s3_ca_bundle":            "PEM file of extra CAs for the S3 endpoint (default $AWS_CA_BUNDLE)",
	"min_width":               "filter: minimum figure image width in pixels",
	"min_height":              "filter: minimum figure image height in pixels",
	"min_aspect":              "filter: minimum width/height",
	"max_aspect":              "filter: maximum width/height",
	"min_caption_chars":       "filter: minimum caption length in characters",
	"max_caption_chars":       "filter: maximum caption length in characters (0: none)",
	"languages":               "filter: accepted caption languages, ISO 639-1 (empty: any)",
	"min_language_confidence": "filter: language-detector confidence needed to reject a caption",
	"min_ink":                 "filter: minimum fraction of non-background pixels (blank images below)",
	"include_tables":          "keep tables (excluded by default)",
	"max_hamming":             "dedup: largest perceptual-hash Hamming distance of near-duplicates (-1: exact only)",
	"caption_jaccard":         "dedup: caption word-trigram similarity reported as near-duplicate (0: off)",
}

// DefaultConfig is what `eosin build` uses without a config file or flags.
func DefaultConfig() Config {
	return Config{
		Output:          "./corpus",
		Formats:         []string{"webdataset", "parquet"},
		OCR:             true,
		OCRLanguages:    "eng",
		FiguresPerShard: 1000,
		Incremental:     true,
		RenderDPI:       150,
		PagesPerRange:   8,
		Progress:        2 * time.Second,
		Params:          quality.DefaultParams(),
		Options:         quality.DefaultOptions(),
	}
}

// LoadConfig reads a YAML file over the defaults. Unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Validate reports unusable settings.
func (c Config) Validate() error {
	if len(c.Inputs) == 0 {
		return fmt.Errorf("no inputs: give PDF files, directories, globs or s3:// prefixes")
	}
	if c.Output == "" {
		return fmt.Errorf("no output location")
	}
	if _, err := c.ShardFormats(); err != nil {
		return err
	}
	for _, l := range c.Languages {
		if !slices.Contains(quality.LanguageCodes(), l) {
			return fmt.Errorf("languages: %q is not a language code the caption filter knows (want ISO 639-1 codes: %s)", l, strings.Join(quality.LanguageCodes(), ", "))
		}
	}
	switch strings.ToLower(c.Runner) {
	case "", "prism", "universal", "portable", "flink", "dataflow", "spark":
	default:
		return fmt.Errorf("runner %q: want prism, universal, flink, spark or dataflow", c.Runner)
	}
	if c.Endpoint != "" && c.EnvironmentType == "" {
		return fmt.Errorf("endpoint %s given without environment_type (LOOPBACK, EXTERNAL, PROCESS or DOCKER)", c.Endpoint)
	}
	if c.FiguresPerShard < 1 {
		return fmt.Errorf("figures_per_shard %d: must be at least 1", c.FiguresPerShard)
	}
	if c.PagesPerRange < 1 {
		return fmt.Errorf("pages_per_range %d: must be at least 1", c.PagesPerRange)
	}
	if c.RenderDPI < 36 || c.RenderDPI > 1200 {
		return fmt.Errorf("render_dpi %d: want 36..1200", c.RenderDPI)
	}
	if c.CaptionJaccard < 0 || c.CaptionJaccard > 1 {
		return fmt.Errorf("caption_jaccard %g: want 0..1", c.CaptionJaccard)
	}
	if c.MaxHamming > 32 {
		return fmt.Errorf("max_hamming %d: at most 32", c.MaxHamming)
	}
	if err := c.Params.Validate(); err != nil {
		return fmt.Errorf("filters: %w", err)
	}
	return nil
}

// ShardFormats parses Formats.
func (c Config) ShardFormats() ([]shards.Format, error) {
	if len(c.Formats) == 0 {
		return nil, fmt.Errorf("formats: none given (webdataset, parquet, mds, jsonl)")
	}
	fs, err := shards.ParseFormats(strings.Join(c.Formats, ","))
	if err != nil {
		return nil, fmt.Errorf("formats: %w", err)
	}
	return fs, nil
}

// Settings returns every configuration key with its value, as a --config file holds them
// (durations as strings such as "2s"), for the manifest.
func (c *Config) Settings() map[string]any {
	out := map[string]any{}
	for _, f := range c.Fields() {
		v := f.Value.Interface()
		switch x := v.(type) {
		case time.Duration:
			v = x.String()
		case []string:
			v = slices.Clone(x)
			if x == nil {
				v = []string{}
			}
		case map[string]string:
			if x == nil {
				v = map[string]string{}
			}
		}
		out[f.Key] = v
	}
	return out
}

// extractionKeys are the settings that change what the build makes of a document: the OCR,
// rendering, filter and dedup settings. Their fingerprint is stored per document.
var extractionKeys = []string{"ocr", "ocr_languages", "render_dpi",
	"min_width", "min_height", "min_aspect", "max_aspect", "min_caption_chars", "max_caption_chars",
	"languages", "min_language_confidence", "min_ink", "include_tables", "max_hamming", "caption_jaccard"}

// ExtractionSettings returns the settings that change what the build extracts from a document,
// and their fingerprint (the first 16 hex digits of the sha256 of their JSON).
func (c *Config) ExtractionSettings() (map[string]any, string) {
	all := c.Settings()
	out := map[string]any{}
	for _, k := range extractionKeys {
		out[k] = all[k]
	}
	b, _ := json.Marshal(out) // map keys are sorted
	sum := sha256.Sum256(b)
	return out, hex.EncodeToString(sum[:8])
}

// Field is one configuration key bound to its value in a Config.
type Field struct {
	Key   string
	Value reflect.Value // addressable
	Usage string
}

// Fields lists every configuration key of c (inline structs flattened) with an addressable
// value, in declaration order. The command line binds one flag to each.
func (c *Config) Fields() []Field {
	var out []Field
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if opts == "inline" {
				walk(v.Field(i))
				continue
			}
			if name == "" || name == "-" {
				continue
			}
			out = append(out, Field{Key: name, Value: v.Field(i), Usage: Usage[name]})
		}
	}
	walk(reflect.ValueOf(c).Elem())
	return out
}
