//go:build !linux

package vm

// pooledMemory is one linear memory in a Go slice grown geometrically.
type pooledMemory struct {
	pool *memoryPool
	buf  []byte
	max  uint64
	used uint64
}

func newPooledMemory(p *memoryPool, max uint64) *pooledMemory {
	return &pooledMemory{pool: p, max: max}
}

func (m *pooledMemory) reserved() uint64 { return m.max }

func (m *pooledMemory) grow(size uint64) {
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size] // bytes up to cap are zero: zero() cleared them
		return
	}
	nb := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
	copy(nb, m.buf)
	m.buf = nb
}

func (m *pooledMemory) zero() { clear(m.buf[:min(m.used, uint64(cap(m.buf)))]) }

func (m *pooledMemory) release() { m.buf = nil }

// discard zeroes buf[from:to].
func (m *pooledMemory) discard(from, to uint64) { clear(m.buf[from:to]) }
