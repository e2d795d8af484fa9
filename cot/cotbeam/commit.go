package cotbeam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/eosinlab/eosin/cot"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// storeHandle opens a dataset store on a worker the first time it is needed.
type storeHandle struct {
	st storage.Store
}

func (h *storeHandle) open(ctx context.Context, location string, s3 S3Settings) (storage.Store, error) {
	if h.st == nil {
		st, err := storage.Open(ctx, location, s3.Config())
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", location, err)
		}
		h.st = st
	}
	return h.st, nil
}

func (h *storeHandle) close() {
	if h.st != nil {
		h.st.Close()
		h.st = nil
	}
}

// ClientTotals are the generator requests of a run, summed over workers.
type ClientTotals struct {
	Requests  int64 `json:"requests"`
	CacheHits int64 `json:"cache_hits"`
	Attempts  int64 `json:"attempts"`
	Failures  int64 `json:"failures"`
}

// commitFn is the single commit step: it gets every part of both datasets, every reject and
// the bundles' statistics, and writes the SFT version (with the rejects) and the RL version,
// each by shards.CommitParts through a cot.ManifestOnly store (side indexes, manifest.json
// create-only), then moves LATEST of both by compare-and-swap from the versions they named
// when the launcher reserved the name (cot.Reservation.Publish). Everything it writes
// depends only on its input and the launch (version, creation time), so a retried commit
// writes the same bytes. When every request to the generator failed it commits nothing and
// fails (cot.ErrAllRequestsFailed).
type commitFn struct {
	Out       string          `json:"out"`
	Version   string          `json:"version"`
	SFTParent string          `json:"sft_parent"` // LATEST of Out/sft at the reservation
	RLParent  string          `json:"rl_parent"`  // LATEST of Out/rl at the reservation
	Generator string          `json:"generator"`  // the generator's URL, for messages
	Formats   []shards.Format `json:"formats"`
	Created   string          `json:"created"` // RFC 3339, fixed at launch
	S3        S3Settings      `json:"s3"`
	RunInfo   string          `json:"run_info"` // JSON object recorded as stats.run
	sft, rl   storeHandle
}

func (f *commitFn) Teardown() {
	f.sft.close()
	f.rl.close()
}

func (f *commitFn) ProcessElement(ctx context.Context, _ int, parts func(*[]byte) bool) error {
	var sftParts, rlParts []shards.Part
	var rejects [][]byte
	var client ClientTotals
	figures, requested := 0, 0
	var raw []byte
	for parts(&raw) {
		var p commitPart
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("commit part: %w", err)
		}
		switch {
		case p.SFT != nil:
			sftParts = append(sftParts, *p.SFT)
		case p.RL != nil:
			rlParts = append(rlParts, *p.RL)
		case p.Reject != nil:
			b, err := json.Marshal(p.Reject)
			if err != nil {
				return err
			}
			rejects = append(rejects, b)
		case p.Stats != nil:
			figures += p.Stats.Figures
			requested += p.Stats.Requested
			client.Requests += p.Stats.Requests
			client.CacheHits += p.Stats.CacheHits
			client.Attempts += p.Stats.Attempts
			client.Failures += p.Stats.Failures
		}
	}
	// Rejects in a fixed order (their JSON), so the manifest does not depend on arrival order.
	slices.SortFunc(rejects, bytes.Compare)
	rej := make([]shards.Reject, len(rejects))
	reasons := map[string]int{}
	for i, b := range rejects {
		if err := json.Unmarshal(b, &rej[i]); err != nil {
			return err
		}
		reasons[rej[i].Reason]++
	}
	count := func(ps []shards.Part) int {
		n := 0
		for _, p := range ps {
			n += p.Records
		}
		return n
	}
	stats := func() map[string]any {
		s := map[string]any{
			"cot_figures":        figures,
			"cot_requested":      requested,
			"cot_sft":            count(sftParts),
			"cot_rl":             count(rlParts),
			"cot_reject_reasons": reasons,
			"cot_client":         client,
		}
		var ri map[string]any
		if f.RunInfo != "" && json.Unmarshal([]byte(f.RunInfo), &ri) == nil {
			s["run"] = ri
		}
		return s
	}
	if err := cot.AllFailed(client.Requests, client.Failures, f.Generator, reasons, nil); err != nil {
		return err
	}
	created, err := time.Parse(time.RFC3339, f.Created)
	if err != nil {
		return fmt.Errorf("created %q: %w", f.Created, err)
	}
	opts := shards.WriteOptions{Formats: f.Formats, Version: f.Version, ShardTag: f.Version, S3: f.S3.Config()}
	sst, err := f.sft.open(ctx, f.Out+"/sft", f.S3)
	if err != nil {
		return err
	}
	rst, err := f.rl.open(ctx, f.Out+"/rl", f.S3)
	if err != nil {
		return err
	}
	// The version is reserved by this run: a manifest under it is this commit's own, written
	// by an attempt that the runner retried.
	if done, err := hasManifest(ctx, sst, f.Version); err != nil {
		return err
	} else if !done {
		if _, err := shards.CommitParts(ctx, cot.ManifestOnly(sst), opts, sftParts, shards.CommitOptions{Kind: shards.KindSample, Created: created,
			Rejects: rej, Stats: stats()}); err != nil {
			return fmt.Errorf("committing sft: %w", err)
		}
	}
	if done, err := hasManifest(ctx, rst, f.Version); err != nil {
		return err
	} else if !done {
		if _, err := shards.CommitParts(ctx, cot.ManifestOnly(rst), opts, rlParts, shards.CommitOptions{Kind: shards.KindSample, Created: created,
			Stats: stats()}); err != nil {
			return fmt.Errorf("committing rl: %w", err)
		}
	}
	res := cot.Reservation{Prefix: f.Out, Version: f.Version, SFTParent: f.SFTParent, RLParent: f.RLParent}
	return res.Publish(ctx, sst, rst)
}

// hasManifest reports whether version has its manifest in st.
func hasManifest(ctx context.Context, st storage.Store, version string) (bool, error) {
	_, err := st.Stat(ctx, storage.Join(version, shards.ManifestName))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("%s@%s: %w", st, version, err)
}
