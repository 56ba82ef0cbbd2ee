//go:build !js

package chain

import (
	"github.com/wnode/wnode/types"
)

// BlockEvent announces a committed block with its receipts.
type BlockEvent struct {
	Block    *types.Block
	Hash     types.Hash
	Commit   *types.Commit
	Receipts []*types.Receipt
}

type subscription struct {
	ch chan<- *BlockEvent
}

// Subscribe sends every block committed from now on to ch, in order. Sends never block
// the chain: when ch is full the event is dropped for that subscriber, so give ch a
// buffer and drain it (a subscriber that sees a height gap can read the missed blocks
// with BlockByNumber). The returned function unsubscribes; after it returns no more
// events are sent. Events and their contents are shared: do not modify them.
func (c *Chain) Subscribe(ch chan<- *BlockEvent) (unsubscribe func()) {
	s := &subscription{ch: ch}
	c.subMu.Lock()
	c.subs[s] = struct{}{}
	c.subMu.Unlock()
	return func() {
		c.subMu.Lock()
		delete(c.subs, s)
		c.subMu.Unlock()
	}
}

func (c *Chain) notify(ev *BlockEvent) {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	for s := range c.subs {
		select {
		case s.ch <- ev:
		default:
			c.log.Warn("subscriber too slow, block event dropped", "height", ev.Block.Height())
		}
	}
}
