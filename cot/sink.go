package cot

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eosinlab/eosin/shards"
)

// DirSink writes the datasets as JSON lines into a directory:
//
//	sft.jsonl      shards.Sample with messages (image paths relative to the directory)
//	rl.jsonl       shards.Sample with problem, options, answer
//	rejects.jsonl  shards.Reject, one per dropped sample or figure
//	images/<figure>.<ext>
//	summary.json   the run's Summary
//
// Files are written under temporary names and renamed on Close, so an interrupted run leaves
// no partial dataset behind.
type DirSink struct {
	dir              string
	sft, rl, rejects *jsonlFile
	images           map[string]bool
}

type jsonlFile struct {
	path string
	f    *os.File
	w    *bufio.Writer
	enc  *json.Encoder
}

func newJSONL(path string) (*jsonlFile, error) {
	f, err := os.Create(path + ".part")
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonlFile{path: path, f: f, w: w, enc: enc}, nil
}

func (j *jsonlFile) close(commit bool) error {
	err := j.w.Flush()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	if err == nil && commit {
		err = os.Rename(j.path+".part", j.path)
	}
	return err
}

// NewDirSink creates dir and the dataset files in it.
func NewDirSink(dir string) (*DirSink, error) {
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	s := &DirSink{dir: dir, images: map[string]bool{}}
	var err error
	for _, x := range []struct {
		dst  **jsonlFile
		name string
	}{{&s.sft, "sft.jsonl"}, {&s.rl, "rl.jsonl"}, {&s.rejects, "rejects.jsonl"}} {
		if *x.dst, err = newJSONL(filepath.Join(dir, x.name)); err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
	}
	return s, nil
}

// Write implements Sink.
func (s *DirSink) Write(_ context.Context, out *Output) error {
	for _, set := range []struct {
		f  *jsonlFile
		xs []shards.Sample
	}{{s.sft, out.SFT}, {s.rl, out.RL}} {
		for _, smp := range set.xs {
			smp.Images = append([]shards.SampleImage(nil), smp.Images...)
			for i, im := range smp.Images {
				if im.Path == "" {
					im.Path = fmt.Sprintf("images/%s.%s", smp.FigureID, ext(im.Format))
					if len(smp.Images) > 1 {
						im.Path = fmt.Sprintf("images/%s.%d.%s", smp.FigureID, i, ext(im.Format))
					}
					smp.Images[i].Path = im.Path
				}
				if !s.images[im.Path] && len(im.Bytes) > 0 {
					if err := os.WriteFile(filepath.Join(s.dir, im.Path), im.Bytes, 0o644); err != nil {
						return fmt.Errorf("image %s: %w", im.Path, err)
					}
					s.images[im.Path] = true
				}
			}
			if err := set.f.enc.Encode(smp); err != nil {
				return fmt.Errorf("sample %s: %w", smp.ID, err)
			}
		}
	}
	for _, r := range out.Rejects {
		if err := s.rejects.enc.Encode(r); err != nil {
			return fmt.Errorf("reject %s: %w", r.ID, err)
		}
	}
	return nil
}

// Close implements Sink.
func (s *DirSink) Close(_ context.Context, sum *Summary) error {
	for _, f := range []*jsonlFile{s.sft, s.rl, s.rejects} {
		if err := f.close(true); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, "summary.json"), b, 0o644)
}

// Abort closes the files without committing them.
func (s *DirSink) Abort() {
	for _, f := range []*jsonlFile{s.sft, s.rl, s.rejects} {
		f.close(false)
		os.Remove(f.path + ".part")
	}
}
