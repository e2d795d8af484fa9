package shards

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	"github.com/eosinlab/eosin/shards/storage"
)

// hashWriter copies bytes to dst while computing their sha256 (and optionally md5). Bytes are
// gathered into blocks; writing and each hash run in their own goroutine, so the three proceed
// in parallel with the encoder that feeds them. The hashes take each block in 1 MiB pieces as
// it fills (while the bytes are still in the CPU cache); dst takes whole blocks. When dst is a
// storage.BlockWriter (S3), blocks are dst's block size (one multipart part) and are handed
// over without a copy: the part is uploaded straight from the block the hashes read.
type hashWriter struct {
	dst    io.Writer
	block  storage.BlockWriter // dst, when it takes blocks over
	size   int                 // block size
	pool   *storage.BufferPool
	tokens chan struct{} // one per block in use: bounds the memory
	cur    *chunk
	sent   int // bytes of cur already given to the hashes
	toDst  chan *chunk
	toHash []chan piece
	wg     sync.WaitGroup
	n      int64
	sha    hash.Hash
	md     hash.Hash
	err    atomic.Pointer[error]
	closed bool
}

// chunk is a block shared (read-only once written) by the consumers; the last one to let go
// returns it to the pool.
type chunk struct {
	b    []byte
	refs atomic.Int32
}

// piece is a part of a block for the hashes.
type piece struct {
	c *chunk
	b []byte
}

const (
	chunkSize = 1 << 20 // block size for writers that copy (local files), and hash piece size
	maxChunks = 8       // blocks in use at once for such writers
)

// newHashWriter is newHashWriterPool without a pool: every block is a new allocation.
func newHashWriter(dst io.Writer, withMD5 bool) *hashWriter {
	return newHashWriterPool(dst, withMD5, nil)
}

// newHashWriterPool returns a hashWriter whose blocks come from (and go back to) pool; a nil
// pool allocates.
func newHashWriterPool(dst io.Writer, withMD5 bool, pool *storage.BufferPool) *hashWriter {
	h := &hashWriter{dst: dst, size: chunkSize, pool: pool, sha: sha256.New()}
	blocks := maxChunks
	if bw, ok := dst.(storage.BlockWriter); ok {
		size, inflight := bw.BlockSize()
		if size > 0 {
			// blocks in flight in dst, one waiting for dst, one being filled
			h.block, h.size, blocks = bw, size, max(inflight, 1)+2
		}
	}
	h.tokens = make(chan struct{}, blocks)
	h.toDst = make(chan *chunk, blocks)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for c := range h.toDst {
			h.write(c)
		}
	}()
	sums := []hash.Hash{h.sha}
	if withMD5 {
		h.md = md5.New()
		sums = append(sums, h.md)
	}
	pieces := blocks * max(h.size/chunkSize, 1)
	for _, sum := range sums {
		ch := make(chan piece, pieces)
		h.toHash = append(h.toHash, ch)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for p := range ch {
				sum.Write(p.b)
				h.unref(p.c)
			}
		}()
	}
	return h
}

// write passes a full block on to the destination (which releases it when done with it).
func (h *hashWriter) write(c *chunk) {
	if h.err.Load() != nil {
		h.unref(c)
		return
	}
	var err error
	if h.block != nil {
		err = h.block.WriteBlock(c.b, func() { h.unref(c) })
	} else {
		_, err = h.dst.Write(c.b)
		h.unref(c)
	}
	if err != nil {
		h.err.CompareAndSwap(nil, &err)
	}
}

// unref lets go of a block; the last holder returns its buffer.
func (h *hashWriter) unref(c *chunk) {
	if c.refs.Add(-1) == 0 {
		h.pool.Put(c.b)
		c.b = nil
		<-h.tokens
	}
}

// newChunk takes a block; the producer holds one reference until it hands the block on.
func (h *hashWriter) newChunk() *chunk {
	h.tokens <- struct{}{} // waits while every block is in use
	c := &chunk{b: h.pool.Get(h.size)}
	c.refs.Store(1)
	h.sent = 0
	return c
}

// hashPending gives the hashes the bytes of the current block they have not seen.
func (h *hashWriter) hashPending() {
	c := h.cur
	if len(c.b) == h.sent {
		return
	}
	p := piece{c: c, b: c.b[h.sent:len(c.b):len(c.b)]}
	h.sent = len(c.b)
	c.refs.Add(int32(len(h.toHash)))
	for _, ch := range h.toHash {
		ch <- p
	}
}

// dispatch hands the current block (whatever it holds) to the hashes and the destination.
func (h *hashWriter) dispatch() {
	c := h.cur
	h.cur = nil
	if c == nil {
		return
	}
	if len(c.b) == 0 {
		h.unref(c)
		return
	}
	h.cur = c
	h.hashPending()
	h.cur = nil
	h.toDst <- c // the producer's reference goes to the destination
}

// Write buffers p; it reports an earlier failure of the destination.
func (h *hashWriter) Write(p []byte) (int, error) {
	if e := h.err.Load(); e != nil {
		return 0, *e
	}
	n := len(p)
	for len(p) > 0 {
		if h.cur == nil {
			h.cur = h.newChunk()
		}
		c := h.cur
		k := copy(c.b[len(c.b):cap(c.b)], p)
		c.b = c.b[:len(c.b)+k]
		p = p[k:]
		switch {
		case len(c.b) == cap(c.b):
			h.dispatch()
		case len(c.b)-h.sent >= chunkSize:
			h.hashPending()
		}
	}
	h.n += int64(n)
	return n, nil
}

// Close flushes and waits for the consumers; it returns the destination's first error. Blocks
// handed to a BlockWriter may still be in its hands (uploading) until its Commit returns.
func (h *hashWriter) Close() error {
	if !h.closed {
		h.closed = true
		h.dispatch()
		close(h.toDst)
		for _, ch := range h.toHash {
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
