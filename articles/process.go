package articles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // figure files
	_ "image/jpeg" // figure files
	_ "image/png"  // figure files
	"log/slog"
	"strings"

	_ "golang.org/x/image/tiff" // figure files
	_ "golang.org/x/image/webp" // figure files

	"github.com/eosinlab/eosin/articles/jats"
	"github.com/eosinlab/eosin/extract"
	"github.com/eosinlab/eosin/internal/quality"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

// Record sources (shards.Figure.Source).
const (
	SourceXMLPDF   = "xml+pdf"   // caption from the XML, image cropped from the PDF
	SourceXMLImage = "xml+image" // caption from the XML, image from the package's figure file
	SourcePDF      = "pdf"       // PDF layout analysis alone
	SourceScan     = "scan"      // OCR of a scanned page
)

// DefaultRegionThreshold is the caption token F1 from which a figure found in the PDF is
// taken as the XML figure's region (a shared label also admits a PDF caption cut short).
const DefaultRegionThreshold = 0.6

// maxDecodePixels bounds the figure files decoded for a perceptual hash.
const maxDecodePixels = 100_000_000

// Options configure Process.
type Options struct {
	// Layout configures the PDF extraction (DPI, Render, Scanned, …). Tables are never
	// written for packages; URI is set by Process.
	Layout layout.Options
	// Limits bound the package; zero fields take DefaultLimits.
	Limits Limits
	// XMLLimits bound the article XML; zero fields take jats.DefaultLimits.
	XMLLimits jats.Limits
	// RegionThreshold is the caption F1 from which a PDF figure is the XML figure's region
	// (default DefaultRegionThreshold).
	RegionThreshold float64
}

// Result is what one article package gave.
type Result struct {
	// Figures are the XML's figures with their images (records and bytes).
	Figures []layout.Figure
	Rejects []shards.Reject
	// Doc names the article in records; its SHA256 is the PDF's (the XML's without a PDF).
	Doc   shards.Doc
	Pages int // pages of the PDF
	// PDFSHA256 is the sha256 of the package's PDF, "" without one.
	PDFSHA256 string
	// Agreement compares the PDF-only extraction with the XML; nil without a readable PDF.
	Agreement *DocAgreement
}

// Process turns an article package (see Open) into figure records: label, caption, sub-figure
// labels, mentions and metadata from the XML; the image from the package's own figure file,
// else the region of the PDF whose caption matches the XML's. An XML figure without either
// is a reject ("no_pdf_region" or "no_image"), never a guess. A package that cannot be read
// returns an error and a document reject.
func Process(ctx context.Context, p string, opts Options) (Result, error) {
	pkg, err := Open(ctx, p, opts.Limits)
	if err != nil {
		return Result{Rejects: []shards.Reject{docReject(p, "", err)}}, err
	}
	return ProcessPackage(ctx, pkg, opts)
}

// Reason is the reject reason for an error of Open, jats.Parse or the PDF reader.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrUnsafe):
		return "unsafe_package"
	case errors.Is(err, ErrNoXML):
		return "no_xml"
	case errors.Is(err, ErrSeveralXML):
		return "several_xml"
	case errors.Is(err, ErrTooLarge), errors.Is(err, jats.ErrTooLarge):
		return "too_large"
	case errors.Is(err, jats.ErrLimit):
		return "xml_limit"
	case errors.Is(err, jats.ErrMalformed):
		return "xml_malformed"
	case errors.Is(err, jats.ErrFormat):
		return "xml_format"
	case errors.Is(err, extract.ErrEncrypted):
		return "encrypted"
	case errors.Is(err, extract.ErrCorrupt):
		return "corrupt"
	case errors.Is(err, extract.ErrLimit):
		return "limit"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	return "unreadable"
}

func docReject(uri, sha string, err error) shards.Reject {
	return shards.Reject{Stage: "ingest", Kind: "document", URI: uri, DocSHA: sha, Reason: Reason(err), Detail: err.Error()}
}

