package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/wnode/wnode/types"
)

// smallNode is the most children an internal node has to keep no memo of its inner
// hashes: near the bottom of the tree most internal nodes hold 2 or 3 leaves, and
// rehashing one costs a few keccak256 at most.
const smallNode = 4

// Stored nodes. The binary tree is stored in nodes of radix R = 2^b (b = radixBits): one
// stored internal node holds b levels of the binary tree, like Jellyfish's 16-ary nodes
// (b = 4). A node is addressed by the version that wrote it and its path (the first
// depth*b bits of the key hashes below it); a parent records each internal child's version
// and hash, and holds each leaf child whole (key hash, value hash, value version): a leaf
// is never a stored node of its own, so writing a key reads and writes its parent only
// (format 2; format 1 stored leaves apart, one more read and write per key written).
//
// Invariant: every stored internal node has at least two leaves below it, so a leaf always
// sits at the shallowest depth where its path is unique and the stored tree is a
// partition of the canonical binary tree.

// leaf is a pair of the tree, held in its parent node (or in the root record when it is
// the only one). Never modified once built.
type leaf struct {
	keyHash, valueHash types.Hash
	valueVersion       uint64 // version whose value record holds this value
}

// child is a parent's reference to a child: a stored internal node (version, hash) or a
// leaf held in the parent, by value (hash is its leaf hash). It holds no pointer, so the
// garbage collector does not scan the children of the nodes in the cache.
type child struct {
	version            uint64 // internal child: its stored node's version; leaf: its value's
	hash               types.Hash
	keyHash, valueHash types.Hash // leaf child
	isLeaf             bool
}

// leafChild returns the child holding lf, whose leaf hash is hash.
func leafChild(lf *leaf, hash types.Hash) child {
	return child{version: lf.valueVersion, hash: hash, keyHash: lf.keyHash, valueHash: lf.valueHash, isLeaf: true}
}

// asLeaf returns the leaf of a leaf child.
func (c *child) asLeaf() *leaf {
	return &leaf{keyHash: c.keyHash, valueHash: c.valueHash, valueVersion: c.version}
}

// node is a decoded stored internal node. In memory it holds only its present children
// (a bottom node of 2–3 leaves would otherwise carry 16 slots of 112 B for them): at 10^6
// keys every internal node then fits in the default node cache (docs/rationale/state.md).
type node struct {
	// present/leaves are bitmaps over the R children; children holds the present ones in
	// digit order (child(d) finds digit d's).
	present, leaves uint16
	size            uint8 // R
	children        []child

	// ranges memoises the hashes of the aligned child ranges of an internal node (the
	// binary tree inside it, heap-indexed; 512 B), which proofs through it need; filled
	// on first use by a proof (rangeHashes), once the node is immutable — or, in full,
	// when an update builds the node (fillInner; rangesFull is then set, before the node
	// is shared), so that the next update of the node rehashes only the ranges holding a
	// changed child: 4 keccak256 instead of up to 15 for one changed child of a 16-way
	// node. A proof's fill is partial (nothing below an empty or single-leaf range), so
	// only a full one is reused by an update.
	ranges     atomic.Pointer[[16]types.Hash]
	rangesFull bool
}

// radix describes the stored node fan-out: b bits per node level, R = 1<<b children.
type radix struct {
	b int
}

func (r radix) size() int { return 1 << r.b }

// child returns n's child at digit d, which must be present.
func (n *node) child(d int) *child {
	return &n.children[bits.OnesCount16(n.present&(uint16(1)<<d-1))]
}

// nodeBuilder is an internal node under construction, its children by digit.
type nodeBuilder struct {
	children        [16]child
	present, leaves uint16
}

// node returns the built node of radix size size, holding only the present children.
func (b *nodeBuilder) node(size int) *node {
	n := &node{present: b.present, leaves: b.leaves, size: uint8(size), children: make([]child, 0, bits.OnesCount16(b.present))}
	for d := range size {
		if b.present&(1<<d) != 0 {
			n.children = append(n.children, b.children[d])
		}
	}
	return n
}
func (r radix) maxDepth() int { return 256 / r.b }

// digit returns the child index of key hash h at node depth d.
func (r radix) digit(h *types.Hash, d int) int {
	off := d * r.b
	return int(h[off>>3]>>(8-r.b-(off&7))) & (r.size() - 1)
}

