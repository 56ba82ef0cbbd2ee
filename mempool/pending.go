package mempool

import (
	"container/heap"

	"github.com/wnode/wnode/types"
)

// Pending returns executable txs for a block: for each account a run of consecutive nonces
// starting at its account nonce, interleaved across accounts by gas price (highest first),
// then arrival (earliest first), so the result is a deterministic function of the pool's
// history. The sum of gas limits stays within maxGas, the sum of encoded sizes within
// maxBytes and the count within maxTxs; a limit of zero (or below) means none. A tx that
// does not fit ends its account's run but not the selection: smaller txs of other accounts
// may still fill the block. The txs stay in the pool until Update. Cost: O(n log a) for n
// selected txs from a accounts, under the read lock.
func (p *Pool) Pending(maxGas uint64, maxBytes int, maxTxs int) []*types.Tx {
	p.mu.RLock()
	defer p.mu.RUnlock()
	n := p.pending
	if maxTxs > 0 {
		n = min(n, maxTxs)
	}
	out := make([]*types.Tx, 0, n)
	if n == 0 {
		return out
	}
	h := make(headHeap, 0, len(p.accounts))
	for _, a := range p.accounts {
		if a.pending > 0 {
			h = append(h, head{a: a})
		}
	}
	heap.Init(&h)
	var gasUsed uint64
	var bytes int
	for len(h) > 0 && len(out) < n {
		c := &h[0]
		e := c.a.txs[c.i]
		if (maxGas > 0 && e.tx.GasLimit > maxGas-gasUsed) || (maxBytes > 0 && e.size > maxBytes-bytes) {
			heap.Pop(&h)
			continue
		}
		out = append(out, e.tx)
		gasUsed += e.tx.GasLimit
		bytes += e.size
		c.i++
		if c.i == c.a.pending {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return out
}

// head is the next tx of one account's pending run during a selection.
type head struct {
	a *account
	i int
}

func (c head) tx() *entry { return c.a.txs[c.i] }

// headHeap orders heads by gas price, highest first, then arrival, earliest first.
type headHeap []head

func (h headHeap) Len() int { return len(h) }
func (h headHeap) Less(i, j int) bool {
	a, b := h[i].tx(), h[j].tx()
	if c := a.price.Cmp(b.price); c != 0 {
		return c > 0
	}
	return a.seq < b.seq
}
func (h headHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *headHeap) Push(x any)   { *h = append(*h, x.(head)) }
func (h *headHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
