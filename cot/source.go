package cot

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"

	"github.com/eosinlab/eosin/internal/safefile"
	"github.com/eosinlab/eosin/shards"
)

// ExtractDir reads the output of `eosin extract`: DIR/figures.jsonl (one shards.Figure per
// line) and DIR/images/<id>.<ext>. A figure whose image file is missing comes with no image
// bytes (the pipeline rejects it as no_image). An image file that leads out of DIR (a
// symlink), is not a regular file, is over MaxImageBytes, does not start like an image of its
// format or does not hash to the record's image.sha256 is not read or not used: the figure
// comes with ImageError set, naming the file (the pipeline rejects it as bad_image).
func ExtractDir(dir string) iter.Seq2[FigureInput, error] {
	return func(yield func(FigureInput, error) bool) {
		f, err := os.Open(filepath.Join(dir, "figures.jsonl"))
		if err != nil {
			yield(FigureInput{}, fmt.Errorf("figures: %w", err))
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			if len(sc.Bytes()) == 0 {
				continue
			}
			var fig shards.Figure
			if err := json.Unmarshal(sc.Bytes(), &fig); err != nil {
				yield(FigureInput{}, fmt.Errorf("%s line %d: %w", f.Name(), line, err))
				return
			}
			in := FigureInput{Figure: fig}
			img, format, err := readFigureImage(dir, fig)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				in.ImageError = err.Error()
			default:
				in.Image, in.ImageFormat = img, format
			}
			if !yield(in, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(FigureInput{}, fmt.Errorf("%s: %w", f.Name(), err))
		}
	}
}

// CountExtractDir counts the figures of an extract directory (for progress).
func CountExtractDir(dir string) (int, error) {
	f, err := os.Open(filepath.Join(dir, "figures.jsonl"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			n++
		}
	}
	return n, sc.Err()
}

// MaxImageBytes bounds one figure image read from an extract directory.
const MaxImageBytes = 256 << 20

// readFigureImage reads images/<id>.<ext> of an extract directory, never through a symlink
// leading out of dir, and checks it against the record (see ExtractDir). The error names the
// file.
func readFigureImage(dir string, fig shards.Figure) ([]byte, string, error) {
	if fig.ID == "" || filepath.Base(fig.ID) != fig.ID || fig.ID == ".." {
		return nil, "", fmt.Errorf("bad figure id %q", fig.ID)
	}
	for _, e := range []struct{ ext, format string }{{"png", "png"}, {"jpg", "jpeg"}, {"jpeg", "jpeg"}, {"webp", "webp"}} {
		rel := "images/" + fig.ID + "." + e.ext
		b, err := safefile.ReadFile(dir, rel, MaxImageBytes)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		// The record's sha256 is that of the file `eosin extract` wrote (images/<id>.png).
		sha := ""
		if e.format == "png" {
			sha = fig.Image.SHA256
		}
		if err := safefile.CheckImage(filepath.Join(dir, filepath.FromSlash(rel)), b, e.format, sha); err != nil {
			return nil, "", err
		}
		return b, e.format, nil
	}
	return nil, "", fs.ErrNotExist
}