// childHash returns the hash of the binary subtree over children [lo, hi) of n: empty
// ranges hash to EmptyRoot, a range holding a single leaf is that leaf (it is lifted),
// anything else is an inner hash of its halves.
func (n *node) hashRange(h *hasher, lo, hi int) types.Hash {
	if hi-lo > 1 && n.rangesFull {
		w := hi - lo
		return n.ranges.Load()[int(n.size)/w+lo/w]
	}
	mask := rangeMask(lo, hi)
	switch cnt := bits.OnesCount16(n.present & mask); {
	case cnt == 0:
		return EmptyRoot
	case hi-lo == 1 || (cnt == 1 && n.leaves&mask != 0):
		return n.child(bits.TrailingZeros16(n.present & mask)).hash
	}
	mid := (lo + hi) / 2
	return h.inner(n.hashRange(h, lo, mid), n.hashRange(h, mid, hi))
}

// rangeHashes returns, heap-indexed (1 is the whole node, 2i and 2i+1 the halves of i),
// hashRange of the aligned ranges of two or more children of an internal node of size
// (at most 16) children that a proof through it can need (siblingHash). It
// computes them once per node (at most size-1 keccak256); then a proof through the node
// hashes nothing. Only for nodes no one modifies any more (stored, loaded or cached):
// the memo is never invalidated.
func (n *node) rangeHashes(h *hasher, size int) *[16]types.Hash {
	if m := n.ranges.Load(); m != nil {
		return m
	}
	m := new([16]types.Hash)
	n.fillRanges(h, m, 1, 0, size)
	n.ranges.Store(m)
	return m
}

// fillRanges sets m[i] = hashRange(lo, hi) for i and the ranges below it, reusing the
// halves instead of hashing them again.
func (n *node) fillRanges(h *hasher, m *[16]types.Hash, i, lo, hi int) {
	if hi-lo == 1 {
		return // single children: siblingHash reads them from the node
	}
	mask := rangeMask(lo, hi)
	switch cnt := bits.OnesCount16(n.present & mask); {
	case cnt == 0:
		m[i] = EmptyRoot
	case cnt == 1 && n.leaves&mask != 0:
		m[i] = n.child(bits.TrailingZeros16(n.present & mask)).hash
	default:
		mid := (lo + hi) / 2
		n.fillRanges(h, m, 2*i, lo, mid)
		n.fillRanges(h, m, 2*i+1, mid, hi)
		m[i] = h.inner(n.siblingHash(m, 2*i, lo, mid), n.siblingHash(m, 2*i+1, mid, hi))
	}
	// Below an empty or single-leaf range nothing is filled: a proof stops there.
}

// siblingHash is hashRange(lo, hi) for a proof: from ranges (rangeHashes) at heap index
// k for two children or more, from the child itself for one.
func (n *node) siblingHash(ranges *[16]types.Hash, k, lo, hi int) types.Hash {
	if hi-lo > 1 {
		return ranges[k]
	}
	if n.present&(1<<lo) == 0 {
		return EmptyRoot
	}
	return n.child(lo).hash
}

func rangeMask(lo, hi int) uint16 { return uint16((1<<hi)-1) &^ uint16((1<<lo)-1) }

// fillInner computes all of n.ranges bottom-up (only for nodes of more than smallNode
// children: rehashing a smaller one costs a few keccak256 at most) with the rule of
// hashRange. prev, when its ranges are full, is the node n was derived from: a range
// holding no digit of touched has the same
// children in both, so its hash is copied instead of recomputed.
func (n *node) fillInner(h *hasher, prev *node, touched uint16) {
	size := int(n.size)
	var old *[16]types.Hash
	if prev != nil && prev.rangesFull {
		old = prev.ranges.Load()
	}
	m := new([16]types.Hash)
	for i := size - 1; i >= 1; i-- {
		lvl := bits.Len(uint(i)) - 1 // i in [2^lvl, 2^(lvl+1))
		w := size >> lvl
		lo := (i - 1<<lvl) * w
		mask := rangeMask(lo, lo+w)
		if old != nil && touched&mask == 0 {
			m[i] = old[i]
			continue
		}
		switch cnt := bits.OnesCount16(n.present & mask); {
		case cnt == 0:
			m[i] = EmptyRoot
		case cnt == 1 && n.leaves&mask != 0:
			m[i] = n.child(bits.TrailingZeros16(n.present & mask)).hash
		case w == 2:
			m[i] = h.inner(n.slot(lo), n.slot(lo+1))
		default:
			m[i] = h.inner(m[2*i], m[2*i+1])
		}
	}
	n.ranges.Store(m)
	n.rangesFull = true
}

