package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eosinlab/eosin/shards"
)

// TestExtractPackage runs `eosin extract` on an article package (a folder in the PMC layout:
// ARTICLE.nxml and the figure file, no PDF) and checks the summary and the output folder.
func TestExtractPackage(t *testing.T) {
	dir := t.TempDir()
	pkg := filepath.Join(dir, "in", "PMC1")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	const nxml = `<article xmlns:xlink="http://www.w3.org/1999/xlink"><front><journal-meta><journal-title>J</journal-title></journal-meta>
<article-meta><permissions><license xlink:href="https://creativecommons.org/licenses/by/4.0/"/></permissions></article-meta></front>
<body><p>As <xref ref-type="fig" rid="F1">Figure 1</xref> shows.</p>
<fig id="F1"><label>Figure 1</label><caption><p>Uptake of <sup>18</sup>F-FDG.</p></caption><graphic xlink:href="g1"/></fig></body></article>`
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"ARTICLE.nxml": []byte(nxml), "g1.jpg": jpg.Bytes()} {
		if err := os.WriteFile(filepath.Join(pkg, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out")
	stdout, stderr, err := runRoot(t, "extract", filepath.Join(dir, "in"), "-o", out, "--no-ocr")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "packages   1") || !strings.Contains(stdout, "figures    1") {
		t.Errorf("summary:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "figures.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var f shards.Figure
	if err := json.Unmarshal(bytes.TrimSpace(b), &f); err != nil {
		t.Fatal(err)
	}
	if f.Source != "xml+image" || f.Caption != "Uptake of ¹⁸F-FDG." || f.Doc.License != "CC BY 4.0" || len(f.Mentions) != 1 {
		t.Errorf("record %+v", f)
	}
	for _, name := range []string{"images/" + f.ID + ".jpg", "rejects.jsonl", "agreement.json"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("output: %v", err)
		}
	}
}
