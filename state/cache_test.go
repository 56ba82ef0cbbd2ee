package state

import "testing"

func TestNodeCacheLRU(t *testing.T) {
	n := &node{size: 16, children: make([]child, 3)}
	one := len("k0") + n.approxSize() + 64
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
