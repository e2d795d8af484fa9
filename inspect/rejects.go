package inspect

import (
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
	switch {
	case r.DocSHA != "":
		rj.Doc = b.doc(src, shards.Doc{SHA256: r.DocSHA, URI: r.URI})
	case r.URI != "":
		if i, ok := b.docURI[r.URI]; ok {
			rj.Doc = i
		} else if r.Kind == "document" || r.Kind == "page" {
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
	b.rejects = append(b.rejects, rj)
	if len(b.rejects) == b.opts.ChunkSize {
		return b.flushRejects()
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (b *builder) flushRejects() error {
	if len(b.rejects) == 0 {
		return nil
	}
	if err := b.writeData("rejects", (b.nrej-1)/b.opts.ChunkSize, b.rejects); err != nil {
		return err
	}
	b.rejects = b.rejects[:0]
	return nil
}
