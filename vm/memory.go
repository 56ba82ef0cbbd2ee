package vm

import (
	"sync"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryPool recycles the byte slices behind contracts' linear memories. A call
// instantiates a module fresh, and without a pool every call allocates (and the GC later
// scans and frees) at least one 64 KiB page per memory page; with it, a call only zeroes
// the pages it starts with. A recycled buffer is zeroed over every byte the new memory
// exposes, so a contract never sees another call's memory.
type memoryPool struct{ pool sync.Pool }

// maxPooledMemory bounds the capacity of a pooled buffer: bigger ones (rare, and costly to
// keep) go back to the GC.
const maxPooledMemory = 4 << 20

// Allocate implements experimental.MemoryAllocator.
func (p *memoryPool) Allocate(_, max uint64) experimental.LinearMemory {
	m, _ := p.pool.Get().(*pooledMemory)
	if m == nil {
		m = &pooledMemory{}
	}
	m.pool, m.max = p, max
	m.buf = m.buf[:0]
	return m
}

// pooledMemory is one linear memory backed by a recyclable buffer.
type pooledMemory struct {
	pool *memoryPool
	buf  []byte
	max  uint64
}

// Reallocate implements experimental.LinearMemory: it grows the memory to size bytes,
// all new bytes zero. It returns nil above the maximum (memory.grow then fails).
func (m *pooledMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	old := uint64(len(m.buf))
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		if size > old {
			clear(m.buf[old:size])
		}
		return m.buf
	}
	// Grow geometrically (up to max) so that a memory grown page by page is copied
	// O(log n) times, not n times.
	c := min(max(size, 2*uint64(cap(m.buf))), m.max)
	nb := make([]byte, size, c)
	copy(nb, m.buf)
	m.buf = nb
	return m.buf
}

// Free implements experimental.LinearMemory: the buffer goes back to the pool.
func (m *pooledMemory) Free() {
	if cap(m.buf) > maxPooledMemory {
		m.buf = nil
	}
	m.buf = m.buf[:0]
	m.pool.pool.Put(m)
}
