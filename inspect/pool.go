package inspect

import (
	"context"
	"sync"
)

// pool runs functions on a bounded number of goroutines and keeps the first error.
type pool struct {
	sem chan struct{}
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

func newPool(n int) *pool { return &pool{sem: make(chan struct{}, max(n, 1))} }

// do runs fn on the pool, waiting for a free slot; it returns an earlier failure, if any.
func (p *pool) do(ctx context.Context, fn func() error) error {
	if err := p.failed(); err != nil {
		return err
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.wg.Add(1)
	go func() {
		defer func() { <-p.sem; p.wg.Done() }()
		if err := fn(); err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
		}
	}()
	return nil
}

func (p *pool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// close waits for the running functions and returns the first error.
func (p *pool) close() error {
	p.wg.Wait()
	return p.failed()
}
