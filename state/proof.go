package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// Proof proves that a key has a given value, or is absent, in the tree with a given root.
// It is the path of the binary tree from the root towards keccak256(key): the siblings met
// on the way and the leaf where the path ends (nil when it ends in an empty subtree). A
// proof for a key that is present ends at the key's own leaf; a proof of absence ends at
// an empty subtree or at another key's leaf sharing the path so far.
type Proof struct {
	// Leaf is the leaf where the path ends, or nil for an empty subtree.
	Leaf *ProofLeaf
	// Siblings[i] is the hash of the sibling of the path's node at depth i+1, root first.
	Siblings []types.Hash
}

// ProofLeaf is a leaf of the tree: the keccak256 of its key and of its value.
type ProofLeaf struct {
	KeyHash, ValueHash types.Hash
}

// Verification errors. VerifyProof wraps one of them; callers branch with errors.Is.
var (
	// ErrProofInvalid: the proof does not lead to the root (tampered, wrong key or root).
	ErrProofInvalid = errors.New("state: proof does not match root")
	// ErrProofMismatch: the proof is valid but proves another value, or presence instead of
	// absence (or the reverse).
	ErrProofMismatch = errors.New("state: proof proves a different value")
	// ErrBadProof: the encoding is malformed.
	ErrBadProof = errors.New("state: malformed proof")
)

// VerifyProof checks that p proves, under root, that key has value, or that key is
// absent when value is nil (use an empty non-nil slice for a present, empty value). It
// needs no access to the state. Cost: one keccak256 per sibling plus three.
func VerifyProof(root types.Hash, key, value []byte, p *Proof) error {
	if p == nil || len(p.Siblings) > 256 {
		return fmt.Errorf("%w: nil or longer than 256", ErrBadProof)
	}
	keyHash := crypto.Keccak256Hash(key)
	h := newHasher()
	cur := EmptyRoot
	if p.Leaf != nil {
		for i := range p.Siblings {
			if bit(&keyHash, i) != bit(&p.Leaf.KeyHash, i) {
				return fmt.Errorf("%w: proof leaf is off the key's path", ErrProofInvalid)
			}
		}
		cur = h.leaf(p.Leaf.KeyHash, p.Leaf.ValueHash)
	}
	for i := len(p.Siblings) - 1; i >= 0; i-- {
		if bit(&keyHash, i) == 0 {
			cur = h.inner(cur, p.Siblings[i])
		} else {
			cur = h.inner(p.Siblings[i], cur)
		}
	}
	if cur != root {
		return ErrProofInvalid
	}
	present := p.Leaf != nil && p.Leaf.KeyHash == keyHash
	switch {
	case value == nil && present:
		return fmt.Errorf("%w: key is present", ErrProofMismatch)
	case value != nil && !present:
		return fmt.Errorf("%w: key is absent", ErrProofMismatch)
	case value != nil && p.Leaf.ValueHash != crypto.Keccak256Hash(value):
		return fmt.Errorf("%w: value differs", ErrProofMismatch)
	}
	return nil
}

// MaxProofSize is the largest encoded proof: a leaf and 256 non-empty siblings.
const MaxProofSize = 1 + 64 + 2 + 32 + 256*32

// Encode returns p's canonical encoding:
//
//	flags (1 B: 0x01 = has leaf) || [keyHash || valueHash] || n (2 B, ≤ 256) ||
//	bitmap (ceil(n/8) B, bit i = sibling i is not EmptyRoot) || the non-empty siblings
//
// Empty siblings, the majority deep in a sparse tree, cost one bit.
func (p *Proof) Encode() []byte {
	n := len(p.Siblings)
	out := make([]byte, 0, 1+64+2+(n+7)/8+32*n)
	if p.Leaf != nil {
		out = append(out, 1)
		out = append(out, p.Leaf.KeyHash[:]...)
		out = append(out, p.Leaf.ValueHash[:]...)
	} else {
		out = append(out, 0)
	}
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	bm := len(out)
	out = append(out, make([]byte, (n+7)/8)...)
	for i, s := range p.Siblings {
		if s != EmptyRoot {
			out[bm+i/8] |= 0x80 >> (i % 8)
			out = append(out, s[:]...)
		}
	}
	return out
}

