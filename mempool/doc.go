// Package mempool holds the transactions waiting for a block: it validates them on entry,
// orders each sender's transactions by nonce (holding back those after a gap), lets a
// higher gas price replace a pending transaction, bounds its size with global and
// per-account caps and price-based eviction, rechecks everything after each block, and
// feeds newly accepted transactions to gossip.
//
// The pool knows nothing about state, blocks or the network: it reads nonces and
// balances through the small AccountState interface, which the chain implements over its
// latest state. A Pool is safe for concurrent use; signature recovery, the expensive part
// of Add, runs outside the pool's lock.
package mempool
