package shards

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/eosinlab/eosin/shards/storage"
)

// Versions as snapshots. A version's manifest lists every object it consists of; objects of
// earlier versions that did not change are referenced (ShardInfo.Version, FileInfo.Version),
// not copied. Objects are immutable once a manifest lists them. A commit is:
//
//  1. ReserveVersion: <version>/_build.json, create-only, before anything else is written
//     under the version, so two builds never share a version name (nor, therefore, a shard
//     name: shards live under their version and carry its name);
//  2. the shards and side files;
//  3. <version>/manifest.json, create-only;
//  4. MoveLatest: LATEST moves from the version the build started from to the new one with a
//     compare-and-swap (storage.Store.Update). When another build moved LATEST in between,
//     the swap fails with ErrLatestMoved and the caller rebases or gives up.
//
// GC removes versions beyond the newest N and every object no kept version references.

// ReservationName is the object that reserves a version name: the first object written
// under a version.
const ReservationName = "_build.json"

// Reservation is the content of <version>/_build.json.
type Reservation struct {
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	Base    string    `json:"base,omitempty"` // the version LATEST named when the build started
	Host    string    `json:"host,omitempty"`
	PID     int       `json:"pid,omitempty"`
}

// ErrLatestMoved is returned (wrapped) by MoveLatest when LATEST no longer names the version
// the caller expected: another build committed in between.
var ErrLatestMoved = errors.New("LATEST moved: another build committed in between")

// ReserveVersion reserves a version name: base itself, or base-2, base-3, … when taken, with a
// create-only write of <version>/_build.json. A name is taken when its reservation exists or
// when anything else exists under it (a version written before reservations existed).
func ReserveVersion(ctx context.Context, store storage.Store, base string, r Reservation) (string, error) {
	if err := ValidVersion(base); err != nil {
		return "", err
	}
	host, _ := os.Hostname()
	r.Host, r.PID = host, os.Getpid()
	if r.Created.IsZero() {
		r.Created = time.Now().UTC()
	}
	for i := 1; i < 10000; i++ {
		v := base
		if i > 1 {
			v = fmt.Sprintf("%s-%d", base, i)
		}
		if err := ValidVersion(v); err != nil {
			return "", err
		}
		if ents, err := store.List(ctx, v); err != nil {
			return "", fmt.Errorf("reserve version %s: %w", v, err)
		} else if len(ents) > 0 {
			if !slices.ContainsFunc(ents, func(e storage.Info) bool { return e.Key == storage.Join(v, ReservationName) }) {
				continue // an older build's version without a reservation
			}
		}
		r.Version = v
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return "", err
		}
		err = store.PutIfAbsent(ctx, storage.Join(v, ReservationName), append(b, '\n'))
		if errors.Is(err, storage.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reserve version %s: %w", v, err)
		}
		return v, nil
	}
	return "", fmt.Errorf("reserve version %s: every suffix is taken", base)
}

// ReadReservation reads <version>/_build.json (ErrNotExist when the version has none).
func ReadReservation(ctx context.Context, store storage.Store, version string) (*Reservation, error) {
	b, err := readSmall(ctx, store, storage.Join(version, ReservationName), 1<<20)
	if err != nil {
		return nil, err
	}
	var r Reservation
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", version, ReservationName, err)
	}
	return &r, nil
}

