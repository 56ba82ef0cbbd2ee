//go:build linux

package vm

import "syscall"

// pooledMemory is one linear memory in a mapping reserved at its maximum size.
//
// Linux only: memories are zeroed past clearLimit with madvise(MADV_DONTNEED), which
// makes the next touch of a private anonymous mapping's pages read zeros on Linux. On
// macOS and the BSDs MADV_DONTNEED is advice that may keep the bytes (and package
// syscall has no Madvise there), so they use memory_other.go.
type pooledMemory struct {
	pool   *memoryPool
	mem    []byte // the whole mapping
	buf    []byte // mem[:len]: what the module sees
	max    uint64
	used   uint64 // high-water mark of len since the last zeroing
	mapped bool   // mem is a mapping (else a Go slice: mmap failed)
}

func newPooledMemory(p *memoryPool, max uint64) *pooledMemory {
	m := &pooledMemory{pool: p, max: max}
	if max > 0 {
		mem, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err == nil {
			m.mem, m.mapped = mem, true
		} else {
			m.mem = make([]byte, max) // no address space for a mapping: use the heap
		}
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
	if !m.mapped || syscall.Madvise(m.mem[clearLimit:n], syscall.MADV_DONTNEED) != nil {
		clear(m.mem[clearLimit:n])
	}
}

func (m *pooledMemory) release() {
	if m.mapped {
		_ = syscall.Munmap(m.mem)
	}
	m.mem, m.buf, m.mapped = nil, nil, false
}

// discard zeroes mem[from:to] (from page-aligned) by giving its pages back to the kernel,
// which zero-fills them on the next touch.
func (m *pooledMemory) discard(from, to uint64) {
	if !m.mapped || syscall.Madvise(m.mem[from:to], syscall.MADV_DONTNEED) != nil {
		clear(m.mem[from:to])
	}
}
