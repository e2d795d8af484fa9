package shards

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/eosinlab/eosin/shards/storage"
)

// memBlocks is an in-memory storage.BlockWriter that holds each block for a while (like an
// upload in flight) before copying it out and releasing it.
type memBlocks struct {
	size, inflight int
	mu             sync.Mutex
	out            bytes.Buffer
	held           int // blocks held now
	maxHeld        int
	pending        []func()
	released       atomic.Int32
	taken          int32
	failAfter      int // fail WriteBlock after this many blocks (0: never)
}

func (m *memBlocks) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.Write(p)
}
func (m *memBlocks) Commit(context.Context) error { m.flush(); return nil }
func (m *memBlocks) Abort() error                 { m.flush(); return nil }
func (m *memBlocks) BlockSize() (int, int)        { return m.size, m.inflight }

func (m *memBlocks) WriteBlock(b []byte, release func()) error {
	m.taken++
	if m.failAfter > 0 && int(m.taken) > m.failAfter {
		m.released.Add(1)
		release()
		return errors.New("upload failed")
	}
	m.mu.Lock()
	m.out.Write(b)
	m.held++
	m.maxHeld = max(m.maxHeld, m.held)
	m.pending = append(m.pending, func() { m.released.Add(1); release() })
	flush := m.held >= m.inflight
	m.mu.Unlock()
	if flush { // the oldest "upload" finishes
		m.mu.Lock()
		f := m.pending[0]
		m.pending = m.pending[1:]
		m.held--
		m.mu.Unlock()
		f()
	}
	return nil
}

func (m *memBlocks) flush() {
	m.mu.Lock()
	fs := m.pending
	m.pending, m.held = nil, 0
	m.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// TestHashWriter checks the bytes, sizes, md5 and sha256 the hashWriter passes on, for plain
// writers and block writers, with writes of random sizes (small tar headers to whole images)
// and a buffer pool shared by consecutive shards.
func TestHashWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 23<<20+517)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	pool := storage.NewBufferPool(4)
	for _, c := range []struct {
		name string
		n    int
		dst  func() io.Writer
	}{
		{"plain", len(data), func() io.Writer { return &bytes.Buffer{} }},
		{"plain-empty", 0, func() io.Writer { return &bytes.Buffer{} }},
		{"blocks", len(data), func() io.Writer { return &memBlocks{size: 5 << 20, inflight: 3} }},
		{"blocks-exact", 10 << 20, func() io.Writer { return &memBlocks{size: 5 << 20, inflight: 2} }},
		{"blocks-small", 1000, func() io.Writer { return &memBlocks{size: 5 << 20, inflight: 4} }},
		{"blocks-again", len(data), func() io.Writer { return &memBlocks{size: 5 << 20, inflight: 3} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := c.dst()
			h := newHashWriterPool(dst, true, pool)
			in := data[:c.n]
			for p := in; len(p) > 0; {
				k := min(len(p), []int{1, 512, 3000, 300 << 10, 2 << 20}[rng.IntN(5)])
				if n, err := h.Write(p[:k]); n != k || err != nil {
					t.Fatalf("write: %d %v", n, err)
				}
				p = p[k:]
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			var got []byte
			switch d := dst.(type) {
			case *bytes.Buffer:
				got = d.Bytes()
			case *memBlocks:
				d.Commit(context.Background())
				got = d.out.Bytes()
				if d.released.Load() != d.taken {
					t.Fatalf("%d blocks taken, %d released", d.taken, d.released.Load())
				}
				if want := (c.n + d.size - 1) / d.size; int(d.taken) != want {
					t.Fatalf("%d blocks for %d bytes, want %d", d.taken, c.n, want)
				}
			}
			sh, md := sha256.Sum256(in), md5.Sum(in)
			if !bytes.Equal(got, in) || h.Size() != int64(c.n) || h.SHA256() != hex.EncodeToString(sh[:]) || h.MD5() != hex.EncodeToString(md[:]) {
				t.Fatalf("got %d bytes (size %d), sha %s md5 %s", len(got), h.Size(), h.SHA256(), h.MD5())
			}
		})
	}
}

// TestHashWriterBlockFailure: a failing destination is reported by Write or Close, and every
// block is still released.
func TestHashWriterBlockFailure(t *testing.T) {
	d := &memBlocks{size: 5 << 20, inflight: 2, failAfter: 2}
	h := newHashWriter(d, false)
	chunk := make([]byte, 1<<20)
	var werr error
	for i := 0; i < 40 && werr == nil; i++ {
		_, werr = h.Write(chunk)
	}
	cerr := h.Close()
	d.flush()
	if werr == nil && cerr == nil {
		t.Fatal("failure not reported")
	}
	if d.released.Load() != d.taken {
		t.Fatalf("%d blocks taken, %d released", d.taken, d.released.Load())
	}
	if len(h.tokens) != 0 {
		t.Fatalf("%d blocks never returned", len(h.tokens))
	}
	t.Log(fmt.Sprint(werr, cerr))
}

// BenchmarkHashWriter: the CPU cost of the hash pipeline alone (md5 + sha256 + copies) per
// byte, into a block writer that discards.
func BenchmarkHashWriter(b *testing.B) {
	data := make([]byte, 300<<10)
	pool := storage.NewBufferPool(8)
	b.SetBytes(64 << 20)
	for b.Loop() {
		d := &memBlocks{size: 16 << 20, inflight: 4}
		h := newHashWriterPool(discardBlocks{d}, true, pool)
		for n := 0; n < 64<<20; n += len(data) {
			h.Write(data)
		}
		h.Close()
	}
}

// discardBlocks releases blocks at once without copying them.
type discardBlocks struct{ *memBlocks }

func (d discardBlocks) WriteBlock(b []byte, release func()) error { release(); return nil }
