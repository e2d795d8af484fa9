package cot

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
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
// versioned datasets through package shards; rejects go into the SFT manifest. The version
// name is reserved in both datasets when the sink is created; Close writes both manifests,
// then moves both LATEST by compare-and-swap (see Reserve and Reservation.Publish).
type ShardsSink struct {
	sft, rl           *shards.Writer
	sftStore, rlStore storage.Store
	res               *Reservation
}

// NewShardsSink reserves the version under prefix and starts both datasets. opts.Version
// names the version as it is (a fixed name: see Reserve); empty, it is the UTC time, with a
// suffix when another run took that name. Shard names carry the version (opts.ShardTag).
func NewShardsSink(ctx context.Context, prefix string, opts shards.WriteOptions) (*ShardsSink, error) {
	prefix = strings.TrimRight(prefix, "/")
	fixed := opts.Version != ""
	if !fixed {
		opts.Version = time.Now().UTC().Format("20060102T150405Z")
	}
	sftSt, rlSt, err := OpenOutput(ctx, prefix, opts.S3)
	if err != nil {
		return nil, err
	}
	s := &ShardsSink{sftStore: sftSt, rlStore: rlSt}
	if s.res, err = Reserve(ctx, sftSt, rlSt, prefix, opts.Version, fixed); err != nil {
		s.closeStores()
		return nil, err
	}
	opts.Version, opts.ShardTag = s.res.Version, s.res.Version
	if s.sft, err = shards.CreateIn(ctx, ManifestOnly(sftSt), opts); err != nil {
		s.Abort()
		return nil, fmt.Errorf("sft dataset: %w", err)
	}
	if s.rl, err = shards.CreateIn(ctx, ManifestOnly(rlSt), opts); err != nil {
		s.Abort()
		return nil, fmt.Errorf("rl dataset: %w", err)
	}
	return s, nil
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

// Close implements Sink: it writes both manifests, then moves LATEST of both datasets
// (Reservation.Publish; a *ConcurrentCommitError when another run moved it meanwhile).
func (s *ShardsSink) Close(ctx context.Context, sum *Summary) error {
	for _, w := range []*shards.Writer{s.sft, s.rl} {
		w.SetStat("cot_figures", sum.Figures)
		w.SetStat("cot_requested", sum.Requested)
		w.SetStat("cot_sft", sum.SFT)
		w.SetStat("cot_rl", sum.RL)
		w.SetStat("cot_reject_reasons", sum.Reasons)
	}
	if _, err := s.sft.Commit(ctx); err != nil {
		s.Abort()
		return fmt.Errorf("committing sft: %w", err)
	}
	if _, err := s.rl.Commit(ctx); err != nil {
		s.Abort()
		return fmt.Errorf("committing rl: %w", err)
	}
	defer s.closeStores()
	return s.res.Publish(ctx, s.sftStore, s.rlStore)
}

// Abort gives both versions up: the shards being written are dropped and the name is
// released where no manifest was written.
func (s *ShardsSink) Abort() {
	for _, w := range []*shards.Writer{s.sft, s.rl} {
		if w != nil {
			w.Abort()
		}
	}
	if s.res != nil && s.sftStore != nil {
		if err := s.res.Release(context.Background(), s.sftStore, s.rlStore); err != nil {
			slog.Warn("cot: releasing the version name", "err", err)
		}
	}
	s.closeStores()
}

func (s *ShardsSink) closeStores() {
	if s.sftStore != nil {
		s.sftStore.Close()
		s.rlStore.Close()
		s.sftStore, s.rlStore = nil, nil
	}
}

// Version is the version name of the datasets being written.
func (s *ShardsSink) Version() string { return s.res.Version }
