package cot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// A cot run commits two datasets, PREFIX/sft and PREFIX/rl, under one version name, the way
// the corpus build commits (package shards, snapshots.go):
//
//  1. Reserve: the name is reserved in both datasets with a create-only write of
//     <version>/_build.json before anything else is written under it, and the version each
//     LATEST names is kept. Two runs never share a version name, hence never a shard name
//     (shards live under their version and carry its name as their tag).
//  2. The shards, then both manifests (create-only), written through ManifestOnly stores so
//     that LATEST stays where it is.
//  3. Publish: LATEST of each dataset moves from the version kept at step 1 to the new one
//     by compare-and-swap. When another run moved it in between, the run fails with a
//     *ConcurrentCommitError: its version stays committed (readable as PREFIX/sft@VERSION),
//     LATEST keeps naming the other run's version, and nothing is lost.

// Reservation is a run's claim on a version name under an output prefix, and what its
// commit needs to move LATEST: the version LATEST of each dataset named when the name was
// reserved. It is JSON, so that it can travel to a Beam worker's commit step.
type Reservation struct {
	Prefix    string `json:"prefix"`
	Version   string `json:"version"`
	SFTParent string `json:"sft_parent"`
	RLParent  string `json:"rl_parent"`

	claim []byte // the bytes of our _build.json, for Release
}

// OpenOutput opens the stores of the two datasets under prefix.
func OpenOutput(ctx context.Context, prefix string, s3 storage.S3Config) (sft, rl storage.Store, err error) {
	prefix = strings.TrimRight(prefix, "/")
	if sft, err = storage.Open(ctx, prefix+"/sft", s3); err != nil {
		return nil, nil, fmt.Errorf("output %s/sft: %w", prefix, err)
	}
	if rl, err = storage.Open(ctx, prefix+"/rl", s3); err != nil {
		sft.Close()
		return nil, nil, fmt.Errorf("output %s/rl: %w", prefix, err)
	}
	return sft, rl, nil
}

