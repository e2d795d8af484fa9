package shards

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"
	"sync/atomic"
)

// hashWriter copies bytes to dst while computing their sha256 (and optionally md5). Writing
// and each hash run in their own goroutine on 1 MiB chunks, so the three proceed in parallel
// with the encoder that feeds them.
type hashWriter struct {
	dst       io.Writer
	cur       *chunk
	free      chan *chunk
	allocated int
	outs      []chan *chunk
	wg        sync.WaitGroup
	n         int64
	sha, md   hash.Hash
	err       atomic.Pointer[error]
	closed    bool
}

type chunk struct {
	b    []byte
	refs atomic.Int32
}

const (
	chunkSize = 1 << 20
	maxChunks = 8
)

func newHashWriter(dst io.Writer, withMD5 bool) *hashWriter {
	h := &hashWriter{dst: dst, free: make(chan *chunk, maxChunks), sha: sha256.New()}
	consumers := []func(*chunk){
		func(c *chunk) {
			if h.err.Load() != nil {
				return
			}
			if _, err := h.dst.Write(c.b); err != nil {
				h.err.CompareAndSwap(nil, &err)
			}
		},
		func(c *chunk) { h.sha.Write(c.b) },
	}
	if withMD5 {
		h.md = md5.New()
		consumers = append(consumers, func(c *chunk) { h.md.Write(c.b) })
	}
	for _, f := range consumers {
		ch := make(chan *chunk, maxChunks)
		h.outs = append(h.outs, ch)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for c := range ch {
				f(c)
				if c.refs.Add(-1) == 0 {
					c.b = c.b[:0]
					h.free <- c
				}
			}
		}()
	}
	return h
}

func (h *hashWriter) getChunk() *chunk {
	select {
	case c := <-h.free:
		return c
	default:
	}
	if h.allocated < maxChunks {
		h.allocated++
		return &chunk{b: make([]byte, 0, chunkSize)}
	}
	return <-h.free
}

func (h *hashWriter) dispatch() {
	c := h.cur
	h.cur = nil
	if c == nil || len(c.b) == 0 {
		if c != nil {
			h.free <- c
		}
		return
	}
	c.refs.Store(int32(len(h.outs)))
	for _, ch := range h.outs {
		ch <- c
	}
}

// Write buffers p; it reports an earlier failure of the destination.
func (h *hashWriter) Write(p []byte) (int, error) {
	if e := h.err.Load(); e != nil {
		return 0, *e
	}
	n := len(p)
	for len(p) > 0 {
		if h.cur == nil {
			h.cur = h.getChunk()
		}
		k := copy(h.cur.b[len(h.cur.b):cap(h.cur.b)], p)
		h.cur.b = h.cur.b[:len(h.cur.b)+k]
		p = p[k:]
		if len(h.cur.b) == cap(h.cur.b) {
			h.dispatch()
		}
	}
	h.n += int64(n)
	return n, nil
}

// Close flushes and waits for the consumers; it returns the destination's first error.
func (h *hashWriter) Close() error {
	if !h.closed {
		h.closed = true
		h.dispatch()
		for _, ch := range h.outs {
			close(ch)
		}
		h.wg.Wait()
	}
	if e := h.err.Load(); e != nil {
		return *e
	}
	return nil
}

// Size is the number of bytes written.
func (h *hashWriter) Size() int64 { return h.n }

// SHA256 is the hex sha256 (after Close).
func (h *hashWriter) SHA256() string { return hex.EncodeToString(h.sha.Sum(nil)) }

// MD5 is the hex md5 (after Close), or "" if not computed.
func (h *hashWriter) MD5() string {
	if h.md == nil {
		return ""
	}
	return hex.EncodeToString(h.md.Sum(nil))
}
