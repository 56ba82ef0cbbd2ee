package vm

import (
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryPool recycles the buffers behind contracts' linear memories. A call instantiates
// a module fresh; without a pool every call allocates (and the GC later scans and frees)
// its pages, and every memory.grow copies the memory into a bigger slice. On Unix a
// buffer is a private anonymous mapping of the module's maximum size: memory.grow only
// extends the slice (no copy, no move), pages cost only when first touched, and the GC
// never sees them. Elsewhere it is a Go slice grown geometrically.
//
// A recycled buffer is zero over every byte a new memory can see: Free clears what was
// used (small memories by clear, the rest with madvise(MADV_DONTNEED), which makes the
// kernel zero-fill those pages on the next touch).
type memoryPool struct {
	mu     sync.Mutex
	free   []*pooledMemory // reusable, all bytes zero
	closed bool            // close was called: memories given back are released
}

// clearLimit: below it Free (and the reset of a reused instance) zeroes a memory with
// clear (cheaper than page faults); above, with madvise where the memory is a mapping.
const clearLimit = 256 << 10

// maxPooledMemories bounds the free list; extra buffers are released.
const maxPooledMemories = 64

// Allocate implements experimental.MemoryAllocator.
func (p *memoryPool) Allocate(_, max uint64) experimental.LinearMemory {
	p.mu.Lock()
	for i := len(p.free) - 1; i >= 0; i-- {
		if m := p.free[i]; m.reserved() >= max {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.mu.Unlock()
			m.max = max
			return m
		}
	}
	p.mu.Unlock()
	return newPooledMemory(p, max)
}

// put returns a zeroed memory to the pool, or releases it when the pool is full.
func (p *memoryPool) put(m *pooledMemory) {
	p.mu.Lock()
	if !p.closed && len(p.free) < maxPooledMemories {
		p.free = append(p.free, m)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	m.release()
}

// close releases every pooled buffer, and every buffer given back later (a memory can
// outlive the pool that allocated it: it belongs to an instance that waits, reset, for
// the next call of its contract, whichever goroutine makes it).
func (p *memoryPool) close() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.closed = true
	p.mu.Unlock()
	for _, m := range free {
		m.release()
	}
}

// Reallocate implements experimental.LinearMemory: it grows the memory to size bytes,
// all new bytes zero. It returns nil above the maximum (memory.grow then fails).
func (m *pooledMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	m.grow(size)
	if size > m.used {
		m.used = size
	}
	return m.buf
}

// Free implements experimental.LinearMemory: the buffer is zeroed and pooled.
func (m *pooledMemory) Free() {
	m.zero()
	m.used = 0
	m.buf = m.buf[:0]
	m.pool.put(m)
}
