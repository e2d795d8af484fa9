package pipelines

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// Staging: a long build resumes. The two expensive steps keep what they finish under the
// dataset prefix, in _staging/<key>/<document sha256>/ (the leading underscore keeps it out of
// the version namespace, like _builds/):
//
//	layout.json            the layout step's outcome for the document: its result, its
//	                       rejects and the page ranges it handed to rendering
//	range-<first>-<last>.json
//	                       one page range rendered (and OCR'd): its figures with their
//	                       image bytes, its rejects and its result
//	package.json           an article package, processed whole: its figures with their
//	                       images, its rejects and its result
//
// A build that is killed leaves them; the rerun (same inputs, same extraction settings, same
// eosin version: <key> is derived from all three) finds them and re-emits them instead of
// laying out and rendering again. The commit step removes the staging of every document it
// committed, so staging only holds the work of builds that did not finish. Writing is best
// effort: a staging write that fails is logged and the build goes on.

// stagingRoot is the folder under the prefix that holds the staging of unfinished builds.
const stagingRoot = "_staging"

// stagingKey names the staging of one extraction-settings fingerprint and eosin version.
func stagingKey(fingerprint, eosin string) string {
	s := sha256.Sum256([]byte(fingerprint + "\x00" + eosin))
	return hex.EncodeToString(s[:8])
}

// stage reads and writes the staging of one build. Its zero value (Key "") stages nothing.
type stage struct {
	sink
	Key string `json:"key"`
}

// stagedLayout is what the layout step keeps of a document.
type stagedLayout struct {
	Result  docResult       `json:"result"`
	Rejects []shards.Reject `json:"rejects"`
	Ranges  []rangeItem     `json:"ranges"`
}

// stagedPackage is what the layout step keeps of an article package (processed whole there).
type stagedPackage struct {
	Result  docResult       `json:"result"`
	Rejects []shards.Reject `json:"rejects"`
	Figures []figItem       `json:"figures"`
}

// stagedRange is what the rendering step keeps of a page range.
type stagedRange struct {
	Result  rangeResult     `json:"result"`
	Rejects []shards.Reject `json:"rejects"`
	Figures []figItem       `json:"figures"`
}

func (s *stage) docDir(sha string) string { return stagingRoot + "/" + s.Key + "/" + sha }

func (s *stage) layoutKey(sha string) string { return s.docDir(sha) + "/layout.json" }

func (s *stage) packageKey(sha string) string { return s.docDir(sha) + "/package.json" }

func (s *stage) rangeKey(sha string, first, last int) string {
	return fmt.Sprintf("%s/range-%d-%d.json", s.docDir(sha), first, last)
}

// load decodes the staged object key into v; false when there is none (or it is unreadable:
// the work is then done again).
func (s *stage) load(ctx context.Context, key string, v any) bool {
	if s.Key == "" {
		return false
	}
	if err := s.open(ctx); err != nil {
		return false
	}
	b, err := storage.ReadAll(ctx, s.store, key)
	if err != nil {
		if !errors.Is(err, storage.ErrNotExist) {
			slog.Warn("build: staged work unreadable; doing it again", "key", key, "err", err)
		}
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		slog.Warn("build: staged work undecodable; doing it again", "key", key, "err", err)
		return false
	}
	return true
}

// save writes v as the staged object key (best effort).
func (s *stage) save(ctx context.Context, key string, v any) {
	if s.Key == "" || ctx.Err() != nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		_, _, err = s.put(ctx, key, b)
	}
	if err != nil {
		slog.Warn("build: staging write failed; a rerun would do this work again", "key", key, "err", err)
	}
}

// removeDocs deletes the staging of the committed documents. Staging of other settings or
// eosin versions stays (a rerun with those may still want it); `eosin shards gc` does not
// touch _staging.
func (s *stage) removeDocs(ctx context.Context, docs map[string]bool) {
	if s.Key == "" || len(docs) == 0 {
		return
	}
	if err := s.open(ctx); err != nil {
		return
	}
	for sha := range docs {
		dir := s.docDir(sha)
		infos, err := s.store.List(ctx, dir)
		if err != nil {
			continue
		}
		for _, in := range infos {
			if !in.Dir && strings.HasPrefix(in.Key, dir+"/") {
				if err := s.store.Delete(ctx, in.Key); err != nil {
					slog.Warn("build: removing staged work", "key", in.Key, "err", err)
				}
			}
		}
	}
}

// resumeLayout re-emits a document's staged layout, counting it as the layout step would.
func resumeLayout(ctx context.Context, sl stagedLayout, emit func(rangeItem), reject func(shards.Reject)) {
	mDocsResumed.Inc(ctx, 1)
	for _, r := range sl.Rejects {
		mRejects.Inc(ctx, 1)
		if r.Kind == "page" {
			mPagesRejected.Inc(ctx, 1)
		}
		reject(r)
	}
	mPagesDone.Inc(ctx, int64(sl.Result.Pages))
	if sl.Result.Status == "ok" {
		mDocsProcessed.Inc(ctx, 1)
	} else {
		mDocsRejected.Inc(ctx, 1)
	}
	for _, r := range sl.Ranges {
		mRangesQueued.Inc(ctx, 1)
		emit(r)
	}
}

// resumeRange re-emits a page range's staged rendering, counting it as rendering would.
func resumeRange(ctx context.Context, sr stagedRange, emit func(figItem), reject func(shards.Reject)) {
	mRangesResumed.Inc(ctx, 1)
	reemit(ctx, sr.Rejects, sr.Figures, emit, reject)
}

// reemit emits staged rejects and figures with the counts their first emission made.
func reemit(ctx context.Context, rejects []shards.Reject, figs []figItem, emit func(figItem), reject func(shards.Reject)) {
	for _, x := range rejects {
		mRejects.Inc(ctx, 1)
		if x.Kind == "page" {
			mPagesRejected.Inc(ctx, 1)
		}
		reject(x)
	}
	for _, it := range figs {
		mFiguresFound.Inc(ctx, 1)
		emit(it)
	}
}

// resumePackage re-emits an article package's staged outcome, counting it as processing would.
func resumePackage(ctx context.Context, sp stagedPackage, emit func(figItem), reject func(shards.Reject)) {
	mDocsResumed.Inc(ctx, 1)
	reemit(ctx, sp.Rejects, sp.Figures, emit, reject)
	mPagesDone.Inc(ctx, int64(sp.Result.Pages))
	if sp.Result.Status == "ok" {
		mDocsProcessed.Inc(ctx, 1)
	} else {
		mDocsRejected.Inc(ctx, 1)
	}
}