// ProcessPackage is Process on an opened package.
func ProcessPackage(ctx context.Context, pkg *Package, opts Options) (Result, error) {
	var res Result
	xmlData, err := pkg.XML.Bytes()
	if err != nil {
		res.Rejects = append(res.Rejects, docReject(pkg.URI, "", err))
		return res, err
	}
	xmlSum := sha256.Sum256(xmlData)
	art, err := jats.ParseLimits(bytes.NewReader(xmlData), opts.XMLLimits)
	if err != nil {
		err = fmt.Errorf("package %s: %s: %w", pkg.URI, pkg.XML.Name, err)
		res.Rejects = append(res.Rejects, docReject(pkg.URI, hex.EncodeToString(xmlSum[:]), err))
		return res, err
	}
	res.Doc = shards.Doc{
		SHA256: hex.EncodeToString(xmlSum[:]), URI: pkg.URI, Title: art.Title, DOI: art.DOI,
		License: art.License.Name, LicenseURL: art.License.URL, Journal: art.Journal, Year: art.Year, PMCID: art.PMCID,
	}

	// The PDF: the PDF-only extraction, used for regions and for the agreement report.
	var pdfFigs []layout.Figure
	pdfRead := false
	if pdf := pkg.choosePDF(art.PDF, art.Supplementary); pdf != nil {
		r, err := extractPDF(ctx, pkg, pdf, opts.Layout)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			res.Rejects = append(res.Rejects, r.Rejects...)
			slog.Warn("article pdf unreadable", "package", pkg.URI, "pdf", pdf.Name, "err", err)
		} else {
			pdfRead = true
			res.Doc.SHA256, res.PDFSHA256, res.Pages = r.SHA256, r.SHA256, r.Pages
			for _, rj := range r.Rejects {
				// Figure rejects of the PDF path are the PDF path's business, and so is its finding
				// no figure: the XML says which figures there are.
				if rj.Kind != "figure" && rj.Reason != "no_figures" {
					res.Rejects = append(res.Rejects, rj)
				}
			}
			for _, f := range r.Figures {
				if f.Kind != "table" {
					pdfFigs = append(pdfFigs, f)
				}
			}
		}
	} else if len(pkg.PDFs()) > 1 && !pkg.Loose {
		res.Rejects = append(res.Rejects, shards.Reject{Stage: "ingest", Kind: "document", URI: pkg.URI,
			Reason: "ambiguous_pdf", Detail: fmt.Sprintf("%d PDFs and none named by the XML", len(pkg.PDFs()))})
	}
	for i := range res.Rejects {
		if res.Rejects[i].DocSHA == "" {
			res.Rejects[i].DocSHA = res.Doc.SHA256
		}
	}
	if pdfRead {
		res.Agreement = agreementOf(res.Doc, art.Figures, pdfFigs)
	}
	if len(art.Figures) == 0 {
		res.Rejects = append(res.Rejects, shards.Reject{Stage: "ingest", Kind: "document", URI: pkg.URI, DocSHA: res.Doc.SHA256,
			Reason: "no_figures", Detail: "the article XML has no <fig>"})
		return res, nil
	}

	xc := make([]regionCandidate, len(art.Figures))
	for i, f := range art.Figures {
		xc[i] = regionCandidate{label: f.Label, caption: f.Caption}
	}
	pc := make([]regionCandidate, len(pdfFigs))
	for j, f := range pdfFigs {
		pc[j] = regionCandidate{label: f.Label, caption: f.Caption}
	}
	th := opts.RegionThreshold
	if th <= 0 {
		th = DefaultRegionThreshold
	}
	region := map[int]int{}
	for _, p := range matchRegions(xc, pc, th) {
		region[p.A] = p.B
		if f := F1(Tokens(xc[p.A].caption), Tokens(pc[p.B].caption)); f < AgreementThreshold {
			slog.Debug("figure region steered by label", "package", pkg.URI, "xml_label", xc[p.A].label, "pdf_label", pc[p.B].label,
				"page", pdfFigs[p.B].Page, "f1", fmt.Sprintf("%.2f", f), "pdf_caption", truncate(pc[p.B].caption, 100))
		}
	}

	for i, xf := range art.Figures {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		rec := layout.Figure{Figure: xmlRecord(res.Doc, xf, i)}
		j, inPDF := region[i]
		if inPDF {
			placeInPDF(&rec, pdfFigs[j], xf)
		}
		file := (*File)(nil)
		if len(xf.Graphics) == 1 {
			file = pkg.figureFile(xf.Graphics[0])
		}
		if file != nil {
			if err := useFile(&rec, file, opts.Layout.Render); err != nil {
				slog.Warn("figure file unreadable", "package", pkg.URI, "file", file.Name, "err", err)
				file = nil
			}
		}
		if !inPDF && file == nil {
			reason, detail := "no_image", "no PDF and no figure file"
			if pdfRead {
				reason, detail = "no_pdf_region", "no figure of the PDF has this caption"
			}
			res.Rejects = append(res.Rejects, shards.Reject{Stage: "article", Kind: "figure", URI: pkg.URI, DocSHA: res.Doc.SHA256,
				ID: rec.ID, Reason: reason, Detail: fmt.Sprintf("%s: %s: %.80s", xf.Label, detail, xf.Caption)})
			continue
		}
		res.Figures = append(res.Figures, rec)
	}
	return res, nil
}