// Reserve reserves a version name in both datasets under prefix (stores sft and rl) and
// records the versions their LATEST names. A fixed name (one the user chose) is reserved as
// it is or not at all: it fails with shards.ErrVersionExists when the version is committed,
// and when another run holds it; the reservation of a run that died on this host (its
// process is gone) is taken over, so the same command can be rerun after a crash. Otherwise
// the first of version, version-2, version-3, … free in both datasets is taken.
func Reserve(ctx context.Context, sft, rl storage.Store, prefix, version string, fixed bool) (*Reservation, error) {
	if err := shards.ValidVersion(version); err != nil {
		return nil, err
	}
	r := &Reservation{Prefix: strings.TrimRight(prefix, "/")}
	var err error
	if r.SFTParent, err = shards.ReadLatest(ctx, sft); err != nil {
		return nil, err
	}
	if r.RLParent, err = shards.ReadLatest(ctx, rl); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	claim := shards.Reservation{Created: time.Now().UTC(), Base: r.SFTParent, Host: host, PID: os.Getpid()}
	for i := 1; i < 1000; i++ {
		v := version
		if i > 1 {
			if fixed {
				break
			}
			v = fmt.Sprintf("%s-%d", version, i)
		}
		if err := shards.ValidVersion(v); err != nil {
			return nil, err
		}
		claim.Version = v
		b, err := json.MarshalIndent(claim, "", "  ")
		if err != nil {
			return nil, err
		}
		b = append(b, '\n')
		ok, err := reserveIn(ctx, sft, r.Prefix+"/sft", v, b, fixed)
		if err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		ok, err = reserveIn(ctx, rl, r.Prefix+"/rl", v, b, fixed)
		if err != nil || !ok {
			if derr := sft.Delete(ctx, storage.Join(v, shards.ReservationName)); derr != nil && err == nil {
				err = fmt.Errorf("release %s/sft@%s: %w", r.Prefix, v, derr)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		r.Version, r.claim = v, b
		return r, nil
	}
	return nil, fmt.Errorf("reserve version %s under %s: every suffix is taken", version, r.Prefix)
}

// reserveIn writes the reservation claim of version v in store (location names it in
// messages). ok is false when the name is taken and may be skipped (not fixed).
func reserveIn(ctx context.Context, store storage.Store, location, v string, claim []byte, fixed bool) (ok bool, err error) {
	key := storage.Join(v, shards.ReservationName)
	if fixed {
		if _, err := store.Stat(ctx, storage.Join(v, shards.ManifestName)); err == nil {
			return false, fmt.Errorf("%s@%s: %w: choose another --dataset-version", location, v, shards.ErrVersionExists)
		} else if !errors.Is(err, storage.ErrNotExist) {
			return false, fmt.Errorf("%s@%s: %w", location, v, err)
		}
	} else {
		// A name under which anything exists is taken (a version of a run from before
		// reservations, or one whose reservation was released after it failed).
		ents, err := store.List(ctx, v)
		if err != nil {
			return false, fmt.Errorf("reserve %s@%s: %w", location, v, err)
		}
		if len(ents) > 0 {
			return false, nil
		}
	}
	err = store.PutIfAbsent(ctx, key, claim)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, storage.ErrExist):
		return false, fmt.Errorf("reserve %s@%s: %w", location, v, err)
	case !fixed:
		return false, nil
	}
	// A fixed name another run reserved: take it over only from a run that died here.
	old, err := storage.ReadAll(ctx, store, key)
	if err != nil {
		return false, fmt.Errorf("reserve %s@%s: %w", location, v, err)
	}
	var holder shards.Reservation
	if err := json.Unmarshal(old, &holder); err != nil {
		return false, fmt.Errorf("reserve %s@%s: %s: %w", location, v, shards.ReservationName, err)
	}
	host, _ := os.Hostname()
	if holder.Host != host || holder.PID == os.Getpid() || processAlive(holder.PID) {
		return false, fmt.Errorf("%s@%s is reserved by another run (host %s, pid %d, since %s) that may still be running: choose another --dataset-version, or delete %s/%s/%s if that run is gone",
			location, v, holder.Host, holder.PID, holder.Created.Format(time.RFC3339), location, v, shards.ReservationName)
	}
	errTaken := errors.New("taken over by another run")
	err = store.Update(ctx, key, func(cur []byte, exists bool) ([]byte, error) {
		if !exists || !bytes.Equal(cur, old) {
			return nil, errTaken
		}
		return claim, nil
	})
	if errors.Is(err, errTaken) || errors.Is(err, storage.ErrConflict) {
		return false, fmt.Errorf("%s@%s: the reservation of a dead run was taken over by another run just now: choose another --dataset-version", location, v)
	}
	if err != nil {
		return false, fmt.Errorf("reserve %s@%s: %w", location, v, err)
	}
	return true, nil
}

// Release gives the name back where the run committed nothing: it deletes this run's
// reservation in each dataset that has no manifest of the version, so that a rerun with
// the same --dataset-version can take it. Shards already written stay until the rerun
// overwrites them or shards.GC removes them.
func (r *Reservation) Release(ctx context.Context, sft, rl storage.Store) error {
	var errs []error
	for _, st := range []storage.Store{sft, rl} {
		if _, err := st.Stat(ctx, storage.Join(r.Version, shards.ManifestName)); err == nil {
			continue
		}
		key := storage.Join(r.Version, shards.ReservationName)
		cur, err := storage.ReadAll(ctx, st, key)
		if err != nil || !bytes.Equal(cur, r.claim) {
			continue // not ours (or gone)
		}
		if err := st.Delete(ctx, key); err != nil {
			errs = append(errs, fmt.Errorf("release %s@%s: %w", st, r.Version, err))
		}
	}
	return errors.Join(errs...)
}

