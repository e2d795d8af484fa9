package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/eosinlab/eosin/internal/beamrun"
	"github.com/eosinlab/eosin/shards/storage"
)

// The flag vocabulary shared by every command: kebab-case names, -o/--output for whatever a
// command writes, --jobs (default: the number of CPUs), --dpi, --ocr-languages/--no-ocr,
// --tables, --formats, and the S3 flags below. Old spellings are hidden aliases that still
// work for one release and print a deprecation warning.

// aliasAnnotation marks a hidden alias flag; its value is the canonical flag's name.
const aliasAnnotation = "eosin/alias-of"

// aliasFlag defines old as a deprecated, hidden spelling of the flag canonical (which must be
// defined already): both set the same value.
func aliasFlag(f *pflag.FlagSet, canonical, old string) {
	fl := f.Lookup(canonical)
	if fl == nil {
		panic("aliasFlag: no flag --" + canonical)
	}
	if f.Lookup(old) != nil {
		return
	}
	a := f.VarPF(fl.Value, old, "", fl.Usage)
	a.NoOptDefVal = fl.NoOptDefVal
	a.Annotations = map[string][]string{aliasAnnotation: {canonical}}
	_ = f.MarkDeprecated(old, "use --"+canonical) // cannot fail: the flag exists
}

// syncAliases marks the canonical flag of every alias given on the command line as changed,
// so that "was --x given?" has one answer whichever spelling was used.
func syncAliases(f *pflag.FlagSet) {
	f.VisitAll(func(fl *pflag.Flag) {
		if c := fl.Annotations[aliasAnnotation]; fl.Changed && len(c) == 1 {
			if canon := f.Lookup(c[0]); canon != nil {
				canon.Changed = true
			}
		}
	})
}

// canonicalName is the canonical flag name of name (itself unless name is an alias).
func canonicalName(f *pflag.FlagSet, name string) string {
	if fl := f.Lookup(name); fl != nil {
		if c := fl.Annotations[aliasAnnotation]; len(c) == 1 {
			return c[0]
		}
	}
	return name
}

// kebab is the flag spelling of a snake_case key.
func kebab(key string) string { return strings.ReplaceAll(key, "_", "-") }

// defaultJobs is the default of every --jobs flag.
func defaultJobs() int { return runtime.NumCPU() }

// usageError is a command line that cannot run as given: main exits 2 and prints the hint.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// flagErrorf returns a usage error.
func flagErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// isUsageError reports whether err is a command-line mistake (exit status 2).
func isUsageError(err error) bool {
	var u *usageError
	if errors.As(err, &u) {
		return true
	}
	// cobra's own: unknown command, argument count
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "invalid argument", "unknown flag", "unknown shorthand flag", "flag needs an argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// usageArgs wraps a cobra argument validator so that its errors are usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// s3Options are the S3 flags of every command that reads or writes s3:// locations.
// The environment variables they default to are the documented set: AWS_ENDPOINT_URL (or
// AWS_ENDPOINT_URL_S3), AWS_REGION, AWS_CA_BUNDLE, AWS_PROFILE, and for credentials
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN).
type s3Options struct {
	Endpoint string
	Region   string
	CABundle string
	Insecure bool
	Profile  string
}

// addS3Flags defines --s3-endpoint, --s3-region, --s3-ca-bundle, --s3-insecure and
// --s3-profile, with the snake_case spellings as deprecated aliases.
func addS3Flags(f *pflag.FlagSet, o *s3Options) {
	f.StringVar(&o.Endpoint, "s3-endpoint", o.Endpoint, "S3-compatible endpoint, host:port or http(s)://host:port (default $AWS_ENDPOINT_URL)")
	f.StringVar(&o.Region, "s3-region", o.Region, "S3 region (default $AWS_REGION)")
	f.StringVar(&o.CABundle, "s3-ca-bundle", o.CABundle, "PEM file of extra certificate authorities to trust (default $AWS_CA_BUNDLE)")
	f.BoolVar(&o.Insecure, "s3-insecure", o.Insecure, "plain HTTP for a bare host:port endpoint")
	f.StringVar(&o.Profile, "s3-profile", o.Profile, "profile in ~/.aws/credentials (default $AWS_PROFILE)")
	for _, n := range []string{"s3-endpoint", "s3-region", "s3-ca-bundle", "s3-insecure"} {
		aliasFlag(f, n, strings.ReplaceAll(n, "-", "_"))
	}
}

// config is the storage configuration of the flags.
func (o s3Options) config() storage.S3Config {
	return storage.S3Config{Endpoint: o.Endpoint, Region: o.Region, CABundle: o.CABundle, Insecure: o.Insecure, Profile: o.Profile}
}

// settings are the non-secret settings that travel to Beam workers.
func (o s3Options) settings() beamrun.S3Settings {
	return beamrun.S3Settings{Endpoint: o.Endpoint, Region: o.Region, Insecure: o.Insecure, CABundle: o.CABundle}
}

// exportEnv sets, for this process and the workers it starts, the environment variables of
// the flags given, for code that takes its S3 settings from the environment (the profile of
// Beam workers, the trainer's and the report's dataset readers). The process is about to run
// one command; nothing else reads these variables concurrently.
func (o s3Options) exportEnv() error {
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_S3": o.Endpoint, "AWS_REGION": o.Region,
		"AWS_CA_BUNDLE": o.CABundle, "AWS_PROFILE": o.Profile} {
		if v == "" {
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("S3 settings: %w", err)
		}
	}
	if o.Insecure && o.Endpoint != "" && !strings.Contains(o.Endpoint, "://") {
		if err := os.Setenv("AWS_ENDPOINT_URL_S3", "http://"+o.Endpoint); err != nil {
			return fmt.Errorf("S3 settings: %w", err)
		}
	}
	return nil
}

// invertedBool is a bool flag that sets the negation of a field (--no-ocr sets OCR false).
type invertedBool struct{ p *bool }

func (b invertedBool) String() string {
	if b.p == nil {
		return "false"
	}
	return strconv.FormatBool(!*b.p)
}

func (b invertedBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*b.p = !v
	return nil
}

func (b invertedBool) Type() string { return "bool" }

// splitLanguages turns "eng,deu" or "eng+deu" into Tesseract's "eng+deu" list.
func splitLanguages(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '+' || r == ' ' }) {
		out = append(out, l)
	}
	return out
}
