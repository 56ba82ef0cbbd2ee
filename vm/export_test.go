package vm

import "fmt"

// SetIdleBounds lowers the bounds of the VM's idle instances, for tests.
func SetIdleBounds(v *VM, count int, bytes uint64, perEntry int) {
	v.cache.mu.Lock()
	defer v.cache.mu.Unlock()
	v.cache.maxIdle, v.cache.maxIdleByte, v.cache.maxPerEntry = count, bytes, perEntry
}

// IdleInstances returns the number of idle instances and the sum of their memory
// sizes, after checking them against the bounds and the entries' lists.
func IdleInstances(v *VM) (int, uint64, error) {
	c := v.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	n, bytes := 0, uint64(0)
	for el := c.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		if len(e.idle) > c.maxPerEntry {
			return 0, 0, fmt.Errorf("entry %s holds %d idle instances, bound %d", e.code.Hash, len(e.idle), c.maxPerEntry)
		}
		if len(e.idle) > 0 && !e.reusable {
			return 0, 0, fmt.Errorf("entry %s is not reusable but holds idle instances", e.code.Hash)
		}
		for _, inst := range e.idle {
			n++
			bytes += uint64(inst.memSize)
		}
	}
	switch {
	case n != c.idle || bytes != c.idleBytes:
		return 0, 0, fmt.Errorf("counted %d instances of %d bytes, the cache says %d of %d", n, bytes, c.idle, c.idleBytes)
	case n > c.maxIdle || bytes > c.maxIdleByte:
		return 0, 0, fmt.Errorf("%d idle instances of %d bytes, bounds %d and %d", n, bytes, c.maxIdle, c.maxIdleByte)
	}
	return n, bytes, nil
}
