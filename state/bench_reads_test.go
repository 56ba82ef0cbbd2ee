package state

// Kept apart from bench_test.go, which scripts/bench-state-commit.sh also compiles against
// older code that has no such counter.
func init() {
	benchNodeReads = func(s *Store) int64 { return s.nodeReads.Load() }
	benchChildVersion = func(n *node, d int) uint64 { return n.child(d).version }
}
