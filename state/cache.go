package state

import "sync"

// nodeCache keeps recently used decoded nodes. Stored nodes are immutable under their key
// (version and path), so a cached node never goes stale; a pruned node may linger until
// evicted but is only reachable from versions that reads already refuse.
//
// Eviction is two-generational: new entries fill the current generation; when it holds
// half the budget it becomes the old one and the previous old one is dropped. A hit in
// the old generation is promoted. This approximates LRU at O(1) cost with no per-entry
// bookkeeping.
type nodeCache struct {
	mu       sync.Mutex
	cur, old map[string]*node
	curBytes int
	max      int
}

func newNodeCache(maxBytes int) *nodeCache {
	if maxBytes <= 0 {
		return nil
	}
	return &nodeCache{cur: make(map[string]*node), old: make(map[string]*node), max: maxBytes}
}

func (c *nodeCache) get(key []byte) *node {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.cur[string(key)]; ok {
		return n
	}
	if n, ok := c.old[string(key)]; ok {
		c.addLocked(string(key), n)
		return n
	}
	return nil
}

func (c *nodeCache) add(key []byte, n *node) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.addLocked(string(key), n)
	c.mu.Unlock()
}

// remove drops key (a node that left the latest version) so that its space goes to live
// nodes: with stale nodes removed at each commit, a cache larger than twice the live set
// it holds never evicts it.
func (c *nodeCache) remove(key []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if n, ok := c.cur[string(key)]; ok {
		c.curBytes -= len(key) + n.approxSize()
		delete(c.cur, string(key))
	}
	delete(c.old, string(key))
	c.mu.Unlock()
}

func (c *nodeCache) addLocked(key string, n *node) {
	if old, ok := c.cur[key]; ok {
		c.curBytes -= len(key) + old.approxSize()
	}
	c.cur[key] = n
	c.curBytes += len(key) + n.approxSize()
	if c.curBytes > c.max/2 {
		c.old, c.cur, c.curBytes = c.cur, make(map[string]*node), 0
	}
}

// clear drops every entry (the store was wiped).
func (c *nodeCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.cur, c.old, c.curBytes = make(map[string]*node), make(map[string]*node), 0
	c.mu.Unlock()
}
