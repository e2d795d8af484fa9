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

	"github.com/eosinlab/eosin/shards"
)

// ExtractDir reads the output of `eosin extract`: DIR/figures.jsonl (one shards.Figure per
// line) and DIR/images/<id>.<ext>. A figure whose image file is missing comes with no image
// bytes (the pipeline rejects it as no_image).
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
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				yield(FigureInput{}, fmt.Errorf("figure %s: %w", fig.ID, err))
				return
			}
			in.Image, in.ImageFormat = img, format
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

func readFigureImage(dir string, fig shards.Figure) ([]byte, string, error) {
	if fig.ID == "" || filepath.Base(fig.ID) != fig.ID {
		return nil, "", fmt.Errorf("bad figure id %q", fig.ID)
	}
	for _, e := range []struct{ ext, format string }{{"png", "png"}, {"jpg", "jpeg"}, {"jpeg", "jpeg"}, {"webp", "webp"}} {
		b, err := os.ReadFile(filepath.Join(dir, "images", fig.ID+"."+e.ext))
		if err == nil {
			return b, e.format, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
	}
	return nil, "", fs.ErrNotExist
}
