package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"sync"

	"github.com/wnode/wnode/types"
)

// nodeSource loads stored nodes by Pebble key.
type nodeSource interface {
	loadNode(key []byte) (*node, error)
}

// item is one pair to place in the tree during an update: a write (put or delete) from the
// caller, or an existing leaf being moved (carried non-nil, value record untouched).
type item struct {
	keyHash   types.Hash
	valueHash types.Hash
	value     []byte // nil = delete
	carried   *leaf
}

func (it *item) isPut() bool { return it.value != nil || it.carried != nil }

// kv is one Pebble write: a tree node when n is set (value unused: writeNode encodes n
// straight into the batch), else a value record (a deletion when value is nil).
type kv struct {
	key, value []byte
	n          *node
	size       int // n's encodedSize
}

// updater computes one new version of the tree from a sorted write set. It reads stored
// nodes of the base version and collects, without writing anything, the nodes and value
// records of the new version and the keys that leave the tree (stale at version).
type updater struct {
	src     nodeSource
	r       radix
	version uint64
	h       *hasher

	nodes  []kv
	values []kv
	stale  [][]byte
	keys   arena // the keys and value records of nodes, values and stale
	loads  int   // stored nodes read, for measurements
	par    bool  // update subtrees near the root concurrently

	lookup [maxNodeKey]byte // the key of the node being loaded (the cache copies it)
}

// group is the run items[lo:hi] of items sharing digit d at some depth.
type group struct{ d, lo, hi int }

// groups splits items (sorted, sharing the first depth digits) by their digit at depth,
// into buf (the caller's: no allocation).
func (u *updater) groups(depth int, items []item, buf *[16]group) []group {
	gs := buf[:0]
	for lo := 0; lo < len(items); {
		d := u.r.digit(&items[lo].keyHash, depth)
		hi := lo + 1
		for hi < len(items) && u.r.digit(&items[hi].keyHash, depth) == d {
			hi++
		}
		gs = append(gs, group{d, lo, hi})
		lo = hi
	}
	return gs
}

// Subtrees within the first parallelBits bits of the root, with at least
// parallelMinItems writes, are updated concurrently (16 subtrees under the root with the
// default radix). Each runs in its own updater; their outputs are appended in digit order,
// so the result is the same as a sequential update.
const (
	parallelBits     = 4
	parallelMinItems = 64
)

// each sets subs[g.d] = fn(g) for every group, in u or, when the subtree is large and near
// the root, in concurrent child updaters whose outputs are then merged into u in group
// order. (subs does not escape: the update of a node allocates no array of results.)
func (u *updater) each(depth int, items []item, gs []group, subs *[16]sub, fn func(c *updater, g group) (sub, error)) error {
	if !u.par || depth*u.r.b >= parallelBits || len(items) < parallelMinItems || len(gs) < 2 {
		for _, g := range gs {
			s, err := fn(u, g)
			if err != nil {
				return err
			}
			subs[g.d] = s
		}
		return nil
	}
	cs := make([]*updater, len(gs))
	errs := make([]error, len(gs))
	out := make([]sub, len(gs))
	var wg sync.WaitGroup
	for i, g := range gs {
		c := &updater{src: u.src, r: u.r, version: u.version, h: newHasher(), par: true}
		c.presize(g.hi - g.lo)
		cs[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = fn(c, g)
		}()
	}
	wg.Wait()
	for i, g := range gs {
		subs[g.d] = out[i]
	}
	// One allocation per list for the merged outputs, not a series of doublings.
	nn, nv, ns := 0, 0, 0
	for _, c := range cs {
		nn, nv, ns = nn+len(c.nodes), nv+len(c.values), ns+len(c.stale)
	}
	u.nodes = slices.Grow(u.nodes, nn)
	u.values = slices.Grow(u.values, nv)
	u.stale = slices.Grow(u.stale, ns)
	for _, c := range cs {
		u.nodes = append(u.nodes, c.nodes...)
		u.values = append(u.values, c.values...)
		u.stale = append(u.stale, c.stale...)
		u.keys.take(&c.keys)
		putKVs(c.nodes)
		putKVs(c.values)
		putKeys(c.stale)
		u.loads += c.loads
		u.h.n += c.h.n
	}
	return errors.Join(errs...)
}

// presize reserves room for the outputs of an update of about n writes (measured on the
// 10^6-key tree: ~2 nodes, 2 value records and ~3 stale keys per write), so that the
// lists do not grow by doubling.
func (u *updater) presize(n int) {
	if u.nodes == nil && u.values == nil && u.stale == nil {
		u.nodes, u.values, u.stale = getKVs(2*n+8), getKVs(2*n), getKeys(3*n+8)
		return
	}
	u.nodes = slices.Grow(u.nodes, 2*n+8)
	u.values = slices.Grow(u.values, 2*n)
	u.stale = slices.Grow(u.stale, 3*n+8)
}

// nodeKey returns the key of the node at (version, depth) on keyHash's path, in u's arena.
func (u *updater) nodeKey(version uint64, depth int, keyHash *types.Hash) []byte {
	return appendNodeKey(u.keys.alloc(nodeKeyLen(depth, u.r)), version, depth, keyHash, u.r)
}

