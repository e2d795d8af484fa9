package articles

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

func touch(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(root, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInputs(t *testing.T) {
	root := t.TempDir()
	touch(t, root,
		"lib/a.pdf",
		"lib/PMC1/ARTICLE.nxml", "lib/PMC1/paper.pdf", "lib/PMC1/sub/fig.jpg",
		"lib/PMC2.tar.gz",
		"lib/pair/paper.xml", "lib/pair/paper.pdf",
		"lib/pair/unrelated.xml",
		"lib/z/b.PDF",
		"single.nxml",
		"doc.bin",
	)
	got, err := Inputs([]string{filepath.Join(root, "lib"), filepath.Join(root, "single.nxml"), filepath.Join(root, "doc.bin"), filepath.Join(root, "lib", "a.pdf")})
	if err != nil {
		t.Fatal(err)
	}
	rel := func(p string) string { r, _ := filepath.Rel(root, p); return r }
	var pkgs, pdfs []string
	for _, in := range got {
		if in.Package {
			pkgs = append(pkgs, rel(in.Path))
		} else {
			pdfs = append(pdfs, rel(in.Path))
		}
	}
	wantPkgs := []string{"lib/PMC1", "lib/PMC2.tar.gz", "lib/pair/paper.xml", "single.nxml"}
	wantPDFs := []string{"lib/a.pdf", "lib/z/b.PDF", "doc.bin"}
	if !reflect.DeepEqual(pkgs, wantPkgs) || !reflect.DeepEqual(pdfs, wantPDFs) {
		t.Errorf("packages %q, PDFs %q\nwant %q, %q", pkgs, pdfs, wantPkgs, wantPDFs)
	}
	if !got[0].Package || got[len(got)-1].Package {
		t.Error("packages are not listed before PDFs")
	}
	// A folder holding a .nxml is one package, whatever else it holds.
	got, err = Inputs([]string{filepath.Join(root, "lib", "PMC1")})
	if err != nil || len(got) != 1 || !got[0].Package {
		t.Errorf("package folder: %+v, %v", got, err)
	}
	// A flat folder of loose articles (several .nxml, each beside its PDF) is not one package.
	touch(t, root, "flat/PMC3.nxml", "flat/PMC3.pdf", "flat/PMC4.nxml", "flat/PMC4.pdf", "flat/c.pdf")
	got, err = Inputs([]string{filepath.Join(root, "flat")})
	if err != nil || len(got) != 3 || !got[0].Package || !got[1].Package || got[2].Package || rel(got[2].Path) != "flat/c.pdf" {
		t.Errorf("flat folder of loose articles: %+v, %v", got, err)
	}
	if _, err := Inputs([]string{filepath.Join(root, "missing")}); err == nil {
		t.Error("a missing input is not an error")
	}
}

// TestRunPackages: the output directory of a run over packages without PDFs: records with
// their source, the figure file under images/ in its own format, rejects, agreement.json.
func TestRunPackages(t *testing.T) {
	root := t.TempDir()
	jpg := encodeImage(t, "jpeg", 20, 10)
	writeTarGz(t, filepath.Join(root, "in", "ok.tar.gz"), []entry{
		{name: "ok/ARTICLE.nxml", data: []byte(article)},
		{name: "ok/art-g001.jpg", data: jpg},
	})
	writeTarGz(t, filepath.Join(root, "in", "evil.tar.gz"), []entry{{name: "../../ARTICLE.nxml", data: []byte(article)}})
	touch(t, root, "in/broken/ARTICLE.nxml")
	inputs, err := Inputs([]string{filepath.Join(root, "in")})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")
	sum, err := Run(context.Background(), inputs, out, RunOptions{Options: Options{Layout: layout.Options{Render: true}}, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Docs != 3 || sum.Packages != 3 || sum.Figures != 1 || sum.Failures != 2 {
		t.Errorf("summary %+v", sum)
	}
	wantReasons := map[string]int{"unsafe_package": 1, "xml_malformed": 1, "no_image": 1}
	if !reflect.DeepEqual(sum.Reasons, wantReasons) {
		t.Errorf("reasons %v, want %v", sum.Reasons, wantReasons)
	}
	figs := readJSONL[shards.Figure](t, filepath.Join(out, "figures.jsonl"))
	if len(figs) != 1 || figs[0].Source != SourceXMLImage || figs[0].Doc.License != "CC BY 4.0" {
		t.Fatalf("figures %+v", figs)
	}
	b, err := os.ReadFile(filepath.Join(out, "images", figs[0].ID+".jpg"))
	if err != nil || string(b) != string(jpg) {
		t.Errorf("figure file not written with its own bytes: %v", err)
	}
	docs := readJSONL[DocumentLine](t, filepath.Join(out, DocumentsFile))
	var got []string
	for _, d := range docs {
		rel, _ := filepath.Rel(filepath.Join(root, "in"), d.URI)
		got = append(got, fmt.Sprintf("%s %s %d/%d", rel, d.Status, d.Figures, d.Rejects))
	}
	wantDocs := []string{"broken rejected 0/1", "evil.tar.gz rejected 0/1", "ok.tar.gz ok 1/1"}
	if !reflect.DeepEqual(got, wantDocs) {
		t.Errorf("%s: %q, want %q", DocumentsFile, got, wantDocs)
	}
	if d := docs[len(docs)-1]; !d.Package || d.License != "CC BY 4.0" || len(d.SHA256) != 64 {
		t.Errorf("package line %+v", d)
	}
	var rep Report
	b, err = os.ReadFile(filepath.Join(out, AgreementFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Total.Articles != 0 {
		t.Errorf("agreement.json %s (%v)", b, err)
	}
}

// TestDedupPackageAndPDF: one article given as a package folder, as a .tar.gz and as a bare
// PDF gives one set of figures (the package's); the other two are duplicate_document rejects.
func TestDedupPackageAndPDF(t *testing.T) {
	dir, _ := biomedSet(t)
	root := t.TempDir()
	const name = "PMC5860693"
	pmcPackage(t, dir, name, root)
	pkgDir := filepath.Join(root, "jats", name)
	data, err := os.ReadFile(filepath.Join(dir, name+".pdf"))
	if err != nil {
		t.Fatal(err)
	}
	nxml, err := os.ReadFile(filepath.Join(pkgDir, "ARTICLE.nxml"))
	if err != nil {
		t.Fatal(err)
	}
	writeTarGz(t, filepath.Join(root, "jats", name+".tar.gz"), []entry{
		{name: name + "/" + name + ".nxml", data: nxml}, {name: name + "/pone.0193451.pdf", data: data},
	})
	if err := os.WriteFile(filepath.Join(root, "jats", "copy.pdf"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	inputs, err := Inputs([]string{filepath.Join(root, "jats")})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "out")
	sum, err := Run(context.Background(), inputs, out, RunOptions{Options: Options{Layout: layout.Options{DPI: 36}}})
	if err != nil {
		t.Fatal(err)
	}
	figs := readJSONL[shards.Figure](t, filepath.Join(out, "figures.jsonl"))
	if sum.Docs != 3 || sum.Reasons["duplicate_document"] != 2 || len(figs) == 0 {
		t.Fatalf("summary %+v, %d figures", sum, len(figs))
	}
	for _, f := range figs {
		if f.Source != SourceXMLPDF || f.Doc.URI != pkgDir {
			t.Errorf("figure %s from %s (%s), want the package folder's", f.Label, f.Doc.URI, f.Source)
		}
	}
	if sum.Agreement.Total.Articles != 1 {
		t.Errorf("agreement counts %d articles, want 1", sum.Agreement.Total.Articles)
	}
	for _, r := range readJSONL[shards.Reject](t, filepath.Join(out, "rejects.jsonl")) {
		if r.Reason == "duplicate_document" && !strings.Contains(r.Detail, pkgDir) {
			t.Errorf("duplicate of %q, want of the package", r.Detail)
		}
	}
}
