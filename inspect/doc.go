// Package inspect builds the static HTML report of `eosin inspect`: a gallery of extracted
// figures (crop, label, caption, sub-figures, source), each figure drawn on its page with its
// figure, caption and panel boxes, per-document and total counts with bar charts, reject
// reasons, and chain-of-thought samples with their reasoning and reward scores.
//
// The report opens from disk (file://) without a server or network: records are written as
// JavaScript files in chunks (data/figures-0000.js, …) that the page loads on demand through
// <script> elements, so a report over 100,000 figures stays quick; crops, page thumbnails and
// sample images are files beside index.html.
package inspect

import "embed"

// assetFS holds index.html, style.css and app.js.
//
//go:embed assets
var assetFS embed.FS