// valueKey returns valueKey(keyHash, version) in u's arena.
func (u *updater) valueKey(keyHash *types.Hash, version uint64) []byte {
	return appendValueKey(u.keys.alloc(valueKeyLen), keyHash, version)
}

type subKind uint8

const (
	subEmpty subKind = iota
	subLeaf
	subInternal
)

// sub is the result of updating a subtree.
type sub struct {
	kind    subKind
	changed bool // differs from what the parent referenced
	hash    types.Hash
	leaf    *leaf  // subLeaf: the leaf
	version uint64 // subInternal: version of the stored node
}

// update applies items (sorted, sharing the first depth digits, not empty) to the subtree
// at depth whose stored root is ref (nil when the subtree is empty).
func (u *updater) update(depth int, ref *child, items []item) (sub, error) {
	if ref == nil {
		return u.build(depth, items), nil
	}
	if ref.isLeaf { // held in the parent: nothing to read
		return u.updateLeaf(depth, ref, items), nil
	}
	if depth >= u.r.maxDepth() { // only a corrupt store has internal nodes this deep
		return sub{}, errBadNode
	}
	n, err := u.src.loadNode(appendNodeKey(u.lookup[:0], ref.version, depth, &items[0].keyHash, u.r))
	if err != nil {
		return sub{}, err
	}
	u.loads++
	return u.updateInternal(depth, ref, n, items)
}

// putValue records the value record of a new or changed pair and returns its leaf.
func (u *updater) putValue(it *item) *leaf {
	// One allocation for the two records' keys and values.
	buf := u.keys.alloc(2 + 32 + 8 + 1 + len(it.value) + 2 + 32 + 8 + len(it.value))
	buf = append(buf, KeyPrefix, tagValue)
	buf = append(buf, it.keyHash[:]...)
	buf = binary.BigEndian.AppendUint64(buf, ^u.version)
	vk := buf[:len(buf):len(buf)]
	buf = append(buf, 1)
	buf = append(buf, it.value...)
	rec := buf[len(vk):len(buf):len(buf)]
	buf = append(buf, KeyPrefix, tagLatest)
	buf = append(buf, it.keyHash[:]...)
	lk := buf[len(vk)+len(rec) : len(buf) : len(buf)]
	buf = binary.BigEndian.AppendUint64(buf, u.version)
	buf = append(buf, it.value...)
	latest := buf[len(vk)+len(rec)+len(lk):]
	u.values = append(u.values, kv{key: vk, value: rec}, kv{key: lk, value: latest})
	return &leaf{keyHash: it.keyHash, valueHash: it.valueHash, valueVersion: u.version}
}

// build creates the subtree at depth of an empty position from items; deletes are of
// absent keys and do nothing.
func (u *updater) build(depth int, items []item) sub {
	puts := items
	for i := range items {
		if !items[i].isPut() { // copy only when there are deletes to drop
			puts = make([]item, 0, len(items))
			for j := range items {
				if items[j].isPut() {
					puts = append(puts, items[j])
				}
			}
			break
		}
	}
	switch len(puts) {
	case 0:
		return sub{kind: subEmpty}
	case 1:
		it := &puts[0]
		lf := it.carried
		if lf == nil {
			lf = u.putValue(it)
		}
		return sub{kind: subLeaf, changed: true, leaf: lf, hash: u.h.leaf(lf.keyHash, lf.valueHash)}
	}
	if depth >= u.r.maxDepth() {
		// Two distinct 256-bit hashes always differ before the last digit.
		panic("state: tree deeper than the key hash")
	}
	var nb nodeBuilder
	var subs [16]sub
	var buf [16]group
	gs := u.groups(depth, puts, &buf)
	_ = u.each(depth, puts, gs, &subs, func(c *updater, g group) (sub, error) {
		return c.build(depth+1, puts[g.lo:g.hi]), nil
	})
	for _, g := range gs {
		u.setChild(&nb, g.d, subs[g.d])
	}
	return u.finishInternal(depth, &puts[0].keyHash, nb.node(u.r.size()), nil, 0)
}

// updateLeaf applies items to a subtree that is the leaf child ref.
func (u *updater) updateLeaf(depth int, ref *child, items []item) sub {
	lf := ref.asLeaf()
	keep := lf
	var rest []item // the other puts
	for i := range items {
		it := &items[i]
		if it.keyHash != lf.keyHash {
			if it.isPut() {
				rest = append(rest, *it)
			}
			continue
		}
		switch {
		case it.value == nil: // delete lf's key
			u.stale = append(u.stale, u.valueKey(&lf.keyHash, lf.valueVersion))
			tomb := u.valueKey(&lf.keyHash, u.version)
			u.values = append(u.values, kv{key: tomb, value: []byte{0}}, kv{key: latestKey(&lf.keyHash)})
			u.stale = append(u.stale, tomb) // needed by no version once version is pruned
			keep = nil
		case it.valueHash != lf.valueHash:
			u.stale = append(u.stale, u.valueKey(&lf.keyHash, lf.valueVersion))
			keep = u.putValue(it)
		}
	}
	if keep == lf && len(rest) == 0 {
		return sub{kind: subLeaf, leaf: lf, hash: ref.hash}
	}
	if keep != nil {
		rest = append(rest, item{keyHash: keep.keyHash, valueHash: keep.valueHash, carried: keep})
		sortItems(rest)
	}
	s := u.build(depth, rest)
	s.changed = true
	return s
}

