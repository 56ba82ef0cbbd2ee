package mempool

import (
	"slices"
	"sort"

	"github.com/wnode/wnode/types"
)

// Update brings the pool to the state after a block: st (not nil) is the new latest state
// and committed the block's txs. It drops the committed txs and every tx whose nonce the
// state has passed, rereads the nonce and balance of every account with txs in the pool,
// drops the highest nonces of an account whose balance no longer covers all its txs,
// drops txs that waited behind a gap for QueuedTTL blocks, and promotes txs whose gap
// is now filled. Nothing is sent to subscribers. Cost: one AccountState read per account
// in the pool plus time linear in the pool's size, under the write lock.
func (p *Pool) Update(st AccountState, committed []*types.Tx) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = st
	p.height++
	p.committed.add(committed)
	for _, a := range p.accounts {
		p.resync(a)
	}
	defer p.trimQueued()
	// Committed txs normally fell below their account's new nonce just now. One still here
	// means st lags behind the block; removing it keeps it out of the next block anyway.
	for _, tx := range committed {
		if e := p.all[tx.Hash()]; e != nil {
			a := p.accounts[e.sender]
			p.remove(a, e)
			p.place(a)
		}
	}
}

// remove takes e out of a wherever it is; the txs after it become queued. The caller
// places a afterwards.
func (p *Pool) remove(a *account, e *entry) {
	i, _ := a.find(e.nonce)
	a.txs = slices.Delete(a.txs, i, i+1)
	if i < a.pending {
		p.pending -= a.pending - i
		a.pending = i
	}
	p.forget(a, e)
}

// resync rereads a's nonce and balance from p.state and drops what they rule out.
func (p *Pool) resync(a *account) {
	oldPending := a.pending
	nonce, bal := p.state.Account(a.addr)
	a.nonce = nonce
	a.balance.Set(u256(bal))

	stale := sort.Search(len(a.txs), func(i int) bool { return a.txs[i].nonce >= a.nonce })
	for _, e := range a.txs[:stale] {
		p.forget(a, e)
	}
	a.txs = slices.Delete(a.txs, 0, stale)
	a.pending = a.countPending(0)

	if p.height >= p.cfg.QueuedTTL {
		expired := p.height - p.cfg.QueuedTTL
		a.txs = slices.DeleteFunc(a.txs, func(e *entry) bool {
			if e.nonce >= a.nonce+uint64(a.pending) && e.height <= expired {
				p.forget(a, e)
				return true
			}
			return false
		})
	}
	for a.cost.Gt(&a.balance) {
		p.dropTail(a)
	}
	p.pending += a.pending - oldPending
	p.place(a)
}

// maxCommitted bounds each generation of committedSet: two generations hold the txs of the
// last seconds of blocks even at full load (2,000-tx blocks a few times per second).
const maxCommitted = 16_384

// committedSet holds the hashes of the txs of recent blocks, two generations of at least
// maxCommitted each, for Committed.
type committedSet struct {
	cur, old map[types.Hash]struct{}
}

func (c *committedSet) add(txs []*types.Tx) {
	if c.cur == nil || len(c.cur) >= maxCommitted {
		c.old, c.cur = c.cur, make(map[types.Hash]struct{}, maxCommitted)
	}
	for _, tx := range txs {
		c.cur[tx.Hash()] = struct{}{}
	}
}

func (c *committedSet) has(h types.Hash) bool {
	_, ok := c.cur[h]
	if !ok {
		_, ok = c.old[h]
	}
	return ok
}

// Committed reports whether a tx with hash h was in one of the recent blocks given to
// Update: gossip that arrives after its block is known, without a signature check or a
// database read (CometBFT's mempool cache keeps committed txs for the same reason).
func (p *Pool) Committed(h types.Hash) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.committed.has(h)
}
