package pipelines

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/shards"
)

// Per-document isolation: the DoFns that read one document (layoutFn, renderFn) turn a panic
// into that document's (or page range's) rejects, reason "panic", and return normally, so that
// one hostile PDF never fails the Beam bundle, and with it the job and the commit. Errors
// returned by those DoFns are kept for what must stop the build (a cancelled context).
// A C library that aborts the process cannot be caught here: extract checks the sizes that
// made MuPDF abort (MaxRenderPixels) before calling it; docs/pipelines.md says how to run
// workers so that an abort costs one bundle, not the build.

// recoverDocument is deferred by layoutFn: a panic rejects the document.
func recoverDocument(ctx context.Context, w workItem, reject func(shards.Reject), result func(docResult), err *error) {
	r := recover()
	if r == nil {
		return
	}
	stack := debug.Stack()
	slog.Error("build: layout panicked; the document is rejected", "uri", w.URI, "panic", fmt.Sprint(r), "stack", string(stack))
	mRejects.Inc(ctx, 1)
	mDocsRejected.Inc(ctx, 1)
	reject(shards.Reject{Stage: "layout", Kind: "document", URI: w.URI, DocSHA: w.SHA256, Reason: "panic",
		Detail: fmt.Sprintf("%s: panic: %v", w.URI, r)})
	result(docResult{SHA256: w.SHA256, URI: w.URI, Status: "rejected"})
	*err = nil
}

// recoverRange is deferred by renderFn: a panic rejects every page of the range that had work.
func recoverRange(ctx context.Context, r rangeItem, reject func(shards.Reject), result func(rangeResult), err *error) {
	x := recover()
	if x == nil {
		return
	}
	stack := debug.Stack()
	slog.Error("build: rendering panicked; the page range is rejected", "uri", r.URI, "first", r.First, "last", r.Last, "panic", fmt.Sprint(x), "stack", string(stack))
	res := rangeResult{}
	for _, p := range rangePages(r) {
		mRejects.Inc(ctx, 1)
		mPagesRejected.Inc(ctx, 1)
		res.PagesBad++
		reject(shards.Reject{Stage: "render", Kind: "page", URI: r.URI, DocSHA: r.SHA256, Page: p, Reason: "panic",
			Detail: fmt.Sprintf("%s pages %d-%d: panic: %v", r.URI, r.First, r.Last, x)})
	}
	result(res)
	*err = nil
}

// reasonOr is the reject reason of err: its limit's (limit_pixels, limit_pages, …) or fallback.
func reasonOr(err error, fallback string) string {
	if r := extract.LimitReason(err); r != "" {
		return r
	}
	return fallback
}