// extractPDF runs the PDF extraction on the package's PDF.
func extractPDF(ctx context.Context, pkg *Package, pdf *File, lo layout.Options) (layout.Result, error) {
	lo.URI = pkg.URI
	lo.Tables = false
	lo.DeferScanned = false
	var eopts []extract.Option
	if !lo.Render {
		eopts = append(eopts, extract.WithoutImageData())
	}
	var doc *extract.Document
	var err error
	if pdf.Data != nil {
		doc, err = extract.OpenBytes(pdf.Data, eopts...)
	} else {
		doc, err = extract.Open(pdf.Path, eopts...)
	}
	if err != nil {
		err = fmt.Errorf("package %s: pdf %s: %w", pkg.URI, pdf.Name, err)
		return layout.Result{Rejects: []shards.Reject{docReject(pkg.URI, "", err)}}, err
	}
	defer doc.Close()
	return layout.Process(ctx, doc, lo)
}

// xmlRecord is the record of an XML figure before its image is known.
func xmlRecord(doc shards.Doc, f jats.Figure, index int) shards.Figure {
	rec := shards.Figure{
		ID: xmlFigureID(doc.SHA256, f.ID, index), Kind: "figure", Doc: doc,
		Label: f.Label, Caption: f.Caption, Source: SourceXMLPDF,
	}
	seenPara := map[string]bool{}
	for _, m := range f.Mentions {
		rec.Mentions = append(rec.Mentions, m.Sentence)
		if !seenPara[m.Paragraph] {
			seenPara[m.Paragraph] = true
			rec.Paragraphs = append(rec.Paragraphs, m.Paragraph)
		}
	}
	for _, s := range f.SubFigures {
		rec.SubFigures = append(rec.SubFigures, shards.SubFigure{Label: s.Label, Caption: s.Caption})
	}
	return rec
}

// xmlFigureID is stable across runs: a hash of the document and the figure's XML id (its
// position when it has none). Like PDF figure ids it has 24 hex digits and no dots.
func xmlFigureID(docSHA, xmlID string, index int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00xml\x00%s\x00%d", docSHA, xmlID, index)))
	return hex.EncodeToString(sum[:])[:24]
}

// placeInPDF gives the record the PDF figure's page, boxes and crop. Tagged sub-figures keep
// their XML labels and take the box of the PDF panel with the same label; untagged ones are
// the PDF's panels.
func placeInPDF(rec *layout.Figure, pf layout.Figure, xf jats.Figure) {
	rec.Page, rec.PageSize, rec.BBox, rec.CaptionBox = pf.Page, pf.PageSize, pf.BBox, pf.CaptionBox
	rec.Image, rec.ImageBytes, rec.Original = pf.Image, pf.ImageBytes, pf.Original
	rec.PHash, rec.Quality, rec.OCR = pf.PHash, pf.Quality, pf.OCR
	if len(rec.SubFigures) == 0 {
		rec.SubFigures = pf.SubFigures
		return
	}
	for i := range rec.SubFigures {
		want := strings.ToLower(strings.Trim(rec.SubFigures[i].Label, "() .:"))
		for _, ps := range pf.SubFigures {
			if strings.ToLower(strings.Trim(ps.Label, "() .:")) == want {
				rec.SubFigures[i].BBox = ps.BBox
				break
			}
		}
	}
}

// useFile makes the package's figure file the record's image (native bytes).
func useFile(rec *layout.Figure, f *File, load bool) error {
	data, err := f.Bytes()
	if err != nil {
		return err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("figure file %s: %w", f.Name, err)
	}
	sum := sha256.Sum256(data)
	rec.Image = shards.ImageInfo{Format: format, Width: cfg.Width, Height: cfg.Height, Source: "file", SHA256: hex.EncodeToString(sum[:])}
	rec.Source = SourceXMLImage
	rec.Original = nil
	rec.ImageBytes = nil
	rec.PHash = ""
	if !load {
		return nil
	}
	rec.ImageBytes = data
	if cfg.Width*cfg.Height <= maxDecodePixels {
		if img, _, err := image.Decode(bytes.NewReader(data)); err == nil {
			rec.PHash = quality.FormatHash(quality.NewGrey(img).PHash())
		}
	}
	return nil
}

// truncate shortens s to n runes for logs and reject details.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
