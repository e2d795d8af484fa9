package cot

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/eosinlab/eosin/shards"
)

// OpenFigures returns the figures of ref: an `eosin extract` output directory (one holding
// figures.jsonl) or a committed figure dataset PREFIX[@VERSION]. total is the number of
// figures when known (else −1).
func OpenFigures(ctx context.Context, ref string, opts shards.ReadOptions) (figs iter.Seq2[FigureInput, error], total int, closeFn func() error, err error) {
	if st, err := os.Stat(filepath.Join(ref, "figures.jsonl")); err == nil && !st.IsDir() {
		n, err := CountExtractDir(ref)
		if err != nil {
			return nil, 0, nil, err
		}
		return ExtractDir(ref), n, func() error { return nil }, nil
	}
	ds, err := shards.Open(ctx, ref, opts)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("figures %s: %w", ref, err)
	}
	m := ds.Manifest()
	if m.Kind != shards.KindFigure && m.Totals.Records > 0 {
		ds.Close()
		return nil, 0, nil, fmt.Errorf("figures %s: dataset holds %s records, want figures", ref, m.Kind)
	}
	seq := func(yield func(FigureInput, error) bool) {
		for rec, err := range ds.Records(ctx) {
			if err != nil {
				yield(FigureInput{}, err)
				return
			}
			if rec.Figure == nil {
				yield(FigureInput{}, fmt.Errorf("record %s is not a figure", rec.ID()))
				return
			}
			f := *rec.Figure
			if !yield(FigureInput{Figure: f, Image: f.ImageBytes, ImageFormat: f.Image.Format}, nil) {
				return
			}
		}
	}
	return seq, m.Totals.Records, ds.Close, nil
}

// ShardsSink writes the SFT samples to <prefix>/sft and the RL samples to <prefix>/rl as
// versioned datasets through package shards; rejects go into the SFT manifest. Close commits
// both versions.
type ShardsSink struct {
	sft, rl *shards.Writer
}

// NewShardsSink creates the two dataset versions under prefix.
func NewShardsSink(ctx context.Context, prefix string, opts shards.WriteOptions) (*ShardsSink, error) {
	prefix = strings.TrimRight(prefix, "/")
	sft, err := shards.Create(ctx, prefix+"/sft", opts)
	if err != nil {
		return nil, fmt.Errorf("sft dataset: %w", err)
	}
	if opts.Version == "" {
		opts.Version = sft.Version() // both datasets share the version name
	}
	rl, err := shards.Create(ctx, prefix+"/rl", opts)
	if err != nil {
		sft.Abort()
		return nil, fmt.Errorf("rl dataset: %w", err)
	}
	return &ShardsSink{sft: sft, rl: rl}, nil
}

// Write implements Sink.
func (s *ShardsSink) Write(ctx context.Context, out *Output) error {
	for i := range out.SFT {
		if err := s.sft.WriteSample(ctx, &out.SFT[i]); err != nil {
			return fmt.Errorf("sft sample %s: %w", out.SFT[i].ID, err)
		}
	}
	for i := range out.RL {
		if err := s.rl.WriteSample(ctx, &out.RL[i]); err != nil {
			return fmt.Errorf("rl sample %s: %w", out.RL[i].ID, err)
		}
	}
	for _, r := range out.Rejects {
		s.sft.AddReject(r)
	}
	return nil
}

// Close implements Sink: it commits both versions.
func (s *ShardsSink) Close(ctx context.Context, sum *Summary) error {
	for _, w := range []*shards.Writer{s.sft, s.rl} {
		w.SetStat("cot_figures", sum.Figures)
		w.SetStat("cot_requested", sum.Requested)
		w.SetStat("cot_sft", sum.SFT)
		w.SetStat("cot_rl", sum.RL)
		w.SetStat("cot_reject_reasons", sum.Reasons)
	}
	_, err1 := s.sft.Commit(ctx)
	if err1 != nil {
		s.rl.Abort()
		return fmt.Errorf("committing sft: %w", err1)
	}
	if _, err := s.rl.Commit(ctx); err != nil {
		return fmt.Errorf("committing rl: %w", err)
	}
	return nil
}

// Abort gives both versions up.
func (s *ShardsSink) Abort() {
	s.sft.Abort()
	s.rl.Abort()
}

// Version is the version name of the datasets being written.
func (s *ShardsSink) Version() string { return s.sft.Version() }
