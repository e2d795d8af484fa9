package extract

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir is the real test corpus (Debian documentation PDFs), fetched by
// scripts/fetch-testdata.sh.
const corpusDir = "../testdata/cache"

type corpusDoc struct {
	pkg, version, path, sha string
}

// corpus lists the real PDFs; without them the test skips, or fails when CI is set.
func corpus(t testing.TB) []corpusDoc {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "corpus.tsv"))
	if err != nil {
		missing(t, "test corpus (run scripts/fetch-testdata.sh): %v", err)
		return nil
	}
	defer f.Close()
	var docs []corpusDoc
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 4 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		docs = append(docs, corpusDoc{fields[0], fields[1], filepath.Join(corpusDir, fields[2]), fields[3]})
	}
	if len(docs) == 0 {
		missing(t, "test corpus is empty")
	}
	return docs
}

// missing skips the test, or fails it on CI where nothing may be skipped.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, "%s not installed (make deps): %v", name, err)
	}
	return p
}

// short name of a corpus PDF for tables.
func (c corpusDoc) short() string {
	return c.pkg + "/" + filepath.Base(c.path)
}

func openCorpus(t testing.TB, c corpusDoc, opts ...Option) *Document {
	t.Helper()
	d, err := Open(c.path, opts...)
	if err != nil {
		t.Fatalf("%s: %v", c.short(), err)
	}
	if d.SHA256() != c.sha {
		t.Fatalf("%s: sha256 %s, corpus.tsv says %s", c.short(), d.SHA256(), c.sha)
	}
	return d
}

func readAll(t testing.TB, d *Document) []*Page {
	t.Helper()
	pages := make([]*Page, d.NumPages())
	for n := 1; n <= d.NumPages(); n++ {
		p, err := d.Page(context.Background(), n)
		if err != nil {
			t.Errorf("page %d: %v", n, err)
			continue
		}
		pages[n-1] = p
	}
	return pages
}
