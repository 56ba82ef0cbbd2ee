package state

import "fmt"

// Kept apart from bench_test.go, which scripts/bench-state-commit.sh also compiles against
// older code that has no such counter.
func init() {
	benchNodeReads = func(s *Store) int64 { return s.nodeReads.Load() }
	benchChildVersion = func(n *node, d int) uint64 { return n.child(d).version }
	benchCacheStats = func(s *Store) string {
		s.cache.mu.Lock()
		defer s.cache.mu.Unlock()
		return fmt.Sprintf("; node cache: %d nodes, %d of %d MiB", len(s.cache.m), s.cache.bytes>>20, s.cache.max>>20)
	}
}
