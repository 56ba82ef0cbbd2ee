package state

import (
	"sync"
	"unsafe"
)

// nodeCache keeps recently used decoded nodes within a byte budget, least recently used
// dropped first. Stored nodes are immutable under their key (version and path), so a cached
// node never goes stale; a pruned node may linger until evicted but is only reachable from
// versions that reads already refuse.
//
// Exact LRU, not two generations: an update touches each node of the upper levels every
// few blocks (at 10^6 keys a node of the fifth level once in ~7 blocks of 10k writes), and
// two generations of half the budget each dropped every node not touched for two of them —
// half of those nodes were read again from Pebble although the whole level fitted in the
// budget. The list costs two pointer writes per hit under the mutex.
type nodeCache struct {
	mu    sync.Mutex
	m     map[cacheKey]*cacheEntry
	head  cacheEntry // sentinel: head.next is the most recently used, head.prev the least
	bytes int
	max   int
	// free holds entries removed from the cache for the next additions: a commit
	// removes about as many nodes (those its version replaced) as it adds.
	free []*cacheEntry
}

// maxFree bounds the entries kept for reuse (~100 B each).
const maxFree = 1 << 15

// cacheKey is a node's Pebble key held by value (at most 2+8+2+32 bytes: nodeKey): the
// map and its entries then hold no pointer to a key of their own, one object fewer per
// cached node for the allocator and the garbage collector.
type cacheKey struct {
	n uint8
	b [maxNodeKey]byte
}

const maxNodeKey = 2 + 8 + 2 + 32

// makeCacheKey returns key as a cacheKey; ok is false for a key too long to be a node's.
func makeCacheKey(key []byte) (k cacheKey, ok bool) {
	if len(key) > maxNodeKey {
		return k, false
	}
	k.n = uint8(len(key))
	copy(k.b[:], key)
	return k, true
}

type cacheEntry struct {
	key        cacheKey
	n          *node
	size       int
	prev, next *cacheEntry
}

func newNodeCache(maxBytes int) *nodeCache {
	if maxBytes <= 0 {
		return nil
	}
	c := &nodeCache{m: make(map[cacheKey]*cacheEntry), max: maxBytes}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

func (c *nodeCache) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *nodeCache) pushFront(e *cacheEntry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

func (c *nodeCache) get(key []byte) *node {
	if c == nil {
		return nil
	}
	k, ok := makeCacheKey(key)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil
	}
	if c.head.next != e {
		c.unlink(e)
		c.pushFront(e)
	}
	return e.n
}

func (c *nodeCache) add(key []byte, n *node) {
	if c == nil {
		return
	}
	k, ok := makeCacheKey(key)
	if !ok {
		return
	}
	size := entrySize(n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.bytes += size - e.size
		e.n, e.size = n, size
		c.unlink(e)
		c.pushFront(e)
	} else {
		var e *cacheEntry
		if l := len(c.free); l > 0 {
			e, c.free = c.free[l-1], c.free[:l-1]
			e.key, e.n, e.size = k, n, size
		} else {
			e = &cacheEntry{key: k, n: n, size: size}
		}
		c.m[k] = e
		c.pushFront(e)
		c.bytes += size
	}
	for c.bytes > c.max && c.head.prev != &c.head {
		c.removeLocked(c.head.prev)
	}
}

// entrySize is what caching n costs: the node, its entry, and its map slot (key and
// pointer).
func entrySize(n *node) int {
	return n.approxSize() + int(unsafe.Sizeof(cacheEntry{})) + int(unsafe.Sizeof(cacheKey{})) + 8
}

func (c *nodeCache) removeLocked(e *cacheEntry) {
	c.unlink(e)
	delete(c.m, e.key)
	c.bytes -= e.size
	if len(c.free) < maxFree {
		e.n, e.prev, e.next = nil, nil, nil
		c.free = append(c.free, e)
	}
}

// remove drops key (a node that left the latest version) so that its space goes to live
// nodes.
func (c *nodeCache) remove(key []byte) {
	if c == nil {
		return
	}
	k, ok := makeCacheKey(key)
	if !ok {
		return
	}
	c.mu.Lock()
	if e, ok := c.m[k]; ok {
		c.removeLocked(e)
	}
	c.mu.Unlock()
}

// clear drops every entry (the store was wiped).
func (c *nodeCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.m = make(map[cacheKey]*cacheEntry)
	c.head.prev, c.head.next = &c.head, &c.head
	c.bytes = 0
	c.free = nil
	c.mu.Unlock()
}
