package storage

import "sync"

// BufferPool keeps large write buffers (upload parts, shard blocks) for reuse, so that writing
// one object after another does not allocate and page-fault fresh multi-MiB buffers each time.
// A store holds one; writers of the store share it. A nil *BufferPool allocates and keeps
// nothing. It is safe for concurrent use.
type BufferPool struct {
	mu   sync.Mutex
	free map[int][][]byte // by capacity
	keep int              // buffers kept per capacity
}

// NewBufferPool returns a pool that keeps up to keep idle buffers of each capacity.
func NewBufferPool(keep int) *BufferPool {
	return &BufferPool{free: map[int][][]byte{}, keep: keep}
}

// Get returns an empty buffer of capacity size.
func (p *BufferPool) Get(size int) []byte {
	if p != nil {
		p.mu.Lock()
		l := p.free[size]
		if n := len(l); n > 0 {
			b := l[n-1]
			p.free[size] = l[:n-1]
			p.mu.Unlock()
			return b[:0]
		}
		p.mu.Unlock()
	}
	return make([]byte, 0, size)
}

// Put gives a buffer back; the caller must not use it afterwards. Buffers beyond the pool's
// keep count are left to the garbage collector.
func (p *BufferPool) Put(b []byte) {
	if p == nil || b == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.free[cap(b)]; len(l) < p.keep {
		p.free[cap(b)] = append(l, b[:0])
	}
}
