package inspect

import (
	"fmt"
	"strings"

	"github.com/eosinlab/eosin/shards"
)

// rejectJSON is a reject as the report's scripts read it.
type rejectJSON struct {
	Stage  string `json:"stage,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Doc    int    `json:"doc"`
	URI    string `json:"uri,omitempty"`
	Page   int    `json:"page,omitempty"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// IsDedup reports whether a reject is a duplicate removal.
func IsDedup(r shards.Reject) bool {
	return r.Stage == "dedup" || strings.Contains(strings.ToLower(r.Reason), "dup")
}

func (b *builder) addReject(src Source, r shards.Reject) error {
	b.nrej++
	rj := rejectJSON{Stage: r.Stage, Kind: r.Kind, Doc: -1, URI: r.URI, Page: r.Page, ID: r.ID,
		Reason: r.Reason, Detail: clip(r.Detail, 2000)}
	if rj.Reason == "" {
		rj.Reason = "(no reason)"
	}
	// A reject names its document by sha256 or URI; a sample's reject may carry the URI of
	// its figure's document, which is listed only when known.
	switch {
	case r.DocSHA != "":
		rj.Doc = b.doc(src, shards.Doc{SHA256: r.DocSHA, URI: r.URI})
	case r.URI != "":
		if i, ok := b.docURI[r.URI]; ok {
			rj.Doc = i
		} else if r.Kind != "sample" {
			rj.Doc = b.doc(src, shards.Doc{URI: r.URI})
		}
	}
	if rj.Doc >= 0 {
		ds := b.docs[rj.Doc]
		ds.Rejects++
		if ds.Reasons == nil {
			ds.Reasons = map[string]int{}
		}
		ds.Reasons[rj.Reason]++
		if IsDedup(r) {
			ds.Dedup++
		}
	}
	if IsDedup(r) {
		b.dedup++
	}
	b.byReason[rj.Reason]++
	b.byStage[orNone(r.Stage)]++
	b.byKind[orNone(r.Kind)]++
	ref, err := b.rejSpill.add(rj)
	if err != nil {
		return err
	}
	b.rejRefs = append(b.rejRefs, ref)
	b.rejKeys = append(b.rejKeys, orderKey{doc: rj.Doc, page: rj.Page, read: b.nrej - 1})
	return nil
}

// writeRejects writes the rejects into data/rejects-NNNN.js in report order: by document
// (perm maps read document indexes to ordered ones; rejects of no known document last), then
// page, then the order the inputs list them in.
func (b *builder) writeRejects(perm []int) error {
	for k := range b.rejKeys {
		if d := b.rejKeys[k].doc; d >= 0 {
			b.rejKeys[k].doc = perm[d]
		} else {
			b.rejKeys[k].doc = len(perm)
		}
	}
	order := sortByKey(b.rejKeys)
	size := b.opts.ChunkSize
	for p, r := range order {
		var rj rejectJSON
		if err := b.rejSpill.get(b.rejRefs[r], &rj); err != nil {
			return fmt.Errorf("order rejects: %w", err)
		}
		if rj.Doc >= 0 {
			rj.Doc = perm[rj.Doc]
		}
		b.rejects = append(b.rejects, rj)
		if len(b.rejects) == size {
			if err := b.flushRejects(p / size); err != nil {
				return err
			}
		}
	}
	if err := b.flushRejects((len(order) - 1) / size); err != nil {
		return err
	}
	b.rejRefs, b.rejKeys = nil, nil
	b.rejSpill.close()
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// flushRejects writes the buffered rejects as reject chunk n.
func (b *builder) flushRejects(n int) error {
	if len(b.rejects) == 0 {
		return nil
	}
	if err := b.writeData("rejects", n, b.rejects); err != nil {
		return err
	}
	b.rejects = b.rejects[:0]
	return nil
}
