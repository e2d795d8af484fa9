package pipelines

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/articles"
	"github.com/eosinlab/eosin/shards"
)

// jatsArticle is a small JATS article with two figures: F1 is shipped as a figure file
// (fig1.jpg) in packages that have it, F2 never is.
const jatsArticle = `<?xml version="1.0"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink">
<front><journal-meta><journal-title-group><journal-title>Test Journal</journal-title></journal-title-group></journal-meta>
<article-meta><article-id pub-id-type="doi">10.1/%s</article-id>
<title-group><article-title>A test</article-title></title-group><pub-date pub-type="epub"><year>2022</year></pub-date>
<permissions><license xlink:href="http://creativecommons.org/licenses/by/4.0/"><license-p>CC BY.</license-p></license></permissions>
</article-meta></front>
<body><p>As <xref ref-type="fig" rid="F1">Figure 1</xref> shows, the square is red.</p>
<fig id="F1"><label>Figure 1</label><caption><p>A red square drawn for the package test, with a caption long enough to pass.</p></caption><graphic xlink:href="fig1"/></fig>
<fig id="F2"><label>Figure 2</label><caption><p>A figure whose file the package does not ship and no PDF shows.</p></caption><graphic xlink:href="fig2"/></fig>
</body></article>`

// jpegSquare encodes a w×h JPEG with some structure (the quality filters reject blank images).
func jpegSquare(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(200 + (x*y)%50), uint8((x * 7) % 255), uint8((y * 5) % 255), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type tarEntry struct {
	name     string
	data     []byte
	typeflag byte
	link     string
}

func writeTarGz(t *testing.T, path string, entries []tarEntry) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		tf := e.typeflag
		if tf == 0 {
			tf = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tf, Linkname: e.link}
		if tf != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if tf == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b.Bytes())
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBuildArticlePackages: a build over article packages mixed with plain PDFs. A package's
// figure file becomes an xml+image record with the XML's caption, mentions and licence; a
// package and the bare copy of its PDF are one document, kept as the package; the PDF-only
// extraction of a package's PDF is scored against its XML (agreement in the build stats);
// malformed XML and unsafe archives are document rejects, and the build goes on.
func TestBuildArticlePackages(t *testing.T) {
	requireFile(t, filepath.Join(cache, docPartitioning))
	ctx := context.Background()
	root := t.TempDir()
	in, out := filepath.Join(root, "in"), filepath.Join(root, "out")
	pdf, err := os.ReadFile(filepath.Join(cache, docPartitioning))
	if err != nil {
		t.Fatal(err)
	}
	article := func(doi string) []byte { return []byte(strings.Replace(jatsArticle, "%s", doi, 1)) }

	// A PMC package with a figure file and no PDF.
	writeTarGz(t, filepath.Join(in, "PMC1.tar.gz"), []tarEntry{
		{name: "PMC1/", typeflag: tar.TypeDir},
		{name: "PMC1/ARTICLE.nxml", data: article("one")},
		{name: "PMC1/fig1.jpg", data: jpegSquare(t, 320, 240)},
	})
	// A package folder whose PDF is also given bare (the same article twice).
	writeFile(t, filepath.Join(in, "PMC2", "ARTICLE.nxml"), article("two"))
	writeFile(t, filepath.Join(in, "PMC2", "paper.pdf"), pdf)
	writeFile(t, filepath.Join(in, "bare", "copy-of-paper.pdf"), pdf)
	// Malformed XML beside its PDF; an archive climbing out of its folder.
	writeFile(t, filepath.Join(in, "flat", "broken.nxml"), []byte("<article><front>"))
	writeFile(t, filepath.Join(in, "flat", "broken.pdf"), []byte("%PDF-1.4 never read"))
	writeFile(t, filepath.Join(in, "flat", "other.nxml"), article("other")) // no PDF: not an input
	writeTarGz(t, filepath.Join(in, "evil.tar.gz"), []tarEntry{
		{name: "evil/ARTICLE.nxml", data: article("evil")},
		{name: "../../escape.jpg", data: []byte("x")},
	})

	sum, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	b := sum.Build
	if b.DocsFound != 5 || b.DocsProcessed != 2 || b.DocsDuplicate != 1 || b.DocsUnreadable != 2 || b.Packages != 2 {
		t.Errorf("build stats %+v", b)
	}
	if b.Agreement == nil || b.Agreement.Total.Articles != 1 || b.Agreement.Total.XMLFigures != 2 {
		t.Errorf("agreement %+v", b.Agreement)
	}
	m, figs := readDataset(t, out, shards.ReadOptions{})
	var fromFile *shards.Figure
	for _, f := range figs {
		if f.Source == "" {
			t.Errorf("figure %s has no source", f.ID)
		}
		if f.Source == articles.SourceXMLImage {
			f := f
			fromFile = &f
		}
		if f.Doc.URI == filepath.Join(in, "bare", "copy-of-paper.pdf") {
			t.Errorf("figure %s from the bare copy of a package's PDF", f.ID)
		}
	}
	if fromFile == nil {
		t.Fatalf("no xml+image figure among %d", len(figs))
	}
	if fromFile.Label != "Figure 1" || !strings.HasPrefix(fromFile.Caption, "A red square") || fromFile.Doc.License != "CC BY 4.0" ||
		fromFile.Doc.DOI != "10.1/one" || len(fromFile.Mentions) != 1 {
		t.Errorf("xml+image record %+v", *fromFile)
	}

	reasons := map[string][]string{}
	for _, r := range readRejects(t, out, m) {
		rel, _ := filepath.Rel(in, r.URI)
		reasons[rel] = append(reasons[rel], r.Stage+"/"+r.Reason)
	}
	want := map[string]string{
		"bare/copy-of-paper.pdf": "ingest/duplicate_document",
		"flat/broken.nxml":       "ingest/xml_malformed",
		"evil.tar.gz":            "ingest/unsafe_package",
		"PMC1.tar.gz":            "article/no_image", // Figure 2: no file, no PDF
	}
	for uri, r := range want {
		if !slices.Contains(reasons[uri], r) {
			t.Errorf("%s: rejects %q, want %s", uri, reasons[uri], r)
		}
	}

	// The build report carries the agreement for inspect and later reads.
	rep, err := os.ReadFile(filepath.Join(out, reportKey(sum.Version)))
	if err != nil {
		t.Fatal(err)
	}
	var br BuildReport
	if err := json.Unmarshal(rep, &br); err != nil || br.Build.Agreement == nil {
		t.Errorf("build report agreement: %v, %s", err, rep)
	}

	// Nothing new the second time: packages are known by their key.
	again, err := Run(ctx, testConfig(in, out), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != "" || again.Build.DocsSkipped != 3 { // both packages and the bare copy
		t.Errorf("rerun: version %q, stats %+v", again.Version, again.Build)
	}
}