// slot returns the hash of child d, EmptyRoot when absent (hashRange of one child).
func (n *node) slot(d int) types.Hash {
	if n.present&(1<<d) == 0 {
		return EmptyRoot
	}
	return n.child(d).hash
}

// nodeInternal is the kind byte of a stored node (format 1 also had 0x00, a leaf).
const nodeInternal = 0x01

// encode appends internal node n's stored form to dst:
//
//	0x01 || present (2 B) || leaves (2 B) || per present child in order:
//	    internal child: uvarint(version) || hash
//	    leaf child:     keyHash || valueHash || uvarint(valueVersion)
//
// A leaf child's hash is not stored: decodeNode computes it (one keccak256 per leaf).
func (n *node) encode(dst []byte) []byte {
	dst = append(dst, nodeInternal)
	dst = binary.BigEndian.AppendUint16(dst, n.present)
	dst = binary.BigEndian.AppendUint16(dst, n.leaves)
	for i := range n.children {
		c := &n.children[i]
		if c.isLeaf {
			dst = append(dst, c.keyHash[:]...)
			dst = append(dst, c.valueHash[:]...)
			dst = binary.AppendUvarint(dst, c.version)
			continue
		}
		dst = binary.AppendUvarint(dst, c.version)
		dst = append(dst, c.hash[:]...)
	}
	return dst
}

// encodedSize returns the length of n's stored form (encode).
func (n *node) encodedSize() int {
	size := 5
	for i := range n.children {
		c := &n.children[i]
		if c.isLeaf {
			size += 64 + uvarintLen(c.version)
		} else {
			size += uvarintLen(c.version) + 32
		}
	}
	return size
}

// uvarintLen returns the length of x's uvarint encoding.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

var errBadNode = errors.New("state: corrupt tree node")

var hasherPool = sync.Pool{New: func() any { return newHasher() }}

// decodeNode decodes a stored internal node of radix r.
func decodeNode(b []byte, r radix) (*node, error) {
	if len(b) == 0 {
		return nil, errBadNode
	}
	if b[0] != nodeInternal {
		return nil, fmt.Errorf("%w: kind %#x", errBadNode, b[0])
	}
	if len(b) < 5 {
		return nil, errBadNode
	}
	n := new(node)
	n.present = binary.BigEndian.Uint16(b[1:])
	n.leaves = binary.BigEndian.Uint16(b[3:])
	if n.leaves&^n.present != 0 || (r.size() < 16 && n.present>>r.size() != 0) {
		return nil, errBadNode
	}
	var h *hasher
	if n.leaves != 0 {
		h = hasherPool.Get().(*hasher)
		defer hasherPool.Put(h)
	}
	n.size = uint8(r.size())
	n.children = make([]child, bits.OnesCount16(n.present))
	b = b[5:]
	i := 0
	for d := range r.size() {
		if n.present&(1<<d) == 0 {
			continue
		}
		if n.leaves&(1<<d) != 0 {
			if len(b) < 65 {
				return nil, errBadNode
			}
			c := &n.children[i]
			c.isLeaf = true
			copy(c.keyHash[:], b[:32])
			copy(c.valueHash[:], b[32:64])
			v, k := binary.Uvarint(b[64:])
			if k <= 0 {
				return nil, errBadNode
			}
			c.version = v
			c.hash = h.leaf(c.keyHash, c.valueHash)
			b = b[64+k:]
			i++
			continue
		}
		v, k := binary.Uvarint(b)
		if k <= 0 || len(b) < k+32 {
			return nil, errBadNode
		}
		n.children[i] = child{version: v}
		copy(n.children[i].hash[:], b[k:k+32])
		b = b[k+32:]
		i++
	}
	if len(b) != 0 {
		return nil, errBadNode
	}
	return n, nil
}

// approxSize estimates n's memory footprint for the node cache.
func (n *node) approxSize() int {
	size := 48 + cap(n.children)*int(unsafe.Sizeof(child{}))
	if n.rangesFull { // fixed when built: a proof's later memo is not counted
		size += 16 * 32
	}
	return size
}
