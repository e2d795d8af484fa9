package trainer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/eosinlab/eosin/shards"
	"github.com/eosinlab/eosin/shards/storage"
)

// Task is one RL problem: what the prompt shows and what the reward checks.
type Task struct {
	ID      string
	Kind    string // mcq | vqa | …
	Problem string
	Options []string
	Answer  string
	// Images are the sample's images (shards.Sample images): Path as in the record (resolved
	// against the JSONL file's directory by LoadJSONLFile), Bytes when already loaded.
	Images []TaskImage
}

// TaskImage is one image of a task.
type TaskImage struct {
	Path  string
	Bytes []byte
}

// FillTemplate replaces {problem} and {options} ("\nA. …\nB. …" or "") in a template.
func FillTemplate(tmpl string, t Task) string {
	var opts strings.Builder
	for i, o := range t.Options {
		fmt.Fprintf(&opts, "\n%c. %s", 'A'+i, o)
	}
	r := strings.NewReplacer("{problem}", t.Problem, "{options}", opts.String())
	return r.Replace(tmpl)
}

// sampleRecord holds the fields of a shards.Sample record the trainer reads (same JSON
// names), so that the trainer does not depend on the shard writers.
type sampleRecord struct {
	ID      string   `json:"id"`
	Task    string   `json:"task"`
	Problem string   `json:"problem"`
	Options []string `json:"options"`
	Answer  string   `json:"answer"`
	Images  []struct {
		Path string `json:"path"`
	} `json:"images"`
}

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ReadSamplesJSONL reads shards.Sample records, one JSON object per line (zstd-compressed
// when the data starts with the zstd magic).
func ReadSamplesJSONL(r io.Reader) ([]Task, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(4); bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("samples: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var out []Task
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var s sampleRecord
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("samples line %d: %w", line, err)
		}
		if s.Problem == "" || s.Answer == "" {
			return nil, fmt.Errorf("samples line %d (id %q): problem and answer are required", line, s.ID)
		}
		task := Task{ID: s.ID, Kind: s.Task, Problem: s.Problem, Options: s.Options, Answer: s.Answer}
		for _, im := range s.Images {
			task.Images = append(task.Images, TaskImage{Path: im.Path})
		}
		out = append(out, task)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("samples line %d: %w", line+1, err)
	}
	return out, nil
}

// LoadJSONLFile reads a JSONL file of shards.Sample records.
func LoadJSONLFile(path string) ([]Task, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	defer f.Close()
	ts, err := ReadSamplesJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for i := range ts {
		for j := range ts[i].Images {
			if p := ts[i].Images[j].Path; p != "" && !filepath.IsAbs(p) {
				ts[i].Images[j].Path = filepath.Join(dir, p)
			}
		}
	}
	return ts, nil
}

// LatestVersion returns the newest committed version under a dataset prefix: the one LATEST
// names, provided its manifest exists ("" when there is none yet).
func LatestVersion(ctx context.Context, st storage.Store) (string, error) {
	b, err := storage.ReadAll(ctx, st, shards.LatestName)
	if err != nil {
		if errors.Is(err, storage.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("dataset %s: %w", st, err)
	}
	v := strings.TrimSpace(string(b))
	if !versionRE.MatchString(v) || v == shards.LatestName {
		return "", fmt.Errorf("dataset %s: LATEST names an invalid version %q", st, v)
	}
	if _, err := st.Stat(ctx, storage.Join(v, shards.ManifestName)); err != nil {
		return "", nil // not committed yet
	}
	return v, nil
}

// LoadVersion reads the sample records of one committed dataset version through the shards
// reader, in whichever format the version holds (WebDataset, MDS, Parquet or JSONL), with the
// samples' image bytes when the format carries them. A version without records has no tasks.
func LoadVersion(ctx context.Context, st storage.Store, version string) ([]Task, error) {
	ds, err := shards.OpenIn(ctx, st, version, shards.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("dataset %s version %s: %w", st, version, err)
	}
	defer ds.Close()
	if ds.Manifest().Totals.Records == 0 {
		return nil, nil // an empty version has no kind of records
	}
	if k := ds.Manifest().Kind; k != shards.KindSample {
		return nil, fmt.Errorf("dataset %s version %s holds %q records, not samples", st, version, k)
	}
	var out []Task
	for rec, err := range ds.Records(ctx) {
		if err != nil {
			return nil, fmt.Errorf("dataset %s version %s: %w", st, version, err)
		}
		s := rec.Sample
		if s == nil {
			continue
		}
		if s.Problem == "" || s.Answer == "" {
			return nil, fmt.Errorf("dataset %s version %s sample %q: problem and answer are required", st, version, s.ID)
		}
		task := Task{ID: s.ID, Kind: s.Task, Problem: s.Problem, Options: s.Options, Answer: s.Answer}
		for _, im := range s.Images {
			task.Images = append(task.Images, TaskImage{Path: im.Path, Bytes: im.Bytes})
		}
		out = append(out, task)
	}
	return out, nil
}

// Source yields tasks in a seeded shuffled order, epoch after epoch. Its position is part of
// a checkpoint, so a resumed run sees the same tasks.
type Source struct {
	Tasks []Task
	Seed  uint64
	// Pos counts the tasks handed out so far.
	Pos  int
	perm []int
	ep   int
}

// Next returns the next task.
func (s *Source) Next() (Task, error) {
	if len(s.Tasks) == 0 {
		return Task{}, fmt.Errorf("data: no tasks")
	}
	ep := s.Pos / len(s.Tasks)
	if s.perm == nil || ep != s.ep {
		s.perm = rand.New(rand.NewPCG(s.Seed, uint64(ep))).Perm(len(s.Tasks))
		s.ep = ep
	}
	t := s.Tasks[s.perm[s.Pos%len(s.Tasks)]]
	s.Pos++
	return t, nil
}