// updateInternal applies items to the subtree whose root is the stored internal node n.
func (u *updater) updateInternal(depth int, ref *child, n *node, items []item) (sub, error) {
	var subs [16]sub
	var buf [16]group
	gs := u.groups(depth, items, &buf)
	err := u.each(depth, items, gs, &subs, func(c *updater, g group) (sub, error) {
		var cref *child
		if n.present&(1<<g.d) != 0 {
			cref = n.child(g.d)
		}
		return c.update(depth+1, cref, items[g.lo:g.hi])
	})
	if err != nil {
		return sub{}, err
	}
	var touched uint16
	for _, g := range gs {
		if subs[g.d].changed {
			touched |= 1 << g.d
		}
	}
	if touched == 0 {
		return sub{kind: subInternal, hash: ref.hash, version: ref.version}, nil
	}
	path := &items[0].keyHash
	u.stale = append(u.stale, u.nodeKey(ref.version, depth, path))

	// Children after the update, before placing the changed ones.
	present, leaves := n.present, n.leaves
	for d := range u.r.size() {
		if touched&(1<<d) == 0 {
			continue
		}
		present &^= 1 << d
		leaves &^= 1 << d
		switch subs[d].kind {
		case subLeaf:
			present |= 1 << d
			leaves |= 1 << d
		case subInternal:
			present |= 1 << d
		}
	}
	switch {
	case present == 0:
		return sub{kind: subEmpty, changed: true}, nil
	case bits.OnesCount16(present) == 1 && leaves == present:
		// A lone leaf moves up to this depth (or further): this node disappears.
		d := bits.TrailingZeros16(present)
		if touched&(1<<d) != 0 {
			s := subs[d]
			s.changed = true
			return s, nil
		}
		c := n.child(d)
		return sub{kind: subLeaf, changed: true, leaf: c.asLeaf(), hash: c.hash}, nil
	}
	var nb nodeBuilder
	nb.present, nb.leaves = n.present&^touched, n.leaves&^touched
	for d := range u.r.size() {
		switch {
		case touched&(1<<d) != 0:
			u.setChild(&nb, d, subs[d])
		case n.present&(1<<d) != 0:
			nb.children[d] = *n.child(d)
		}
	}
	return u.finishInternal(depth, path, nb.node(u.r.size()), n, touched), nil
}

// setChild stores s as child d of n (a leaf is held in n: it is written with n).
func (u *updater) setChild(n *nodeBuilder, d int, s sub) {
	switch s.kind {
	case subEmpty:
		return
	case subInternal:
		n.children[d] = child{version: s.version, hash: s.hash}
	case subLeaf:
		n.children[d] = leafChild(s.leaf, s.hash)
		n.leaves |= 1 << d
	}
	n.present |= 1 << d
}

// finishInternal writes the new internal node n at depth and returns it as a sub. prev is
// the node n replaces (nil for a new one) and touched the digits whose children changed.
func (u *updater) finishInternal(depth int, path *types.Hash, n, prev *node, touched uint16) sub {
	u.nodes = append(u.nodes, kv{key: u.nodeKey(u.version, depth, path), n: n, size: n.encodedSize()})
	var hash types.Hash
	if bits.OnesCount16(n.present) > smallNode {
		n.fillInner(u.h, prev, touched)
		hash = n.ranges.Load()[1]
	} else {
		hash = n.hashRange(u.h, 0, u.r.size())
	}
	return sub{kind: subInternal, changed: true, hash: hash, version: u.version}
}

// applyRoot updates the tree whose root is base with items (sorted by key hash, unique)
// and returns the new root record.
func (u *updater) applyRoot(base rootRecord, items []item) (rootRecord, error) {
	if len(items) == 0 {
		return base, nil
	}
	var ref *child
	switch base.kind {
	case rootInternal:
		ref = &child{version: base.version, hash: base.hash}
	case rootLeaf:
		lc := leafChild(base.leaf(), base.hash)
		ref = &lc
	}
	s, err := u.update(0, ref, items)
	if err != nil {
		return rootRecord{}, err
	}
	switch s.kind {
	case subEmpty:
		return rootRecord{kind: rootEmpty, hash: EmptyRoot}, nil
	case subInternal:
		return rootRecord{kind: rootInternal, version: s.version, hash: s.hash}, nil
	}
	return leafRoot(s), nil
}

func sortItems(items []item) {
	// Insertion of one carried leaf into a sorted slice: a single pass suffices.
	for i := len(items) - 1; i > 0 && bytes.Compare(items[i-1].keyHash[:], items[i].keyHash[:]) > 0; i-- {
		items[i-1], items[i] = items[i], items[i-1]
	}
}