// ReadLatest returns the version LATEST names ("" when there is none yet).
func ReadLatest(ctx context.Context, store storage.Store) (string, error) {
	b, err := readSmall(ctx, store, LatestName, 1<<10)
	if errors.Is(err, storage.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", LatestName, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// MoveLatest sets LATEST to version to, provided it still names from ("": LATEST must not
// exist). It fails with an error wrapping ErrLatestMoved (and naming the version LATEST holds
// now) when another writer moved it; it succeeds without writing when LATEST already names to.
func MoveLatest(ctx context.Context, store storage.Store, from, to string) error {
	var now string
	err := store.Update(ctx, LatestName, func(old []byte, exists bool) ([]byte, error) {
		now = strings.TrimSpace(string(old))
		if now == to {
			return nil, errNoChange
		}
		if now != from {
			return nil, ErrLatestMoved
		}
		return []byte(to + "\n"), nil
	})
	switch {
	case errors.Is(err, errNoChange):
		return nil
	case errors.Is(err, storage.ErrConflict):
		cur, rerr := ReadLatest(ctx, store)
		if rerr == nil && cur == to {
			return nil
		}
		return fmt.Errorf("%s: LATEST is now %q, not %q: %w", store, cur, from, ErrLatestMoved)
	case errors.Is(err, ErrLatestMoved):
		return fmt.Errorf("%s: LATEST is now %q, not %q: %w", store, now, from, ErrLatestMoved)
	}
	return err
}

var errNoChange = errors.New("no change")

// Rejects iterates over every reject of the version: those listed in the manifest, then
// those of the reject files it lists (rejects/*.jsonl, written by the corpus build).
func (d *Dataset) Rejects(ctx context.Context) iter.Seq2[Reject, error] {
	return func(yield func(Reject, error) bool) {
		for _, r := range d.manifest.Rejects {
			if !yield(r, nil) {
				return
			}
		}
		for _, f := range d.manifest.RejectFiles() {
			o, err := d.store.Open(ctx, f.Key(d.version))
			if err != nil {
				yield(Reject{}, fmt.Errorf("%s: %w", d.Location(), err))
				return
			}
			sc := bufio.NewScanner(o)
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				if len(strings.TrimSpace(sc.Text())) == 0 {
					continue
				}
				var r Reject
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					o.Close()
					yield(Reject{}, fmt.Errorf("%s: %s: %w", d.Location(), f.Path, err))
					return
				}
				if !yield(r, nil) {
					o.Close()
					return
				}
			}
			o.Close()
			if err := sc.Err(); err != nil {
				yield(Reject{}, fmt.Errorf("%s: %s: %w", d.Location(), f.Path, err))
				return
			}
		}
	}
}

// RejectFiles lists the reject files of the version (rejects/*.jsonl).
func (m *Manifest) RejectFiles() []FileInfo {
	var out []FileInfo
	for _, f := range m.Files {
		if strings.HasPrefix(f.Path, "rejects/") && strings.HasSuffix(f.Path, ".jsonl") {
			out = append(out, f)
		}
	}
	return out
}

// GCOptions configure GC.
type GCOptions struct {
	// Keep is the number of committed versions to keep, newest first along LATEST's chain
	// (at least 1).
	Keep int
	// Delete deletes; without it GC only reports what it would delete (a dry run).
	Delete bool
	// Grace protects versions without a committed manifest whose reservation is younger than
	// this (builds still running). Default 6 hours; negative means none.
	Grace time.Duration
	// Now is the time Grace counts from (default time.Now).
	Now time.Time
}

// GCReport is what GC found (and deleted, unless it was a dry run).
type GCReport struct {
	Kept      []string // committed versions kept, newest first
	Removed   []string // versions removed whole (nothing of them is referenced)
	Protected []string // versions left alone: builds that may still be running
	Objects   int      // objects deleted (or to delete)
	Bytes     int64    // their bytes
	Deleted   bool     // false for a dry run
}

