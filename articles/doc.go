// Package articles turns publisher article packages into figure records: the JATS/NLM (or
// BioMed Central) XML gives each figure's exact label, caption, tagged sub-figures, the
// sentences citing it and the article's metadata and licence (package jats reads it); the
// image is the package's own figure file when there is one, otherwise the region of the PDF
// whose caption the PDF extraction (package layout) finds to match the XML's, with its page
// and box. A figure with neither is rejected, never guessed.
//
// A package is a folder or a .tar.gz in the PubMed Central Open Access layout (one .nxml with
// the PDF and figure files beside it), or a .nxml/.xml file with a PDF of the same name
// beside it (Open). Process handles one package; Run handles a mix of packages and plain
// PDFs, writes the output directory of `eosin extract` with one record format for every
// source (shards.Figure.Source: xml+pdf, xml+image, pdf, scan), deduplicates documents by
// the sha256 of their PDF, and reports how the PDF-only extraction agrees with the XML
// wherever both exist (Report, agreement.json).
//
// Hostile packages are rejects, not crashes: archive entries with absolute paths, ".."
// components, links or special files; sizes and entry counts beyond Limits; XML that is
// malformed, too large or too deep, or that uses declared entities (jats.Parse).
package articles
