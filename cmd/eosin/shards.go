package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
	"github.com/spf13/cobra"
)

// newShardsCmd is `eosin shards`: list, verify and print dataset versions.
func newShardsCmd() *cobra.Command {
	var s3 s3Options
	cmd := &cobra.Command{
		Use:   "shards",
		Short: "List, verify and print dataset versions (local directories or s3://bucket/prefix)",
		Long: `A dataset lives under a prefix: a local directory or s3://bucket/prefix. Each build writes
<prefix>/<version>/ (WebDataset, Parquet, MDS and/or JSONL shards, their indexes), then
<version>/manifest.json, then <prefix>/LATEST. Only versions with a manifest are committed.

PREFIX means the version LATEST names; PREFIX@VERSION a given one.

S3 settings come from the flags below or the environment variables every command reads:
AWS_ENDPOINT_URL, AWS_REGION, AWS_CA_BUNDLE, AWS_PROFILE, and credentials from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN) or ~/.aws/credentials.`,
	}
	addS3Flags(cmd.PersistentFlags(), &s3)
	cmd.AddCommand(newShardsLsCmd(&s3), newShardsVerifyCmd(&s3), newShardsCatCmd(&s3), newShardsGCCmd(&s3))
	return cmd
}

func newShardsLsCmd(s3 *s3Options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls PREFIX",
		Short: "List the versions under a prefix with their counts",
		Example: `  eosin shards ls corpus/figures
  eosin shards ls s3://datasets/pathology --s3-endpoint https://127.0.0.1:7070`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			vs, err := shards.Versions(cmd.Context(), args[0], shards.ReadOptions{S3: s3.config()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeVersionsJSON(out, vs)
			}
			if len(vs) == 0 {
				fmt.Fprintf(out, "no versions under %s\n", args[0])
				return nil
			}
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tSTATE\tKIND\tRECORDS\tSHARDS\tBYTES\tREJECTS\tFORMATS\tCREATED")
			for _, v := range vs {
				state := v.State
				if v.Latest {
					state += ", LATEST"
				}
				if m := v.Manifest; m != nil && v.Err == nil {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%v\t%s\n", v.Version, state, m.Kind, m.Totals.Records,
						m.Totals.Shards, humanBytes(m.Totals.Bytes), m.Totals.Rejects, m.Formats, m.Created.Format("2006-01-02 15:04:05Z"))
				} else {
					fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\t-\n", v.Version, state)
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, v := range vs {
				if v.Err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", v.Version, v.Err)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func writeVersionsJSON(w io.Writer, vs []shards.VersionInfo) error {
	type row struct {
		Version   string          `json:"version"`
		State     string          `json:"state"`
		Committed bool            `json:"committed"`
		Latest    bool            `json:"latest"`
		Kind      shards.Kind     `json:"kind,omitempty"`
		Formats   []shards.Format `json:"formats,omitempty"`
		Totals    *shards.Totals  `json:"totals,omitempty"`
		Error     string          `json:"error,omitempty"`
	}
	rows := []row{}
	for _, v := range vs {
		r := row{Version: v.Version, State: v.State, Committed: v.Committed, Latest: v.Latest}
		if v.Manifest != nil {
			r.Kind, r.Formats, r.Totals = v.Manifest.Kind, v.Manifest.Formats, &v.Manifest.Totals
		}
		if v.Err != nil {
			r.Error = v.Err.Error()
		}
		rows = append(rows, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func newShardsVerifyCmd(s3 *s3Options) *cobra.Command {
	return &cobra.Command{
		Use:   "verify PREFIX[@VERSION]",
		Short: "Re-read every object of a version and check hashes, counts and indexes",
		Long: `verify re-reads every shard and index of a committed version: sizes and sha256 against the
manifest, every record decoded and counted per shard, ids unique, all formats holding the same
records, sizes.json and the wids index (with md5 sums), MDS index.json (with its hashes). It
exits non-zero and lists the problems when anything is wrong.`,
		Example: "  eosin shards verify corpus/figures@20261122T104544Z",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ds, err := shards.Open(ctx, args[0], shards.ReadOptions{S3: s3.config()})
			if err != nil {
				return err
			}
			defer ds.Close()
			rep, err := ds.Verify(ctx)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d shards, %d index files, %s read\n", ds.Location(), rep.Shards, rep.Files, humanBytes(rep.Bytes))
			for _, f := range ds.Manifest().Formats {
				fmt.Fprintf(out, "  %-10s %d records\n", f, rep.Records[f])
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "OK")
			return nil
		},
	}
}

func newShardsGCCmd(s3 *s3Options) *cobra.Command {
	var keep int
	var del bool
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "gc PREFIX",
		Short: "Remove old versions and every object no kept version references (dry run unless --delete)",
		Long: `gc keeps the newest --keep committed versions (LATEST and its ancestors) and removes the
other versions, with every object that no kept version references. A version references the
unchanged shards of earlier versions instead of copying them: those objects stay as long as a
kept version lists them. Versions without a committed manifest are removed too, unless their
build started less than --grace ago (it may still be running).

Without --delete, gc only reports what it would remove.`,
		Example: `  eosin shards gc corpus/figures --keep 3
  eosin shards gc s3://datasets/figures --keep 1 --delete`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := storage.Open(ctx, args[0], s3.config())
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := shards.GC(ctx, st, shards.GCOptions{Keep: keep, Delete: del, Grace: grace})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			verb := "would remove"
			if del {
				verb = "removed"
			}
			fmt.Fprintf(out, "kept %d versions: %v\n", len(rep.Kept), rep.Kept)
			fmt.Fprintf(out, "%s %d versions: %v\n", verb, len(rep.Removed), rep.Removed)
			if len(rep.Protected) > 0 {
				fmt.Fprintf(out, "left alone (builds that may still run, or unreadable manifests): %v\n", rep.Protected)
			}
			fmt.Fprintf(out, "%s %d objects, %s (%d bytes)\n", verb, rep.Objects, humanBytes(rep.Bytes), rep.Bytes)
			if !del && rep.Objects > 0 {
				fmt.Fprintln(out, "dry run: give --delete to remove them")
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 1, "number of committed versions to keep (newest first, LATEST included)")
	cmd.Flags().BoolVar(&del, "delete", false, "delete (without it gc only reports what it would delete)")
	cmd.Flags().DurationVar(&grace, "grace", 6*time.Hour, "leave uncommitted versions younger than this alone (builds still running)")
	return cmd
}

func newShardsCatCmd(s3 *s3Options) *cobra.Command {
	var n int
	var format string
	cmd := &cobra.Command{
		Use:   "cat PREFIX[@VERSION]",
		Short: "Print records as JSON lines (image bytes omitted)",
		Example: `  eosin shards cat corpus/figures --n 5
  eosin shards cat corpus/sft@v3 --formats parquet --n 1`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ds, err := shards.Open(ctx, args[0], shards.ReadOptions{S3: s3.config()})
			if err != nil {
				return err
			}
			defer ds.Close()
			f := ds.PreferredFormat()
			if format != "" {
				fs, err := shards.ParseFormats(format)
				if err != nil {
					return &usageError{fmt.Errorf("--formats: %w", err)}
				}
				if len(fs) != 1 {
					return flagErrorf("--formats: give the one format to read")
				}
				f = fs[0]
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			i := 0
			for rec, err := range ds.RecordsOf(ctx, f) {
				if err != nil {
					return err
				}
				if n > 0 && i >= n {
					break
				}
				if err := enc.Encode(rec); err != nil {
					return err
				}
				i++
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&n, "n", 5, "number of records to print (0: all)")
	cmd.Flags().StringVar(&format, "formats", "", "the format to read: webdataset, mds, parquet or jsonl (default: the first the version has)")
	aliasFlag(cmd.Flags(), "formats", "format")
	return cmd
}
