package state

import (
	"math/bits"
	"sync"
)

// Buffers of the commit path reused from one block to the next. A 10k-write block's
// update collects ~20k nodes, ~20k value records and ~30k stale keys, whose lists and keys
// are garbage once the block is committed: allocated afresh they were a fifth of the bytes
// a block allocates (docs/rationale/state.md), and the collector runs as often as bytes
// are allocated. An update's buffers go back to the pools only after a successful Commit
// (whose Pebble batch holds copies of everything in them); an update that is never
// committed leaves them to the collector.

// arenaChunk is the size of the chunks an arena hands keys and value records out of.
const arenaChunk = 64 << 10

// arena hands out byte slices from chunks of arenaChunk bytes; the chunks it filled are
// kept in chunks, to be released together once nothing refers to them any more.
type arena struct {
	cur    []byte
	chunks [][]byte
}

var chunkPool = sync.Pool{New: func() any { return new([arenaChunk]byte) }}

// alloc returns a slice of length 0 and capacity n.
func (a *arena) alloc(n int) []byte {
	if n > arenaChunk/8 { // a large value: its own allocation
		return make([]byte, 0, n)
	}
	if cap(a.cur)-len(a.cur) < n {
		c := chunkPool.Get().(*[arenaChunk]byte)
		a.chunks = append(a.chunks, c[:])
		a.cur = c[:0]
	}
	b := a.cur[len(a.cur) : len(a.cur) : len(a.cur)+n]
	a.cur = a.cur[:len(a.cur)+n]
	return b
}

// take moves o's chunks into a (whose keys now outlive o's updater).
func (a *arena) take(o *arena) {
	a.chunks = append(a.chunks, o.chunks...)
	o.chunks, o.cur = nil, nil
}

// release returns a's chunks to the pool; nothing may use the slices alloc returned.
func (a *arena) release() {
	for _, c := range a.chunks {
		chunkPool.Put((*[arenaChunk]byte)(c))
	}
	clear(a.chunks)
	a.chunks, a.cur = a.chunks[:0], nil
}

// Lists of kv and of keys, pooled by capacity class (a power of two), so that the small
// lists of the 16 subtree updaters and the large one of a block do not take each other's.
var (
	kvPools  [40]sync.Pool
	keyPools [40]sync.Pool
)

func capClass(n int) int { return bits.Len(uint(max(n, 16) - 1)) }

// getKVs returns an empty list of kv with room for at least n.
func getKVs(n int) []kv {
	c := capClass(n)
	if p, ok := kvPools[c].Get().(*[]kv); ok {
		return (*p)[:0]
	}
	return make([]kv, 0, 1<<c)
}

// putKVs returns l to its pool, dropping what it refers to.
func putKVs(l []kv) {
	l = l[:cap(l)]
	if c := capClass(len(l)); len(l) == 1<<c && c < len(kvPools) {
		clear(l)
		kvPools[c].Put(&l)
	}
}

// getKeys returns an empty list of keys with room for at least n.
func getKeys(n int) [][]byte {
	c := capClass(n)
	if p, ok := keyPools[c].Get().(*[][]byte); ok {
		return (*p)[:0]
	}
	return make([][]byte, 0, 1<<c)
}

// putKeys returns l to its pool, dropping what it refers to.
func putKeys(l [][]byte) {
	l = l[:cap(l)]
	if c := capClass(len(l)); len(l) == 1<<c && c < len(keyPools) {
		clear(l)
		keyPools[c].Put(&l)
	}
}
