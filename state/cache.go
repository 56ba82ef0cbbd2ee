package state

import "sync"

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
	m     map[string]*cacheEntry
	head  cacheEntry // sentinel: head.next is the most recently used, head.prev the least
	bytes int
	max   int
}

type cacheEntry struct {
	key        string
	n          *node
	size       int
	prev, next *cacheEntry
}

func newNodeCache(maxBytes int) *nodeCache {
	if maxBytes <= 0 {
		return nil
	}
	c := &nodeCache{m: make(map[string]*cacheEntry), max: maxBytes}
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
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(key)]
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
	size := len(key) + n.approxSize() + 64 // the entry and its map slot
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[string(key)]; ok {
		c.bytes += size - e.size
		e.n, e.size = n, size
		c.unlink(e)
		c.pushFront(e)
	} else {
		e := &cacheEntry{key: string(key), n: n, size: size}
		c.m[e.key] = e
		c.pushFront(e)
		c.bytes += size
	}
	for c.bytes > c.max && c.head.prev != &c.head {
		c.removeLocked(c.head.prev)
	}
}

func (c *nodeCache) removeLocked(e *cacheEntry) {
	c.unlink(e)
	delete(c.m, e.key)
	c.bytes -= e.size
}

// remove drops key (a node that left the latest version) so that its space goes to live
// nodes.
func (c *nodeCache) remove(key []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if e, ok := c.m[string(key)]; ok {
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
	c.m = make(map[string]*cacheEntry)
	c.head.prev, c.head.next = &c.head, &c.head
	c.bytes = 0
	c.mu.Unlock()
}
