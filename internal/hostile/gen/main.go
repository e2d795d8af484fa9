// Command gen writes the hostile-input corpus (one PDF per case, plus good.pdf) into a
// directory, or with -book N a book of N pages to one file.
//
//	go run ./internal/hostile/gen -out /tmp/hostile
//	go run ./internal/hostile/gen -book 5000 -out /tmp/book.pdf
//	go run ./internal/hostile/gen -fuzz extract/testdata/fuzz/FuzzOpen   # small cases as fuzz seeds
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/eosinlab/eosin/internal/hostile"
)

func main() {
	out := flag.String("out", "", "output directory (corpus) or file (-book)")
	book := flag.Int("book", 0, "write a book of this many pages instead of the corpus")
	every := flag.Int("figure-every", 10, "with -book: a captioned figure on every n-th page")
	fuzz := flag.String("fuzz", "", "write the cases under 16 KB as Go fuzz seeds (hostile-<name>) into this directory")
	flag.Parse()
	if *fuzz != "" {
		if err := seeds(*fuzz); err != nil {
			slog.Error("gen", "err", err)
			os.Exit(1)
		}
		return
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR | gen -book N -out FILE")
		os.Exit(2)
	}
	if err := run(*out, *book, *every); err != nil {
		slog.Error("gen", "err", err)
		os.Exit(1)
	}
}

func run(out string, book, every int) error {
	if book > 0 {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		if err := hostile.WriteBook(w, book, every); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", out, err)
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", out, err)
		}
		return f.Close()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, c := range hostile.Corpus() {
		if err := os.WriteFile(filepath.Join(out, c.Name+".pdf"), c.Data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(out, "good.pdf"), hostile.GoodDocument(), 0o644)
}

// seeds writes the small cases in the fuzz corpus format of a func(*testing.T, []byte) target.
func seeds(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range hostile.Corpus() {
		if len(c.Data) == 0 || len(c.Data) > 16<<10 {
			continue
		}
		b := "go test fuzz v1\n[]byte(" + strconv.Quote(string(c.Data)) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "hostile-"+c.Name), []byte(b), 0o644); err != nil {
			return err
		}
	}
	return nil
}