// ConcurrentCommitError is a commit whose version is written (its manifests exist) but
// whose LATEST did not move, because another run moved it while this one ran.
type ConcurrentCommitError struct {
	// Prefix is the output prefix and Dataset the dataset ("sft" or "rl") whose LATEST moved.
	Prefix, Dataset string
	// Version is this run's version; From the version LATEST named when it was reserved,
	// Now the one it names now.
	Version, From, Now string
	// Err is the error of the compare-and-swap (wraps shards.ErrLatestMoved).
	Err error
}

func (e *ConcurrentCommitError) Error() string {
	from := "no version"
	if e.From != "" {
		from = e.From
	}
	return fmt.Sprintf("another run committed %s/%s@%s while this one ran (LATEST named %s when this run started): this run's version %s is committed and readable as %s/sft@%s and %s/rl@%s, but LATEST was left at %s so that neither commit is lost",
		e.Prefix, e.Dataset, e.Now, from, e.Version, e.Prefix, e.Version, e.Prefix, e.Version, e.Now)
}

func (e *ConcurrentCommitError) Unwrap() error { return e.Err }

// Publish moves LATEST of both datasets to the version, each by compare-and-swap from the
// version it named when the name was reserved (a retried Publish that already moved it
// succeeds). When another run moved one of them in between, LATEST of both stays (the SFT
// dataset's is put back when only the RL swap fails) and the error is a
// *ConcurrentCommitError.
func (r *Reservation) Publish(ctx context.Context, sft, rl storage.Store) error {
	if err := shards.MoveLatest(ctx, sft, r.SFTParent, r.Version); err != nil {
		return r.moved(ctx, sft, "sft", r.SFTParent, err)
	}
	if err := shards.MoveLatest(ctx, rl, r.RLParent, r.Version); err != nil {
		cerr := r.moved(ctx, rl, "rl", r.RLParent, err)
		if r.SFTParent == "" {
			return fmt.Errorf("%w; LATEST of %s/sft names %s (it had none before)", cerr, r.Prefix, r.Version)
		}
		if berr := shards.MoveLatest(ctx, sft, r.Version, r.SFTParent); berr != nil {
			return fmt.Errorf("%w; putting LATEST of %s/sft back to %s failed: %v", cerr, r.Prefix, r.SFTParent, berr)
		}
		return cerr
	}
	return nil
}

// moved turns a failed swap of LATEST into a *ConcurrentCommitError.
func (r *Reservation) moved(ctx context.Context, st storage.Store, dataset, from string, err error) error {
	if !errors.Is(err, shards.ErrLatestMoved) {
		return fmt.Errorf("moving LATEST of %s/%s to %s: %w", r.Prefix, dataset, r.Version, err)
	}
	now, rerr := shards.ReadLatest(ctx, st)
	if rerr != nil {
		now = "?"
	}
	return &ConcurrentCommitError{Prefix: r.Prefix, Dataset: dataset, Version: r.Version, From: from, Now: now, Err: err}
}

// ManifestOnly returns store with its writes of LATEST left out: shards.Writer.Commit and
// shards.CommitParts through it write the version's side files and manifest (create-only),
// and Reservation.Publish moves LATEST afterwards, by compare-and-swap, for both datasets.
func ManifestOnly(store storage.Store) storage.Store { return manifestOnly{store} }

type manifestOnly struct{ storage.Store }

// Put writes every object but LATEST.
func (m manifestOnly) Put(ctx context.Context, key string, data []byte) error {
	if key == shards.LatestName {
		return nil
	}
	return m.Store.Put(ctx, key, data)
}

// Buffers shares the write buffers of the store underneath, when it has them.
func (m manifestOnly) Buffers() *storage.BufferPool {
	if p, ok := m.Store.(interface{ Buffers() *storage.BufferPool }); ok {
		return p.Buffers()
	}
	return nil
}
