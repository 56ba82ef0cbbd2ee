//go:build unix

package vm

import "syscall"

// pooledMemory is one linear memory in a mapping reserved at its maximum size.
type pooledMemory struct {
	pool *memoryPool
	mem  []byte // the whole mapping
	buf  []byte // mem[:len]: what the module sees
	max  uint64
	used uint64 // high-water mark of len since the last zeroing
}

// clearLimit: below it Free zeroes with clear (cheaper than page faults); above, with
// madvise.
const clearLimit = 256 << 10

func newPooledMemory(p *memoryPool, max uint64) *pooledMemory {
	m := &pooledMemory{pool: p, max: max}
	if max > 0 {
		mem, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err == nil {
			m.mem = mem
		}
		// On failure mem stays nil and Reallocate of a non-zero size fails: the
		// instantiation or memory.grow fails instead of the node.
	}
	m.buf = m.mem[:0]
	return m
}

func (m *pooledMemory) reserved() uint64 { return uint64(len(m.mem)) }

func (m *pooledMemory) grow(size uint64) {
	if size > uint64(len(m.mem)) {
		m.buf = nil
		return
	}
	m.buf = m.mem[:size]
}

func (m *pooledMemory) zero() {
	n := min(m.used, uint64(len(m.mem)))
	if n <= clearLimit {
		clear(m.mem[:n])
		return
	}
	clear(m.mem[:clearLimit])
	if err := syscall.Madvise(m.mem[clearLimit:n], syscall.MADV_DONTNEED); err != nil {
		clear(m.mem[clearLimit:n])
	}
}

func (m *pooledMemory) release() {
	if m.mem != nil {
		_ = syscall.Munmap(m.mem)
		m.mem, m.buf = nil, nil
	}
}
