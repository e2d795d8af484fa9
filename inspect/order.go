package inspect

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
)

// The report shows figures in a fixed order, whatever order the inputs hold them in (a
// dataset's shards are ordered by hash): document by document, page by page, and on a page
// from top to bottom, then left to right. Documents are ordered by URI, then sha256; documents
// known by sha256 only come last. Figures are read once into a spill file, ordered by a small
// key per figure, then written into the report's data files in that order.

// docLess orders documents: by URI (documents without one last), then by sha256.
func docLess(a, b *docStat) bool {
	if (a.URI == "") != (b.URI == "") {
		return a.URI != ""
	}
	if a.URI != b.URI {
		return a.URI < b.URI
	}
	return a.SHA < b.SHA
}

// docID is the stable identifier of a document in links and filters: its sha256, else its
// URI, else "unknown".
func docID(d *docStat) string {
	switch {
	case d.SHA != "":
		return d.SHA
	case d.URI != "":
		return d.URI
	}
	return "unknown"
}

// orderKey is what the report orders a figure (or a reject) by.
type orderKey struct {
	doc  int // document index (after ordering the documents)
	page int
	y, x float64 // top-left corner of the figure box, PDF points from the top-left
	read int     // position in the inputs: the last tie-break
}

func (a orderKey) less(b orderKey) bool {
	switch {
	case a.doc != b.doc:
		return a.doc < b.doc
	case a.page != b.page:
		return a.page < b.page
	case a.y != b.y:
		return a.y < b.y
	case a.x != b.x:
		return a.x < b.x
	}
	return a.read < b.read
}

// sortByKey returns the read positions of records in report order.
func sortByKey(keys []orderKey) []int {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return keys[order[i]].less(keys[order[j]]) })
	return order
}

// linkKeys returns the key each figure (given by id, in report order) is linked by in
// #figure/<key>: its id, unless the id is empty ("@" and its position) or an earlier figure
// already uses it (the id with "~2", "~3", … appended). Ids are unique in an extraction and
// in a dataset, so links are the ids there and stay the same from one report to the next.
func linkKeys(ids []string) []string {
	k := newKeyer(len(ids))
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = k.key(id, i)
	}
	return out
}

// keyer hands out link keys figure by figure, in report order (see linkKeys).
type keyer struct{ used map[string]bool }

func newKeyer(n int) *keyer { return &keyer{used: make(map[string]bool, n)} }

// key returns the link key of the figure with this id at position pos.
func (k *keyer) key(id string, pos int) string {
	base := id
	if base == "" {
		base = "@" + strconv.Itoa(pos)
	}
	key := base
	for n := 2; k.used[key]; n++ {
		key = base + "~" + strconv.Itoa(n)
	}
	k.used[key] = true
	return key
}

// spill holds records on disk between reading the inputs and writing the report in order,
// so that memory does not grow with the corpus: one JSON value per record, read back by
// offset.
type spill struct {
	f   *os.File
	w   *bufio.Writer
	off int64
	buf []byte
}

// spillRef locates one record in a spill file.
type spillRef struct {
	off int64
	n   int32
}

func newSpill(dir, name string) (*spill, error) {
	f, err := os.CreateTemp(dir, ".spill-"+name+"-*")
	if err != nil {
		return nil, fmt.Errorf("spill file: %w", err)
	}
	return &spill{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// add appends v and returns where it lies.
func (s *spill) add(v any) (spillRef, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return spillRef{}, fmt.Errorf("spill %s: %w", s.f.Name(), err)
	}
	if _, err := s.w.Write(b); err != nil {
		return spillRef{}, fmt.Errorf("spill %s: %w", s.f.Name(), err)
	}
	r := spillRef{off: s.off, n: int32(len(b))}
	s.off += int64(len(b))
	return r, nil
}

// get decodes the record at r into v (after the last add: the buffer is flushed first).
func (s *spill) get(r spillRef, v any) error {
	if s.w.Buffered() > 0 {
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("spill %s: %w", s.f.Name(), err)
		}
	}
	if cap(s.buf) < int(r.n) {
		s.buf = make([]byte, r.n)
	}
	b := s.buf[:r.n]
	if _, err := s.f.ReadAt(b, r.off); err != nil {
		return fmt.Errorf("spill %s: %w", s.f.Name(), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("spill %s: %w", s.f.Name(), err)
	}
	return nil
}

// close removes the spill file.
func (s *spill) close() {
	if s == nil || s.f == nil {
		return
	}
	s.f.Close()
	os.Remove(s.f.Name())
	s.f = nil
}
