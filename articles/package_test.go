package articles

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

// article is a small JATS article with two figures: F1 shows g001, F2 shows g002.
const article = `<?xml version="1.0"?>
<article xmlns:xlink="http://www.w3.org/1999/xlink">
<front><journal-meta><journal-title-group><journal-title>Test Journal</journal-title></journal-title-group></journal-meta>
<article-meta><article-id pub-id-type="doi">10.1/x</article-id><article-id pub-id-type="pmc">42</article-id>
<title-group><article-title>A test</article-title></title-group><pub-date pub-type="epub"><year>2022</year></pub-date>
<permissions><license xlink:href="http://creativecommons.org/licenses/by/4.0/"><license-p>CC BY.</license-p></license></permissions>
</article-meta></front>
<body><p>See <xref ref-type="fig" rid="F1">Figure 1</xref>. And <xref ref-type="fig" rid="F2">Figure 2</xref>.</p>
<fig id="F1"><label>Figure 1</label><caption><p>The first figure, a red square.</p></caption><graphic xlink:href="art-g001"/></fig>
<fig id="F2"><label>Figure 2</label><caption><p>The second figure, never shipped.</p></caption><graphic xlink:href="art-g002"/></fig>
</body></article>`

func encodeImage(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), 40, 255})
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type entry struct {
	name     string
	typeflag byte
	data     []byte
	link     string
}

