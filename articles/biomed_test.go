package articles

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/articles/jats"
	"github.com/eosinlab/eosin/layout"
	"github.com/eosinlab/eosin/shards"
)

// biomedDir is the shared biomedical caption set: PDFs, their publisher XML gzipped in xml/,
// gt.jsonl. It lives beside the repository and is never copied into it.
const biomedDir = "../../shared/data/biomed"

type gtLine struct {
	Doc     string `json:"doc"`
	Label   string `json:"label"`
	Caption string `json:"caption"`
	Kind    string `json:"kind"`
	Scan    bool   `json:"scan"`
}

// biomedSet returns the set's folder and its ground truth (figures of born-digital PDFs, by
// document name), skipping the test when the set is absent.
func biomedSet(t *testing.T) (string, map[string][]gtLine) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the biomedical caption set is not run")
	}
	dir, err := filepath.Abs(biomedDir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "gt.jsonl"))
	if err != nil {
		t.Skipf("biomedical caption set absent (%v): it is expected at shared/data/biomed beside the repository", err)
	}
	defer f.Close()
	gt := map[string][]gtLine{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var l gtLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("gt.jsonl: %v", err)
		}
		if l.Kind == "table" || l.Scan {
			continue
		}
		gt[l.Doc] = append(gt[l.Doc], l)
	}
	return dir, gt
}

