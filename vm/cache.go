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
	// reusable: instances are reset and reused (see instance.go); globalNames are the
	// export names of the module's mutable globals.
	reusable    bool
	globalNames []string
	// image is the memory of an instance right after instantiation, set by the first
	// instantiation.
	imageOnce sync.Once
	image     []imageRun

	// guarded by codeCache.mu
	elem    *list.Element
	refs    int         // calls using compiled right now
	evicted bool        // out of the cache; close compiled when refs drops to 0
	idle    []*instance // reset instances waiting for a call (reusable entries only)
}

// codeCache is a bounded LRU of compiled modules keyed by code hash. An entry in use by
// a running call is never closed under it: eviction only unlinks it and the last release
// closes it.
type codeCache struct {
	mu    sync.Mutex
	max   int
	byKey map[types.Hash]*entry
	lru   *list.List // front = most recently used
	// The idle instances of all entries: their number and the sum of their memory sizes,
	// bounded by maxIdle and maxIdleBytes (and per entry by maxPerEntry).
	idle, maxIdle          int
	idleBytes, maxIdleByte uint64
	maxPerEntry            int
}

func newCodeCache(max int) *codeCache {
	return &codeCache{max: max, byKey: make(map[types.Hash]*entry), lru: list.New(),
		maxIdle: maxIdle, maxIdleByte: maxIdleBytes, maxPerEntry: maxIdlePerEntry}
}

// acquire returns the entry of h with a reference taken, or nil.
func (c *codeCache) acquire(h types.Hash) *entry {
	e, _ := c.acquireInstance(h, false)
	return e
}

// acquireInstance returns the entry of h with a reference taken (or nil) and, when
// withInstance is set, one of its idle instances (nil when it has none) for the caller
// to use and give back with releaseInstance.
func (c *codeCache) acquireInstance(h types.Hash, withInstance bool) (*entry, *instance) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byKey[h]
	if e == nil {
		return nil, nil
	}
	e.refs++
	c.lru.MoveToFront(e.elem)
	var inst *instance
	if n := len(e.idle); withInstance && n > 0 {
		inst = e.idle[n-1]
		e.idle[n-1] = nil
		e.idle = e.idle[:n-1]
		c.idle--
		c.idleBytes -= uint64(inst.memSize)
	}
	return e, inst
}

// add inserts e (or returns the entry another goroutine inserted first, closing e's
// compiled module) with a reference taken, and evicts the least recently used entries
// beyond the bound.
func (c *codeCache) add(ctx context.Context, e *entry) *entry {
	var toClose []wazero.CompiledModule
	var idle []*instance
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
		idle = append(idle, c.dropIdle(last)...)
		if last.refs == 0 {
			toClose = append(toClose, last.compiled)
		}
	}
	c.mu.Unlock()
	// Instances first: a compiled module must outlive its instances.
	for _, inst := range idle {
		_ = inst.mod.Close(ctx)
	}
	for _, cm := range toClose {
		_ = cm.Close(ctx)
	}
	return e
}

// dropIdle takes e's idle instances out of the cache's count and returns them, for the
// caller to close outside the lock. c.mu is held.
func (c *codeCache) dropIdle(e *entry) []*instance {
	idle := e.idle
	for _, inst := range idle {
		c.idle--
		c.idleBytes -= uint64(inst.memSize)
	}
	e.idle = nil
	return idle
}

// release drops a reference taken by acquire or add.
func (c *codeCache) release(e *entry) { c.releaseInstance(e, nil) }

// releaseInstance drops a reference taken by acquireInstance and gives back inst (if not
// nil), already reset: it waits for the next call when the bounds allow, and is closed
// otherwise.
func (c *codeCache) releaseInstance(e *entry, inst *instance) {
	var toClose []*instance
	c.mu.Lock()
	if inst != nil && !e.evicted && len(e.idle) < c.maxPerEntry && uint64(inst.memSize) <= c.maxIdleByte {
		// Over the global bounds, the least recently used entries' idle instances go
		// first: code called now keeps its instances.
		for el := c.lru.Back(); el != nil && (c.idle >= c.maxIdle || c.idleBytes+uint64(inst.memSize) > c.maxIdleByte); el = el.Prev() {
			old := el.Value.(*entry)
			for len(old.idle) > 0 && (c.idle >= c.maxIdle || c.idleBytes+uint64(inst.memSize) > c.maxIdleByte) {
				n := len(old.idle)
				toClose = append(toClose, old.idle[n-1])
				old.idle[n-1] = nil
				old.idle = old.idle[:n-1]
				c.idle--
				c.idleBytes -= uint64(toClose[len(toClose)-1].memSize)
			}
		}
		e.idle = append(e.idle, inst)
		c.idle++
		c.idleBytes += uint64(inst.memSize)
		inst = nil
	}
	e.refs--
	closeIt := e.evicted && e.refs == 0
	c.mu.Unlock()
	if inst != nil {
		toClose = append(toClose, inst)
	}
	for _, old := range toClose {
		_ = old.mod.Close(context.Background())
	}
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
