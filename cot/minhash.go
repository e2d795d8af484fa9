package cot

import (
	"hash/fnv"
	"strings"
)

// MinHash signatures with LSH banding find near-duplicate samples: two texts whose word
// 3-gram sets have Jaccard similarity s share at least one of B bands of R rows with
// probability 1 − (1 − s^R)^B, and candidates are confirmed on the estimated similarity.

const (
	mhBands = 16
	mhRows  = 4
	mhSize  = mhBands * mhRows
	mhGram  = 3
)

// Signature is a MinHash signature.
type Signature [mhSize]uint64

// MinHash computes the signature of text's lower-cased word 3-grams (the words themselves for
// shorter texts).
func MinHash(text string) Signature {
	var sig Signature
	for i := range sig {
		sig[i] = ^uint64(0)
	}
	w := strings.Fields(strings.ToLower(text))
	n := mhGram
	if len(w) < n {
		n = max(len(w), 1)
	}
	for i := 0; i+n <= len(w); i++ {
		h := fnv.New64a()
		h.Write([]byte(strings.Join(w[i:i+n], " ")))
		x := h.Sum64()
		for j := range sig {
			if v := mix(x ^ seeds[j]); v < sig[j] {
				sig[j] = v
			}
		}
	}
	return sig
}

// seeds are fixed per-row salts (splitmix64 of the row number), so signatures are stable
// across runs and machines.
var seeds = func() (s [mhSize]uint64) {
	for i := range s {
		s[i] = mix(uint64(i) + 0x9e3779b97f4a7c15)
	}
	return
}()

func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Similarity estimates the Jaccard similarity of the texts behind two signatures.
func Similarity(a, b *Signature) float64 {
	eq := 0
	for i := range a {
		if a[i] == b[i] {
			eq++
		}
	}
	return float64(eq) / mhSize
}

// MinHashBands is the number of LSH bands of a signature (each of MinHashRows rows).
const (
	MinHashBands = mhBands
	MinHashRows  = mhRows
)

// BandKeys returns the LSH band keys of a signature: key b hashes rows b·R … b·R+R−1. Two
// signatures are near-duplicate candidates when one of their keys (at the same band) agree.
func (s *Signature) BandKeys() [mhBands]uint64 {
	var keys [mhBands]uint64
	for b := 0; b < mhBands; b++ {
		h := uint64(1469598103934665603)
		for r := 0; r < mhRows; r++ {
			h = mix(h ^ s[b*mhRows+r])
		}
		keys[b] = h
	}
	return keys
}

// Dedup remembers signatures and reports near duplicates of earlier ones. It is not safe for
// concurrent use.
//
// The rule: a text is a near duplicate when an earlier text (whether kept or itself a near
// duplicate) shares an LSH band key with it and their estimated similarity is at least the
// threshold. Over texts checked in id order this is exactly the rule of the Beam pipeline
// (package cot/cotbeam): a sample is dropped when a sample with a smaller id is that similar.
type Dedup struct {
	threshold float64
	sigs      []Signature
	ids       []string
	bands     [mhBands]map[uint64][]int32
}

// NewDedup returns a deduplicator flagging estimated Jaccard similarity ≥ threshold.
func NewDedup(threshold float64) *Dedup {
	d := &Dedup{threshold: threshold}
	for i := range d.bands {
		d.bands[i] = map[uint64][]int32{}
	}
	return d
}

// Check remembers text under id and returns the id of an earlier near duplicate of it ("" when
// there is none).
func (d *Dedup) Check(id, text string) string {
	sig := MinHash(text)
	keys := sig.BandKeys()
	dup := ""
	for b := 0; b < mhBands && dup == ""; b++ {
		for _, j := range d.bands[b][keys[b]] {
			if Similarity(&sig, &d.sigs[j]) >= d.threshold {
				dup = d.ids[j]
				break
			}
		}
	}
	n := int32(len(d.sigs))
	d.sigs = append(d.sigs, sig)
	d.ids = append(d.ids, id)
	for b, k := range keys {
		d.bands[b][k] = append(d.bands[b][k], n)
	}
	return dup
}
