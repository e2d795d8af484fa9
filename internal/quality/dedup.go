package quality

import (
	"cmp"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Dedup reasons.
const (
	ReasonDuplicate     = "duplicate_image"
	ReasonNearDuplicate = "near_duplicate_image"
	// FlagNearDuplicateCaption is the quality flag set on kept figures whose caption nearly
	// equals another kept figure's caption (reported, not dropped).
	FlagNearDuplicateCaption = "near_duplicate_caption"
)

// Item is the light description of one figure that deduplication needs.
type Item struct {
	ID          string `json:"id"`
	ImageSHA256 string `json:"image_sha256"`
	PHash       uint64 `json:"phash"`
	// HasPHash is false when the image could not be hashed; such items take part in exact
	// deduplication only.
	HasPHash bool   `json:"has_phash"`
	Caption  string `json:"caption"`
	// Committed marks figures of an earlier committed version: they are always kept, and a
	// new figure that duplicates one is dropped even with a longer caption.
	Committed bool `json:"committed,omitempty"`
}

// Drop is one figure removed as a duplicate of a kept one.
type Drop struct {
	ID       string `json:"id"`
	DupOf    string `json:"dup_of"`
	Reason   string `json:"reason"`
	Distance int    `json:"distance"` // Hamming distance of the perceptual hashes
}

// Result is the outcome of Dedup.
type Result struct {
	// Keep lists the kept IDs in ascending order (committed items included).
	Keep []string
	// Drops lists removed figures in ascending ID order.
	Drops []Drop
	// CaptionGroups lists groups (≥ 2, IDs ascending, groups ordered by first ID) of kept
	// figures whose captions are near-duplicates of each other.
	CaptionGroups [][]string
}

// Options configure Dedup.
type Options struct {
	// MaxHamming is the largest Hamming distance between perceptual hashes that still counts
	// as a near-duplicate; negative disables near-duplicate detection (exact only).
	MaxHamming int `yaml:"max_hamming" json:"max_hamming"`
	// CaptionJaccard is the word-trigram Jaccard similarity from which two captions count as
	// near-duplicates; 0 disables the caption report.
	CaptionJaccard float64 `yaml:"caption_jaccard" json:"caption_jaccard"`
}

// DefaultOptions are the deduplication settings used unless configured otherwise.
func DefaultOptions() Options { return Options{MaxHamming: 6, CaptionJaccard: 0.9} }

// Dedup removes exact duplicates (same image sha256) and near-duplicates (perceptual hashes
// at most MaxHamming bits apart), keeping the copy with the longer caption (ties: the smaller
// ID; committed items always win). Items are visited in that preference order and each is
// kept unless it duplicates an already kept item, so the result does not depend on the input
// order. Near-duplicate captions among the kept figures are reported in CaptionGroups.
func Dedup(items []Item, opt Options) Result {
	order := slices.Clone(items)
	slices.SortFunc(order, func(a, b Item) int {
		if a.Committed != b.Committed {
			if a.Committed {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(CaptionLength(b.Caption), CaptionLength(a.Caption)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var res Result
	bySHA := map[string]string{}
	idx := newBandIndex(opt.MaxHamming)
	var kept []Item
	seen := map[string]bool{}
	for _, it := range order {
		if seen[it.ID] {
			continue // the same figure twice (a retried bundle's output, an overlap)
		}
		seen[it.ID] = true
		if it.ImageSHA256 != "" {
			if other, ok := bySHA[it.ImageSHA256]; ok && !it.Committed {
				res.Drops = append(res.Drops, Drop{ID: it.ID, DupOf: other, Reason: ReasonDuplicate})
				continue
			}
		}
		if it.HasPHash && idx != nil && !it.Committed {
			if other, d, ok := idx.nearest(it.PHash, kept); ok {
				res.Drops = append(res.Drops, Drop{ID: it.ID, DupOf: other, Reason: ReasonNearDuplicate, Distance: d})
				continue
			}
		}
		if it.ImageSHA256 != "" {
			if _, ok := bySHA[it.ImageSHA256]; !ok {
				bySHA[it.ImageSHA256] = it.ID
			}
		}
		if it.HasPHash && idx != nil {
			idx.add(it.PHash, len(kept))
		}
		kept = append(kept, it)
		res.Keep = append(res.Keep, it.ID)
	}
	slices.Sort(res.Keep)
	slices.SortFunc(res.Drops, func(a, b Drop) int { return cmp.Compare(a.ID, b.ID) })
	if opt.CaptionJaccard > 0 {
		res.CaptionGroups = NearDuplicateCaptions(kept, opt.CaptionJaccard)
	}
	return res
}

// bandIndex finds hashes within a Hamming radius: the 64 bits are cut into radius+1 disjoint
// bands, and two hashes at most radius apart agree on at least one band (pigeonhole), so only
// hashes sharing a band value need comparing.
type bandIndex struct {
	radius int
	masks  []uint64
	tables []map[uint64][]int
}

func newBandIndex(radius int) *bandIndex {
	if radius < 0 {
		return nil
	}
	n := min(radius+1, 64)
	b := &bandIndex{radius: radius}
	start := 0
	for i := 0; i < n; i++ {
		width := (64 - start) / (n - i)
		var m uint64
		for j := start; j < start+width; j++ {
			m |= 1 << uint(j)
		}
		start += width
		b.masks = append(b.masks, m)
		b.tables = append(b.tables, map[uint64][]int{})
	}
	return b
}

func (b *bandIndex) add(h uint64, i int) {
	for k, m := range b.masks {
		b.tables[k][h&m] = append(b.tables[k][h&m], i)
	}
}

// nearest returns the kept item closest to h within the radius (ties: the earlier kept).
func (b *bandIndex) nearest(h uint64, kept []Item) (id string, dist int, ok bool) {
	best := -1
	bestD := b.radius + 1
	for k, m := range b.masks {
		for _, i := range b.tables[k][h&m] {
			d := Hamming(h, kept[i].PHash)
			if d < bestD || (d == bestD && i < best) {
				best, bestD = i, d
			}
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return kept[best].ID, bestD, true
}

var labelRE = regexp.MustCompile(`(?i)^\s*(fig(ure)?|plate|table|abb(ildung)?)\.?\s*[0-9a-z]*([.\-–][0-9a-z]+)*\s*[:.)\-–]?\s*`)

// NormalizeCaption lower-cases a caption, drops its leading label ("Figure 3.2:") and keeps
// letters and digits only, single-spaced: the form captions are compared in.
func NormalizeCaption(s string) string {
	s = labelRE.ReplaceAllString(s, "")
	var b strings.Builder
	space := true
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// shingles returns the set of word trigrams of a normalised caption (the words themselves
// when there are fewer than three), hashed.
func shingles(norm string) map[uint64]bool {
	w := strings.Fields(norm)
	set := map[uint64]bool{}
	if len(w) < 3 {
		for _, x := range w {
			set[hash64(x)] = true
		}
		return set
	}
	for i := 0; i+3 <= len(w); i++ {
		set[hash64(w[i]+" "+w[i+1]+" "+w[i+2])] = true
	}
	return set
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// minhash parameters: 16 bands of 2 rows find pairs with Jaccard 0.9 with probability
// ≈ 1 − (1 − 0.81)^16 > 0.9999; candidates are verified exactly.
const (
	mhBands = 16
	mhRows  = 2
)

// NearDuplicateCaptions groups items whose normalised captions have a word-trigram Jaccard
// similarity of at least threshold (MinHash candidates, verified exactly; groups are the
// connected components). Items with empty normalised captions are ignored.
func NearDuplicateCaptions(items []Item, threshold float64) [][]string {
	type entry struct {
		id  string
		set map[uint64]bool
	}
	var es []entry
	for _, it := range items {
		n := NormalizeCaption(it.Caption)
		if n == "" {
			continue
		}
		es = append(es, entry{it.ID, shingles(n)})
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.id, b.id) })
	parent := make([]int, len(es))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	buckets := map[[2]uint64][]int{}
	for i, e := range es {
		var sig [mhBands * mhRows]uint64
		for k := range sig {
			sig[k] = ^uint64(0)
		}
		for s := range e.set {
			for k := range sig {
				if v := mix(s, uint64(k)); v < sig[k] {
					sig[k] = v
				}
			}
		}
		for b := 0; b < mhBands; b++ {
			key := [2]uint64{uint64(b), sig[b*mhRows]*31 + sig[b*mhRows+1]}
			buckets[key] = append(buckets[key], i)
		}
	}
	checked := map[[2]int]bool{}
	for _, members := range buckets {
		for x := 0; x < len(members); x++ {
			for y := x + 1; y < len(members); y++ {
				i, j := members[x], members[y]
				if checked[[2]int{i, j}] || find(i) == find(j) {
					continue
				}
				checked[[2]int{i, j}] = true
				if jaccard(es[i].set, es[j].set) >= threshold {
					parent[find(j)] = find(i)
				}
			}
		}
	}
	groups := map[int][]string{}
	for i := range es {
		r := find(i)
		groups[r] = append(groups[r], es[i].id)
	}
	var out [][]string
	for _, g := range groups {
		if len(g) > 1 {
			slices.Sort(g)
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return cmp.Compare(a[0], b[0]) })
	return out
}

// mix derives the k-th hash of a shingle (splitmix64 finaliser over shingle ⊕ seed).
func mix(x, k uint64) uint64 {
	x ^= (k + 1) * 0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func jaccard(a, b map[uint64]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for x := range a {
		if b[x] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