func writeTarGz(t *testing.T, path string, entries []entry) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		tf := e.typeflag
		if tf == 0 {
			tf = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: tf, Size: int64(len(e.data)), Mode: 0o644, Linkname: e.link}
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
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSafeName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"PMC1/ARTICLE.nxml", true},
		{"ARTICLE.nxml", true},
		{"./a/b.jpg", true},
		{"a/..b/c.jpg", true},
		{"../ARTICLE.nxml", false},
		{"a/../../etc/passwd", false},
		{"/etc/passwd", false},
		{`C:\evil.xml`, false},
		{`a\..\..\evil.xml`, false},
		{"", false},
	}
	for _, tt := range tests {
		err := safeName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("safeName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestHostilePackages: archives that try to leave the package, links, oversize content and
// bad XML are document rejects, not crashes and not files written anywhere.
func TestHostilePackages(t *testing.T) {
	dir := t.TempDir()
	xml := []byte(article)
	tests := []struct {
		name    string
		entries []entry
		lim     Limits
		reason  string
	}{
		{"parent path", []entry{{name: "../ARTICLE.nxml", data: xml}}, Limits{}, "unsafe_package"},
		{"absolute path", []entry{{name: "/tmp/ARTICLE.nxml", data: xml}}, Limits{}, "unsafe_package"},
		{"symlink", []entry{{name: "p/ARTICLE.nxml", data: xml}, {name: "p/art-g001.jpg", typeflag: tar.TypeSymlink, link: "/etc/passwd"}}, Limits{}, "unsafe_package"},
		{"hard link", []entry{{name: "p/ARTICLE.nxml", data: xml}, {name: "p/x.pdf", typeflag: tar.TypeLink, link: "../../x"}}, Limits{}, "unsafe_package"},
		{"device", []entry{{name: "p/ARTICLE.nxml", data: xml}, {name: "p/dev.png", typeflag: tar.TypeChar}}, Limits{}, "unsafe_package"},
		{"too many entries", []entry{{name: "a.txt"}, {name: "b.txt"}, {name: "c.txt"}}, Limits{MaxEntries: 2}, "too_large"},
		{"too many bytes", []entry{{name: "p/ARTICLE.nxml", data: xml}}, Limits{MaxBytes: 100}, "too_large"},
		{"xml too large", []entry{{name: "p/ARTICLE.nxml", data: xml}}, Limits{MaxXMLBytes: 100}, "too_large"},
		{"no xml", []entry{{name: "p/paper.pdf", data: []byte("%PDF")}}, Limits{}, "no_xml"},
		{"two nxml", []entry{{name: "p/a.nxml", data: xml}, {name: "p/b.nxml", data: xml}}, Limits{}, "several_xml"},
		{"malformed xml", []entry{{name: "p/ARTICLE.nxml", data: []byte("<article><fig>")}}, Limits{}, "xml_malformed"},
		{"entity bomb", []entry{{name: "p/ARTICLE.nxml", data: []byte(`<!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><article>&b;</article>`)}}, Limits{}, "xml_malformed"},
		{"not an article", []entry{{name: "p/ARTICLE.nxml", data: []byte(`<html/>`)}}, Limits{}, "xml_format"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".tar.gz")
			writeTarGz(t, p, tt.entries)
			res, err := Process(context.Background(), p, Options{Limits: tt.lim})
			if err == nil {
				t.Fatalf("case %d: no error", i)
			}
			if len(res.Rejects) != 1 || res.Rejects[0].Reason != tt.reason || res.Rejects[0].Kind != "document" || res.Rejects[0].URI != p {
				t.Errorf("rejects %+v, want one document reject %q", res.Rejects, tt.reason)
			}
			if len(res.Figures) != 0 {
				t.Errorf("figures from a refused package: %d", len(res.Figures))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "ARTICLE.nxml")); err == nil {
		t.Error("an archive entry was written outside its package")
	}
}

// TestPackageWithFigureFiles: no PDF; the figure with a file gets its native bytes, the one
// without is a no_image reject; the archive's folder layout does not matter.
func TestPackageWithFigureFiles(t *testing.T) {
	dir := t.TempDir()
	jpg := encodeImage(t, "jpeg", 40, 30)
	p := filepath.Join(dir, "PMC42.tar.gz")
	writeTarGz(t, p, []entry{
		{name: "PMC42/", typeflag: tar.TypeDir},
		{name: "PMC42/ARTICLE.nxml", data: []byte(article)},
		{name: "PMC42/art-g001.gif", data: []byte("GIF89a thumbnail, not preferred")},
		{name: "PMC42/art-g001.jpg", data: jpg},
		{name: "PMC42/notes.txt", data: []byte("ignored")},
	})
	res, err := Process(context.Background(), p, Options{Layout: layout.Options{Render: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Figures) != 1 {
		t.Fatalf("%d figures, want 1", len(res.Figures))
	}
	f := res.Figures[0]
	wantDoc := shards.Doc{SHA256: f.Doc.SHA256, URI: p, Title: "A test", DOI: "10.1/x", License: "CC BY 4.0",
		LicenseURL: "https://creativecommons.org/licenses/by/4.0/", Journal: "Test Journal", Year: 2022, PMCID: "PMC42"}
	if f.Doc != wantDoc || len(f.Doc.SHA256) != 64 {
		t.Errorf("doc %+v", f.Doc)
	}
	if f.Source != SourceXMLImage || f.Label != "Figure 1" || f.Caption != "The first figure, a red square." {
		t.Errorf("record %+v", f.Figure)
	}
	if !bytes.Equal(f.ImageBytes, jpg) || f.Image.Format != "jpeg" || f.Image.Width != 40 || f.Image.Height != 30 || f.Image.Source != "file" || f.PHash == "" {
		t.Errorf("image %+v (%d bytes)", f.Image, len(f.ImageBytes))
	}
	if !reflect.DeepEqual(f.Mentions, []string{"See Figure 1."}) || len(f.Paragraphs) != 1 {
		t.Errorf("mentions %q, paragraphs %q", f.Mentions, f.Paragraphs)
	}
	if len(res.Rejects) != 1 || res.Rejects[0].Reason != "no_image" || res.Rejects[0].Kind != "figure" {
		t.Errorf("rejects %+v", res.Rejects)
	}
	if res.Agreement != nil {
		t.Errorf("agreement without a PDF: %+v", res.Agreement)
	}

	// Without rendering the record still names its file, without the bytes.
	res, err = Process(context.Background(), p, Options{})
	if err != nil || len(res.Figures) != 1 || res.Figures[0].ImageBytes != nil || res.Figures[0].Image.Width != 40 {
		t.Errorf("records only: %+v, %v", res.Figures, err)
	}
}

func TestPackageWithoutFigures(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.nxml")
	if err := os.WriteFile(p, []byte(`<article><body><p>Words only.</p></body></article>`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Process(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Figures) != 0 || len(res.Rejects) != 1 || res.Rejects[0].Reason != "no_figures" {
		t.Errorf("figures %d, rejects %+v", len(res.Figures), res.Rejects)
	}
}

func TestChoosePDF(t *testing.T) {
	xml := &File{Name: "ARTICLE.nxml"}
	files := func(names ...string) []*File {
		var out []*File
		for _, n := range names {
			out = append(out, &File{Name: n})
		}
		return out
	}
	tests := []struct {
		name  string
		xml   *File
		files []*File
		named string
		supp  []string
		want  string
	}{
		{"named by the xml", xml, files("a.pdf", "b.pdf"), "file:b.pdf", nil, "b.pdf"},
		{"named like the xml", &File{Name: "paper.nxml"}, files("paper.pdf", "other.pdf"), "", nil, "paper.pdf"},
		{"the only one", xml, files("x.pdf", "fig.jpg"), "", nil, "x.pdf"},
		{"supplementary left out", xml, files("x.pdf", "x.s001.pdf"), "", []string{"x.s001.pdf"}, "x.pdf"},
		{"ambiguous", xml, files("x.pdf", "y.pdf"), "", nil, ""},
		{"none", xml, files("fig.jpg"), "", nil, ""},
		{"loose xml: only its own", &File{Name: "a.xml"}, files("other.pdf"), "", nil, ""},
		{"loose xml: named like it", &File{Name: "a.xml"}, files("a.pdf", "other.pdf"), "", nil, "a.pdf"},
	}
	for _, tt := range tests {
		pkg := &Package{XML: tt.xml, Files: tt.files, Loose: strings.HasSuffix(tt.xml.Name, ".xml")}
		got := pkg.choosePDF(strings.TrimPrefix(tt.named, "file:"), tt.supp)
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, name, tt.want)
		}
	}
}

func TestFigureFile(t *testing.T) {
	pkg := &Package{Files: []*File{{Name: "g1.gif"}, {Name: "g1.jpg"}, {Name: "g1.tif"}, {Name: "g2.tif"}, {Name: "g2.gif"}, {Name: "p.g3.png"}, {Name: "g4.pdf"}}}
	tests := []struct{ ref, want string }{
		{"g1", "g1.jpg"},
		{"g1.tif", "g1.jpg"},
		{"g2", "g2.tif"},
		{"p.g3", "p.g3.png"},
		{"dir/p.g3.png", "p.g3.png"},
		{"g4", ""},
		{"../../g1", "g1.jpg"},
		{"", ""},
	}
	for _, tt := range tests {
		got := pkg.figureFile(tt.ref)
		name := ""
		if got != nil {
			name = got.Name
		}
		if name != tt.want {
			t.Errorf("figureFile(%q) = %q, want %q", tt.ref, name, tt.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(context.Background(), filepath.Join(dir, "missing.tar.gz"), Limits{}); err == nil {
		t.Error("missing package opened")
	}
	bad := filepath.Join(dir, "bad.tar.gz")
	if err := os.WriteFile(bad, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), bad, Limits{}); err == nil || Reason(err) != "unreadable" {
		t.Errorf("corrupt archive: %v (%s)", err, Reason(err))
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), empty, Limits{}); !errors.Is(err, ErrNoXML) {
		t.Errorf("empty folder: %v", err)
	}
}
