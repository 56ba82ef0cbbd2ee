package mempool

import (
	"cmp"
	"slices"
	"time"

	"github.com/holiman/uint256"
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
			h = append(h, newHead(a, 0))
		}
	}
	h.init()
	var gasUsed uint64
	var bytes int
	for len(h) > 0 && len(out) < n {
		c := h[0]
		e := c.a.txs[c.i]
		if (maxGas > 0 && e.tx.GasLimit > maxGas-gasUsed) || (maxBytes > 0 && e.size > maxBytes-bytes) {
			h.popRoot()
			continue
		}
		out = append(out, e.tx)
		gasUsed += e.tx.GasLimit
		bytes += e.size
		if c.i+1 == c.a.pending {
			h.popRoot()
		} else {
			h[0] = newHead(c.a, c.i+1)
			h.down(0)
		}
	}
	return out
}

// Stale returns up to max executable txs that have been in the pool for at least age,
// oldest first: what a node gossips again in case their first gossip was lost (a peer's
// full validation queue drops messages). Cost: O(n) in the pending txs under the read
// lock, then an O(k log k) sort of the k old ones outside it.
func (p *Pool) Stale(age time.Duration, max int) []*types.Tx {
	p.mu.RLock()
	cutoff := p.cfg.Now().Add(-age)
	var old []*entry
	for _, a := range p.accounts {
		for _, e := range a.txs[:a.pending] {
			if !e.added.After(cutoff) {
				old = append(old, e)
			}
		}
	}
	p.mu.RUnlock()
	// An entry's fields never change once added; sorting needs no lock.
	slices.SortFunc(old, func(x, y *entry) int { return cmp.Compare(x.seq, y.seq) })
	out := make([]*types.Tx, 0, min(len(old), max))
	for _, e := range old[:min(len(old), max)] {
		out = append(out, e.tx)
	}
	return out
}

// head is the next tx of one account's pending run during a selection, with the fields
// the ordering reads copied in to spare pointer chasing.
type head struct {
	price *uint256.Int
	seq   uint64
	a     *account
	i     int
}

func newHead(a *account, i int) head {
	e := a.txs[i]
	return head{price: e.price, seq: e.seq, a: a, i: i}
}

// before orders heads by gas price, highest first, then arrival, earliest first.
func (x *head) before(y *head) bool {
	if c := x.price.Cmp(y.price); c != 0 {
		return c > 0
	}
	return x.seq < y.seq
}

// headHeap is a binary heap of heads under head.before. It is specialised (no
// container/heap) because Pending spends most of its time here.
type headHeap []head

func (h headHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h headHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].before(&h[l]) {
			m = r
		}
		if !h[m].before(&h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h *headHeap) popRoot() {
	old := *h
	last := len(old) - 1
	old[0] = old[last]
	old[last] = head{}
	*h = old[:last]
	h.down(0)
}
