package state

import (
	"testing"

	"github.com/wnode/wnode/types"
)

func TestNodeCacheLRU(t *testing.T) {
	n := &node{size: 16, children: make([]child, 3)}
	one := entrySize(n)
	c := newNodeCache(3 * one)
	for _, k := range []string{"k0", "k1", "k2"} {
		c.add([]byte(k), n)
	}
	if c.get([]byte("k0")) == nil { // k0 becomes the most recently used
		t.Fatal("k0 missing within the budget")
	}
	c.add([]byte("k3"), n) // evicts k1, the least recently used
	for k, want := range map[string]bool{"k0": true, "k1": false, "k2": true, "k3": true} {
		if got := c.get([]byte(k)) != nil; got != want {
			t.Fatalf("%s cached %v, want %v", k, got, want)
		}
	}
	c.remove([]byte("k2"))
	if c.get([]byte("k2")) != nil || c.bytes != 2*one || len(c.m) != 2 {
		t.Fatalf("after remove: %d bytes, %d entries", c.bytes, len(c.m))
	}
	c.add([]byte("k0"), n) // replacing an entry keeps one
	if c.bytes != 2*one || len(c.m) != 2 {
		t.Fatalf("after re-add: %d bytes, %d entries", c.bytes, len(c.m))
	}
	c.clear()
	if c.get([]byte("k0")) != nil || c.bytes != 0 {
		t.Fatal("clear left entries")
	}
	var none *nodeCache // a disabled cache (negative budget) holds nothing
	none.add([]byte("k"), n)
	if none.get([]byte("k")) != nil {
		t.Fatal("nil cache returned a node")
	}
}

// A key longer than any node key is neither cached nor found (nodeKey never makes one).
func TestNodeCacheLongKey(t *testing.T) {
	n := &node{size: 16, children: make([]child, 1)}
	c := newNodeCache(1 << 20)
	long := make([]byte, maxNodeKey+1)
	c.add(long, n)
	if c.get(long) != nil || len(c.m) != 0 {
		t.Fatal("a key longer than a node key was cached")
	}
	c.remove(long)
	full := make([]byte, maxNodeKey) // the longest node key, and a prefix of it, are distinct
	c.add(full, n)
	if c.get(full) == nil || c.get(full[:maxNodeKey-1]) != nil {
		t.Fatal("keys of different lengths confused")
	}
}

func TestNodeKeyFitsCacheKey(t *testing.T) {
	var h types.Hash
	for _, b := range []int{1, 2, 4} {
		r := radix{b: b}
		if k := nodeKey(^uint64(0), r.maxDepth(), &h, r); len(k) > maxNodeKey {
			t.Fatalf("radix bits %d: node key of %d bytes > %d", b, len(k), maxNodeKey)
		}
	}
}
