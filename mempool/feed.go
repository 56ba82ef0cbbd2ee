package mempool

import (
	"sync"

	"github.com/wnode/wnode/types"
)

type subscription struct {
	ch chan *types.Tx
}

// Subscribe returns a channel that receives every tx the pool accepts from now on,
// replacements included, in the order they were accepted, and a function that ends the
// subscription and closes the channel (safe to call more than once). The pool never
// waits for a subscriber: when the channel's buffer is full the tx is skipped for that
// subscriber and counted in FeedDropped. Size buffer for the expected burst; gossip is
// best effort and peers also learn txs from blocks.
func (p *Pool) Subscribe(buffer int) (<-chan *types.Tx, func()) {
	s := &subscription{ch: make(chan *types.Tx, max(buffer, 0))}
	p.mu.Lock()
	p.subs[s] = struct{}{}
	p.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			p.mu.Lock()
			delete(p.subs, s)
			close(s.ch)
			p.mu.Unlock()
		})
	}
}

// FeedDropped is the number of txs skipped so far because a subscriber's buffer was full.
func (p *Pool) FeedDropped() uint64 { return p.dropped.Load() }

// publish sends tx to every subscriber without blocking. Called with p.mu held, so the
// order of the feed is the order of acceptance and no channel is closed meanwhile.
func (p *Pool) publish(tx *types.Tx) {
	for s := range p.subs {
		select {
		case s.ch <- tx:
		default:
			p.dropped.Add(1)
		}
	}
}
