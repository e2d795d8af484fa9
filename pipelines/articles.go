package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/articles/jats"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// Article packages in a build. A package (a PMC Open Access folder or .tar.gz, or a
// .nxml/.xml with its PDF beside it; see package articles) is one document of the build. Its
// key is the sha256 of its PDF (articles.Identify), so a package and the same article's bare
// PDF are one document, and the package wins (pickDocFn). Unlike a PDF, a package is
// processed whole in the layout step (articles.ProcessPackage renders the XML figures' PDF
// regions or takes the package's figure files), and its figures go straight to the filters.
// On s3:// only .tar.gz/.tgz packages are found; folders and loose XML are local.

// isPackageName reports whether an object name is a package archive.
func isPackageName(name string) bool { return articles.IsArchive(name) }

// openPackage opens the package at uri: a local folder, .tar.gz or .nxml/.xml, or an s3://
// .tar.gz object (streamed into memory within the package limits).
func (s *stores) openPackage(ctx context.Context, uri string) (*articles.Package, error) {
	bucket, key, ok := splitS3(uri)
	if !ok {
		return articles.Open(ctx, uri, articles.Limits{})
	}
	st, err := s.bucket(ctx, bucket)
	if err != nil {
		return nil, err
	}
	o, err := st.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", uri, err)
	}
	defer o.Close()
	return articles.ReadArchive(ctx, uri, o, articles.Limits{})
}

// packageSize is the size of a package: its files' bytes.
func packageSize(pkg *articles.Package) int64 {
	var n int64
	for _, f := range pkg.Files {
		n += f.Size
	}
	if pkg.XML != nil {
		n += pkg.XML.Size
	}
	return n
}

// fingerprintPackage is fingerprintFn for a package: its key (articles.Identify) and size.
func fingerprintPackage(ctx context.Context, st *stores, uri string) (string, int64, error) {
	pkg, err := st.openPackage(ctx, uri)
	if err != nil {
		return "", 0, err
	}
	sum, err := articles.Identify(pkg, jats.DefaultLimits())
	if err != nil {
		return "", 0, err
	}
	return sum, packageSize(pkg), nil
}

// packageDocument is layoutFn for a package: the whole package is processed here, its figures
// (with their images) are emitted for the filters, and the agreement of the PDF-only
// extraction with the XML rides on the document result to the commit.
func packageDocument(ctx context.Context, st *stores, w workItem, dpi int, emitFig func(figItem), reject func(shards.Reject)) (docResult, error) {
	res := docResult{SHA256: w.SHA256, URI: w.URI, Status: "ok", Package: true}
	rej := countRejects(ctx, w.SHA256, &res.PagesBad, reject)
	pkg, err := st.openPackage(ctx, w.URI)
	if err == nil {
		mBytesRead.Inc(ctx, packageSize(pkg))
		var r articles.Result
		r, err = articles.ProcessPackage(ctx, pkg, articles.Options{Layout: layout.Options{DPI: dpi, Render: true}, XMLLimits: jats.DefaultLimits()})
		if ctx.Err() != nil {
			return res, fmt.Errorf("%s: %w", w.URI, ctx.Err())
		}
		res.Pages = r.Pages
		for _, x := range r.Rejects {
			if x.DocSHA == "" || x.Kind == "document" {
				x.DocSHA = w.SHA256
			}
			if x.Stage == "ingest" {
				// The package was read at ingest (fingerprinted); what fails now is its content.
				x.Stage = "article"
			}
			rej(x)
		}
		if r.Agreement != nil {
			res.Agreement, _ = json.Marshal(r.Agreement)
		}
		for _, f := range r.Figures {
			rec, err := json.Marshal(f.Figure)
			if err != nil {
				return res, fmt.Errorf("%s: figure %s: %w", w.URI, f.ID, err)
			}
			res.Figures++
			mFiguresFound.Inc(ctx, 1)
			emitFig(figItem{ID: f.ID, Record: rec, Image: f.ImageBytes})
		}
		if err == nil {
			mPagesDone.Inc(ctx, int64(res.Pages))
			mDocsProcessed.Inc(ctx, 1)
			return res, nil
		}
		// ProcessPackage has already made the error a document reject.
		res.Status = "rejected"
		mDocsRejected.Inc(ctx, 1)
		return res, nil
	}
	res.Status = "rejected"
	mDocsRejected.Inc(ctx, 1)
	rej(shards.Reject{Stage: "article", Kind: "document", URI: w.URI, DocSHA: w.SHA256, Reason: packageReason(err), Detail: err.Error()})
	return res, nil
}

// packageReason is the reject reason of a package that cannot be opened or identified.
func packageReason(err error) string {
	if errors.Is(err, storage.ErrNotExist) {
		return "unreadable"
	}
	return articles.Reason(err)
}

// articleAgreements decodes the agreements carried by document results.
func articleAgreements(raw [][]byte) ([]articles.DocAgreement, error) {
	out := make([]articles.DocAgreement, 0, len(raw))
	for _, b := range raw {
		var a articles.DocAgreement
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("agreement: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}
