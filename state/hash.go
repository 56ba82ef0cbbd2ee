package state

import (
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/wnode/wnode/types"
)

// The tree is a binary sparse Merkle tree over the 256-bit keccak256 of each key, in the
// compressed form of Diem's Jellyfish Merkle tree: a subtree holding a single leaf is
// replaced by that leaf, an empty subtree hashes to EmptyRoot. Hashes are keccak256 with
// domain separation, as for the block's Merkle roots in package types:
//
//	leaf  = keccak256(0x00 || keccak256(key) || keccak256(value))
//	inner = keccak256(0x01 || left || right)
//	empty = EmptyRoot = keccak256("")
//
// The shape, and so the root, depends only on the set of pairs: not on the order or
// grouping of writes, nor on the radix of the stored nodes.

// EmptyRoot is the root of the empty state, and the hash of every empty subtree. It is
// keccak256 of no bytes (types.EmptyRoot), which no leaf or inner hash can equal.
var EmptyRoot = crypto.Keccak256Hash()

const (
	leafDomain  = 0x00
	innerDomain = 0x01
)

// hasher hashes leaves and inner nodes without allocating. Not safe for concurrent use.
type hasher struct {
	k   crypto.KeccakState
	buf [65]byte
	out types.Hash // Read's destination: a local would escape through the interface
	n   int        // hashes computed, for measurements
}

func newHasher() *hasher { return &hasher{k: crypto.NewKeccakState()} }

func (h *hasher) sum(n int) types.Hash {
	h.n++
	h.k.Reset()
	h.k.Write(h.buf[:n])
	h.k.Read(h.out[:])
	return h.out
}

func (h *hasher) leaf(keyHash, valueHash types.Hash) types.Hash {
	h.buf[0] = leafDomain
	copy(h.buf[1:33], keyHash[:])
	copy(h.buf[33:65], valueHash[:])
	return h.sum(65)
}

func (h *hasher) inner(l, r types.Hash) types.Hash {
	h.buf[0] = innerDomain
	copy(h.buf[1:33], l[:])
	copy(h.buf[33:65], r[:])
	return h.sum(65)
}

// LeafHash returns the tree's leaf hash of a pair from the keccak256 of its key and value.
func LeafHash(keyHash, valueHash types.Hash) types.Hash { return newHasher().leaf(keyHash, valueHash) }

// bit returns bit i (0 = most significant) of h.
func bit(h *types.Hash, i int) int { return int(h[i>>3]>>(7-uint(i&7))) & 1 }
