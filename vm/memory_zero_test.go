package vm

import "testing"

// TestPooledMemoryZeroing: a memory handed out again, after Free or after a reused
// instance's reset (discard), reads as zero everywhere, past clearLimit included where
// the pages go back to the kernel. That holds only where madvise(MADV_DONTNEED) zero-fills
// (Linux); elsewhere (macOS, the BSDs) it is advice that may keep the bytes, and a call
// would read what an earlier call wrote.
func TestPooledMemoryZeroing(t *testing.T) {
	const size = 4 * clearLimit
	p := &memoryPool{}
	defer p.close()
	m := p.Allocate(0, size).(*pooledMemory)
	buf := m.Reallocate(size)
	fill := func() {
		for i := range buf {
			buf[i] = 0xa5
		}
	}
	check := func(what string, b []byte) {
		t.Helper()
		for i, c := range b {
			if c != 0 {
				t.Fatalf("after %s, byte %d of %d is %#x", what, i, len(b), c)
			}
		}
	}
	fill()
	m.discard(clearLimit, size)
	check("discard", buf[clearLimit:])
	fill()
	m.Free()
	m2 := p.Allocate(0, size).(*pooledMemory)
	check("Free", m2.Reallocate(size))
}
