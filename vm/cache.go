package vm

import (
	"container/list"
	"context"
	"sync"

	"github.com/tetratelabs/wazero"

	"github.com/wnode/wnode/types"
)

// entry is one compiled contract in the cache.
type entry struct {
	code     *Code
	compiled wazero.CompiledModule
	methods  map[string]bool // callable names: Methods plus init/migrate when present

	// guarded by codeCache.mu
	elem    *list.Element
	refs    int  // calls using compiled right now
	evicted bool // out of the cache; close compiled when refs drops to 0
}

// codeCache is a bounded LRU of compiled modules keyed by code hash. An entry in use by
// a running call is never closed under it: eviction only unlinks it and the last release
// closes it.
type codeCache struct {
	mu    sync.Mutex
	max   int
	byKey map[types.Hash]*entry
	lru   *list.List // front = most recently used
}

func newCodeCache(max int) *codeCache {
	return &codeCache{max: max, byKey: make(map[types.Hash]*entry), lru: list.New()}
}

// acquire returns the entry of h with a reference taken, or nil.
func (c *codeCache) acquire(h types.Hash) *entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byKey[h]
	if e == nil {
		return nil
	}
	e.refs++
	c.lru.MoveToFront(e.elem)
	return e
}

// add inserts e (or returns the entry another goroutine inserted first, closing e's
// compiled module) with a reference taken, and evicts the least recently used entries
// beyond the bound.
func (c *codeCache) add(ctx context.Context, e *entry) *entry {
	var toClose []wazero.CompiledModule
	c.mu.Lock()
	if old := c.byKey[e.code.Hash]; old != nil {
		old.refs++
		c.lru.MoveToFront(old.elem)
		c.mu.Unlock()
		_ = e.compiled.Close(ctx)
		return old
	}
	e.refs = 1
	e.elem = c.lru.PushFront(e)
	c.byKey[e.code.Hash] = e
	for c.lru.Len() > c.max {
		last := c.lru.Back().Value.(*entry)
		c.lru.Remove(last.elem)
		delete(c.byKey, last.code.Hash)
		last.evicted = true
		if last.refs == 0 {
			toClose = append(toClose, last.compiled)
		}
	}
	c.mu.Unlock()
	for _, cm := range toClose {
		_ = cm.Close(ctx)
	}
	return e
}

// release drops a reference taken by acquire or add.
func (c *codeCache) release(e *entry) {
	c.mu.Lock()
	e.refs--
	closeIt := e.evicted && e.refs == 0
	c.mu.Unlock()
	if closeIt {
		_ = e.compiled.Close(context.Background())
	}
}

// len returns the number of cached entries.
func (c *codeCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