// DecodeProof decodes an encoded proof strictly: exactly one encoding is accepted per
// proof (no trailing bytes, no set padding bits, no EmptyRoot spelled out as a sibling),
// at most MaxProofSize bytes. It never panics on any input.
func DecodeProof(b []byte) (*Proof, error) {
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrBadProof, len(b), MaxProofSize)
	}
	if len(b) < 1 || b[0] > 1 {
		return nil, fmt.Errorf("%w: bad flags", ErrBadProof)
	}
	p := new(Proof)
	if b[0] == 1 {
		if len(b) < 65 {
			return nil, fmt.Errorf("%w: short leaf", ErrBadProof)
		}
		p.Leaf = new(ProofLeaf)
		copy(p.Leaf.KeyHash[:], b[1:33])
		copy(p.Leaf.ValueHash[:], b[33:65])
		b = b[65:]
	} else {
		b = b[1:]
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: missing sibling count", ErrBadProof)
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n > 256 {
		return nil, fmt.Errorf("%w: %d siblings > 256", ErrBadProof, n)
	}
	nb := (n + 7) / 8
	if len(b) < nb {
		return nil, fmt.Errorf("%w: short bitmap", ErrBadProof)
	}
	bm, b := b[:nb], b[nb:]
	if n%8 != 0 && bm[nb-1]&(0xff>>(n%8)) != 0 {
		return nil, fmt.Errorf("%w: padding bits set", ErrBadProof)
	}
	set := 0
	for _, x := range bm {
		set += bits.OnesCount8(x)
	}
	if len(b) != 32*set {
		return nil, fmt.Errorf("%w: %d bytes of siblings, want %d", ErrBadProof, len(b), 32*set)
	}
	p.Siblings = make([]types.Hash, n)
	for i := range p.Siblings {
		if bm[i/8]&(0x80>>(i%8)) == 0 {
			p.Siblings[i] = EmptyRoot
			continue
		}
		copy(p.Siblings[i][:], b[:32])
		b = b[32:]
		if p.Siblings[i] == EmptyRoot {
			return nil, fmt.Errorf("%w: empty sibling spelled out", ErrBadProof)
		}
	}
	return p, nil
}

// prove walks the stored tree of root towards keyHash and returns the proof.
func prove(src nodeSource, r radix, root rootRecord, keyHash types.Hash) (*Proof, error) {
	p := new(Proof)
	switch root.kind {
	case rootEmpty:
		return p, nil
	case rootLeaf:
		p.Leaf = &ProofLeaf{KeyHash: root.keyHash, ValueHash: root.valueHash}
		return p, nil
	}
	h := newHasher()
	n, err := src.loadNode(nodeKey(root.version, 0, &keyHash, r))
	if err != nil {
		return nil, err
	}
	for depth := 0; ; depth++ {
		if depth >= r.maxDepth() { // only a corrupt store has internal nodes this deep
			return nil, errBadNode
		}
		d := r.digit(&keyHash, depth)
		lo, hi, k := 0, r.size(), 1 // k: the heap index of [lo, hi) in n.rangeHashes
		ranges := n.rangeHashes(h, r.size())
		for {
			mask := rangeMask(lo, hi)
			cnt := bits.OnesCount16(n.present & mask)
			if cnt == 0 {
				return p, nil // empty subtree
			}
			if cnt == 1 && n.leaves&mask != 0 || hi-lo == 1 {
				break // the path reaches a stored child
			}
			mid := (lo + hi) / 2
			if d < mid {
				p.Siblings = append(p.Siblings, n.siblingHash(ranges, 2*k+1, mid, hi))
				hi, k = mid, 2*k
			} else {
				p.Siblings = append(p.Siblings, n.siblingHash(ranges, 2*k, lo, mid))
				lo, k = mid, 2*k+1
			}
		}
		i := bits.TrailingZeros16(n.present & rangeMask(lo, hi))
		cpath := r.withDigit(keyHash, depth, i)
		c := n.child(i)
		if c.isLeaf {
			p.Leaf = &ProofLeaf{KeyHash: c.keyHash, ValueHash: c.valueHash}
			return p, nil
		}
		if n, err = src.loadNode(nodeKey(c.version, depth+1, &cpath, r)); err != nil {
			return nil, err
		}
	}
}
