package mempool

import (
	"sort"
	"time"

	"github.com/holiman/uint256"
	"github.com/wnode/wnode/types"
)

// entry is a transaction in the pool with what the pool derived from it once.
type entry struct {
	tx     *types.Tx
	hash   types.Hash
	sender types.Address
	nonce  uint64
	price  *uint256.Int // gas price, never nil
	cost   uint256.Int  // value + gasLimit*gasPrice: the most the tx can take from the sender
	size   int          // encoded bytes
	seq    uint64       // arrival order in this pool, unique
	height uint64       // the pool's block count when the tx arrived
	added  time.Time    // when the tx arrived (monotonic), for Stale
}

// account holds one sender's transactions, sorted by nonce, all at or above nonce.
// txs[:pending] carry the nonces nonce, nonce+1, ...: they are executable in that order.
// The rest wait behind a gap ("queued"). cost is the sum of the txs' costs and never
// exceeds balance, so the whole sequence is affordable.
type account struct {
	addr    types.Address
	nonce   uint64
	balance uint256.Int
	txs     []*entry
	pending int
	cost    uint256.Int
	heapIdx int // position in the pool's eviction heap, -1 when not in it
	// key is the tail's eviction order, copied by Pool.place after every change so that
	// the heap compares accounts without reaching into their entries.
	key evictKey
}

// evictKey is what evictBefore compares of an account's tail.
type evictKey struct {
	price  *uint256.Int
	seq    uint64
	queued bool
}

// find returns the index where a tx with nonce belongs and the tx already there, if any.
func (a *account) find(nonce uint64) (int, *entry) {
	i := sort.Search(len(a.txs), func(i int) bool { return a.txs[i].nonce >= nonce })
	if i < len(a.txs) && a.txs[i].nonce == nonce {
		return i, a.txs[i]
	}
	return i, nil
}

// countPending returns the length of the run of consecutive nonces starting at a.nonce,
// given that txs[:from] are already known to be part of it.
func (a *account) countPending(from int) int {
	i := from
	for i < len(a.txs) && a.txs[i].nonce == a.nonce+uint64(i) {
		i++
	}
	return i
}

// tail is the highest-nonce transaction: the only one the pool may evict without opening a
// gap. It must not be called on an empty account.
func (a *account) tail() *entry { return a.txs[len(a.txs)-1] }

// tailQueued reports whether the tail waits behind a gap.
func (a *account) tailQueued() bool { return a.pending < len(a.txs) }

// evictBefore orders accounts by how willingly the pool evicts their tail: lowest gas
// price first, then a queued tail before a pending one, then the newest first.
// Accounts in the heap or in the pool's queued set have a current key (Pool.place).
func evictBefore(a, b *account) bool {
	ka, kb := &a.key, &b.key
	if c := ka.price.Cmp(kb.price); c != 0 {
		return c < 0
	}
	if ka.queued != kb.queued {
		return ka.queued
	}
	return ka.seq > kb.seq
}

// evictHeap is a min-heap of the non-empty accounts under evictBefore.
type evictHeap []*account

func (h evictHeap) Len() int           { return len(h) }
func (h evictHeap) Less(i, j int) bool { return evictBefore(h[i], h[j]) }
func (h evictHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *evictHeap) Push(x any) {
	a := x.(*account)
	a.heapIdx = len(*h)
	*h = append(*h, a)
}
func (h *evictHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	a.heapIdx = -1
	return a
}