// GC removes the committed versions beyond the newest opts.Keep, the uncommitted and orphaned
// versions not protected by opts.Grace, and every object that no kept version references:
// objects of removed versions that a kept version references (shards shared across versions)
// stay. Reservations of kept versions stay too.
func GC(ctx context.Context, store storage.Store, opts GCOptions) (*GCReport, error) {
	if opts.Keep < 1 {
		return nil, fmt.Errorf("gc: keep %d: keep at least one version", opts.Keep)
	}
	if opts.Grace == 0 {
		opts.Grace = 6 * time.Hour
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	vs, err := VersionsIn(ctx, store)
	if err != nil {
		return nil, err
	}
	latest, err := ReadLatest(ctx, store)
	if err != nil {
		return nil, err
	}
	// The committed versions, newest first: LATEST's chain, then older committed versions.
	byName := map[string]*VersionInfo{}
	for i := range vs {
		byName[vs[i].Version] = &vs[i]
	}
	var order []string
	seen := map[string]bool{}
	for v := latest; v != "" && !seen[v]; {
		vi := byName[v]
		if vi == nil || !vi.Committed {
			break
		}
		seen[v] = true
		order = append(order, v)
		v = vi.Manifest.Parent
	}
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].Committed && !seen[vs[i].Version] {
			order = append(order, vs[i].Version)
			seen[vs[i].Version] = true
		}
	}
	rep := &GCReport{Deleted: opts.Delete}
	keep := map[string]bool{}
	for i, v := range order {
		if i < opts.Keep {
			keep[v] = true
			rep.Kept = append(rep.Kept, v)
		}
	}
	protected := map[string]bool{}
	for _, vi := range vs {
		if vi.Committed || vi.State == "bad manifest" {
			if vi.State == "bad manifest" {
				protected[vi.Version] = true // never delete what cannot be understood
				rep.Protected = append(rep.Protected, vi.Version)
			}
			continue
		}
		r, err := ReadReservation(ctx, store, vi.Version)
		if err == nil && opts.Grace > 0 && opts.Now.Sub(r.Created) < opts.Grace {
			protected[vi.Version] = true
			rep.Protected = append(rep.Protected, vi.Version)
		}
	}
	// Every object a kept (or protected) version references.
	referenced := map[string]bool{}
	for v := range keep {
		m := byName[v].Manifest
		referenced[storage.Join(v, ManifestName)] = true
		referenced[storage.Join(v, ReservationName)] = true
		for _, s := range m.Shards {
			referenced[s.Key(v)] = true
		}
		for _, f := range m.Files {
			referenced[f.Key(v)] = true
		}
	}
	for v := range protected {
		if m := byName[v].Manifest; m != nil {
			for _, s := range m.Shards {
				referenced[s.Key(v)] = true
			}
			for _, f := range m.Files {
				referenced[f.Key(v)] = true
			}
		}
	}
	for _, vi := range vs {
		v := vi.Version
		if protected[v] {
			continue
		}
		objs, err := walk(ctx, store, v)
		if err != nil {
			return rep, err
		}
		// The manifest goes first: an interrupted GC leaves an uncommitted version, never a
		// committed one with missing shards.
		slices.SortStableFunc(objs, func(a, b storage.Info) int {
			am, bm := strings.HasSuffix(a.Key, "/"+ManifestName), strings.HasSuffix(b.Key, "/"+ManifestName)
			switch {
			case am && !bm:
				return -1
			case bm && !am:
				return 1
			}
			return 0
		})
		whole := true
		for _, o := range objs {
			if referenced[o.Key] {
				whole = false
				continue
			}
			rep.Objects++
			rep.Bytes += o.Size
			if opts.Delete {
				if err := store.Delete(ctx, o.Key); err != nil {
					return rep, fmt.Errorf("gc: %w", err)
				}
			}
		}
		if whole && !keep[v] {
			rep.Removed = append(rep.Removed, v)
		}
	}
	if opts.Delete {
		slog.Info("gc: done", "location", store.String(), "kept", rep.Kept, "removed", rep.Removed, "objects", rep.Objects, "bytes", rep.Bytes)
	}
	sort.Strings(rep.Removed)
	sort.Strings(rep.Protected)
	return rep, nil
}

// walk lists every object under dir, recursively.
func walk(ctx context.Context, store storage.Store, dir string) ([]storage.Info, error) {
	ents, err := store.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []storage.Info
	for _, e := range ents {
		if e.Dir {
			sub, err := walk(ctx, store, e.Key)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		out = append(out, e)
	}
	return out, nil
}