// pmcPackage lays one article out as a PMC package, root/jats/NAME or root/bmc/NAME by the
// XML's format: ARTICLE.nxml (gunzipped from the set's xml/) beside a symbolic link to the
// PDF. It reports whether the XML is JATS (not BMC 'art').
func pmcPackage(t *testing.T, dir, name, root string) bool {
	t.Helper()
	zf, err := os.Open(filepath.Join(dir, "xml", name+".xml.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	zr, err := gzip.NewReader(zf)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	head := string(data[:min(len(data), 600)])
	isJATS := !strings.Contains(head, "<!DOCTYPE art ") && !strings.Contains(head, "<art>")
	dst := filepath.Join(root, "bmc", name)
	if isJATS {
		dst = filepath.Join(root, "jats", name)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "ARTICLE.nxml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, name+".pdf"), filepath.Join(dst, name+".pdf")); err != nil {
		t.Fatal(err)
	}
	return isJATS
}

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestBiomedPackages is the acceptance check: the JATS articles of the biomedical
// set laid out as PMC packages (nxml + PDF). Captions equal the XML's (recall and precision
// >= 0.98 against gt.jsonl with the set's metric), >= 90% of figures carry a crop from the
// PDF with page and box, mentions are attached, every record has a licence, and the
// agreement report equals the PDF-only score measured here on the bare PDFs.
func TestBiomedPackages(t *testing.T) {
	dir, gt := biomedSet(t)
	pdfs, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	root := t.TempDir()
	var names []string
	for _, p := range pdfs {
		name := strings.TrimSuffix(filepath.Base(p), ".pdf")
		if strings.HasSuffix(name, "-scan") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "xml", name+".xml.gz")); err != nil {
			continue
		}
		if pmcPackage(t, dir, name, root) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Skip("no JATS article in the set")
	}
	out := filepath.Join(root, "out")
	inputs, err := Inputs([]string{filepath.Join(root, "jats")})
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) != len(names) {
		t.Fatalf("Inputs found %d packages, want %d", len(inputs), len(names))
	}
	lo := layout.Options{DPI: 50, Render: true}
	sum, err := Run(context.Background(), inputs, out, RunOptions{Options: Options{Layout: lo}, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	figs := readJSONL[shards.Figure](t, filepath.Join(out, "figures.jsonl"))
	rejects := readJSONL[shards.Reject](t, filepath.Join(out, "rejects.jsonl"))
	byDoc := map[string][]shards.Figure{}
	for _, f := range figs {
		byDoc[filepath.Base(f.Doc.URI)] = append(byDoc[filepath.Base(f.Doc.URI)], f)
	}
	if len(figs) == 0 {
		t.Fatal("no records")
	}
	rejectedFigs := 0
	for _, r := range rejects {
		if r.Kind == "figure" {
			rejectedFigs++
			t.Logf("reject %s: %s %s", filepath.Base(r.URI), r.Reason, r.Detail)
		}
	}

	// Captions against the ground truth: the XML's figures (records and figures rejected
	// for want of an image), then the records' share with a PDF crop.
	var truths, xmlFigs, matched, records, cropped, withMentions, licensed int
	for _, name := range names {
		var truth, captions []string
		for _, l := range gt[name+".pdf"] {
			truth = append(truth, l.Caption)
		}
		xf, err := os.Open(filepath.Join(root, "jats", name, "ARTICLE.nxml"))
		if err != nil {
			t.Fatal(err)
		}
		art, err := jats.Parse(xf)
		xf.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		xmlCaption := map[string]bool{}
		for _, f := range art.Figures {
			captions = append(captions, f.Caption)
			xmlCaption[f.Caption] = true
		}
		for _, f := range byDoc[name] {
			records++
			if !xmlCaption[f.Caption] {
				t.Errorf("%s %s: record caption is not the XML's: %.80s", name, f.Label, f.Caption)
			}
			if f.Source == SourceXMLPDF && f.Page > 0 && f.BBox != (shards.Box{}) && f.Image.Source == "rendered" {
				if _, err := os.Stat(filepath.Join(out, "images", f.ID+".png")); err == nil {
					cropped++
				}
			}
			if len(f.Mentions) > 0 && len(f.Paragraphs) > 0 {
				withMentions++
			}
			if f.Doc.License != "" {
				licensed++
			}
		}
		pairs := MatchCaptions(truth, captions, AgreementThreshold)
		truths += len(truth)
		xmlFigs += len(captions)
		matched += len(pairs)
		if len(pairs) < len(truth) || len(pairs) < len(captions) {
			t.Logf("%s: %d true, %d XML figures, %d matched", name, len(truth), len(captions), len(pairs))
		}
	}
	recall := float64(matched) / float64(truths)
	precision := float64(matched) / float64(xmlFigs)
	crops := float64(cropped) / float64(xmlFigs)
	t.Logf("%d JATS packages: %d true figures, %d XML figures, %d matched: caption recall %.3f precision %.3f",
		len(names), truths, xmlFigs, matched, recall, precision)
	t.Logf("records %d (%d figures rejected); crops from the PDF with page and box %d/%d (%.3f); with mentions %d; licensed %d",
		records, rejectedFigs, cropped, xmlFigs, crops, withMentions, licensed)
	if recall < 0.98 || precision < 0.98 {
		t.Errorf("caption recall %.3f, precision %.3f: want both >= 0.98", recall, precision)
	}
	if crops < 0.9 {
		t.Errorf("%.3f of figures have a PDF crop with page and box, want >= 0.9", crops)
	}
	if records+rejectedFigs != xmlFigs {
		t.Errorf("%d records and %d figure rejects for %d XML figures", records, rejectedFigs, xmlFigs)
	}
	if licensed != records {
		t.Errorf("%d of %d records carry a licence", licensed, records)
	}
	if withMentions < records*8/10 {
		t.Errorf("only %d of %d records have mentions", withMentions, records)
	}

	// The agreement report against the PDF-only extraction of the bare PDFs, scored here.
	var pdfInputs []string
	for _, name := range names {
		pdfInputs = append(pdfInputs, filepath.Join(dir, name+".pdf"))
	}
	pdfOut := filepath.Join(root, "pdfonly")
	if _, err := layout.Run(context.Background(), pdfInputs, pdfOut, layout.RunOptions{Options: layout.Options{DPI: 50}, Jobs: 2}); err != nil {
		t.Fatal(err)
	}
	pdfFigs := map[string][]string{}
	for _, f := range readJSONL[shards.Figure](t, filepath.Join(pdfOut, "figures.jsonl")) {
		if f.Kind != "table" {
			name := strings.TrimSuffix(filepath.Base(f.Doc.URI), ".pdf")
			pdfFigs[name] = append(pdfFigs[name], f.Caption)
		}
	}
	var want Score
	for _, name := range names {
		var truth []string
		for _, l := range gt[name+".pdf"] {
			truth = append(truth, l.Caption)
		}
		want.add(DocAgreement{XMLFigures: len(truth), PDFFigures: len(pdfFigs[name]),
			Matched: len(MatchCaptions(truth, pdfFigs[name], AgreementThreshold))})
	}
	got := sum.Agreement.Total
	t.Logf("agreement report: %d articles, recall %.3f precision %.3f (%d XML, %d PDF, %d matched); PDF-only vs ground truth: recall %.3f precision %.3f (%d, %d, %d)",
		got.Articles, got.Recall, got.Precision, got.XMLFigures, got.PDFFigures, got.Matched,
		want.Recall, want.Precision, want.XMLFigures, want.PDFFigures, want.Matched)
	if got.XMLFigures != want.XMLFigures || got.PDFFigures != want.PDFFigures || got.Matched != want.Matched {
		t.Errorf("agreement report %+v, PDF-only score %+v", got, want)
	}
	var fileReport Report
	b, err := os.ReadFile(filepath.Join(out, AgreementFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fileReport); err != nil {
		t.Fatal(err)
	}
	if fileReport.Total != got || len(fileReport.Documents) != len(names) {
		t.Errorf("agreement.json total %+v (%d documents), summary %+v", fileReport.Total, len(fileReport.Documents), got)
	}
	for _, j := range fileReport.Journals {
		t.Logf("  %-60.60s %2d articles  recall %.3f  precision %.3f", j.Journal, j.Articles, j.Recall, j.Precision)
	}
}

// TestBiomedBMC: the set's BioMed Central 'art' articles as packages: every figure found with
// the ground truth's caption, a licence and a PDF crop where the PDF extraction finds it.
func TestBiomedBMC(t *testing.T) {
	dir, gt := biomedSet(t)
	root := t.TempDir()
	xmls, _ := filepath.Glob(filepath.Join(dir, "xml", "*.xml.gz"))
	var names []string
	for _, x := range xmls {
		name := strings.TrimSuffix(filepath.Base(x), ".xml.gz")
		if _, err := os.Stat(filepath.Join(dir, name+".pdf")); err != nil {
			continue
		}
		if !pmcPackage(t, dir, name, root) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		t.Skip("no BMC article in the set")
	}
	var truths, figs, matched, cropped, rejected int
	for _, name := range names {
		res, err := Process(context.Background(), filepath.Join(root, "bmc", name), Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var truth, got []string
		for _, l := range gt[name+".pdf"] {
			truth = append(truth, l.Caption)
		}
		for _, f := range res.Figures {
			got = append(got, f.Caption)
			if f.Doc.License == "" || f.Doc.Journal == "" || len(f.Mentions) == 0 {
				t.Errorf("%s %s: licence %q, journal %q, %d mentions", name, f.Label, f.Doc.License, f.Doc.Journal, len(f.Mentions))
			}
			if f.Page > 0 {
				cropped++
			}
		}
		for _, r := range res.Rejects {
			if r.Kind == "figure" {
				rejected++
				t.Logf("%s: %s %s", name, r.Reason, r.Detail)
			}
		}
		truths += len(truth)
		figs += len(got)
		matched += len(MatchCaptions(truth, got, AgreementThreshold))
	}
	t.Logf("%d BMC packages: %d true figures, %d records (+%d rejected), %d match the ground truth, %d with a PDF crop",
		len(names), truths, figs, rejected, matched, cropped)
	if matched != figs || figs+rejected != truths {
		t.Errorf("%d of %d records match the ground truth; %d records + %d rejects for %d figures", matched, figs, figs, rejected, truths)
	}
}
