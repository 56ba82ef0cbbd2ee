package types

import (
	"fmt"
	"math/bits"

	"github.com/ethereum/go-ethereum/crypto"
)

// Binary Merkle trees over lists (a block's transactions, its receipts), shaped as in
// RFC 6962 (Certificate Transparency): for n > 1 leaves the left subtree holds the largest
// power of two below n. Hashes are keccak256 with domain separation so that a leaf can
// never be passed off as an inner node:
//
//	leaf  = keccak256(0x00 || keccak256(item))
//	inner = keccak256(0x01 || left || right)
//	root of no items = EmptyRoot = keccak256("")
//
// Leaves hash the item's keccak256 (a tx hash, a receipt hash) rather than the item, so a
// proof of inclusion of a transaction needs only its hash.

const (
	leafPrefix  = 0x00
	innerPrefix = 0x01
)

// EmptyRoot is the root of an empty list: keccak256 of no bytes. It differs from every
// leaf and inner hash, which always hash a prefix byte.
var EmptyRoot = crypto.Keccak256Hash()

// LeafHash returns the Merkle leaf of an item whose keccak256 is itemHash.
func LeafHash(itemHash Hash) Hash {
	var buf [33]byte
	buf[0] = leafPrefix
	copy(buf[1:], itemHash[:])
	return crypto.Keccak256Hash(buf[:])
}

func innerHash(h crypto.KeccakState, buf *[65]byte, l, r Hash) Hash {
	buf[0] = innerPrefix
	copy(buf[1:33], l[:])
	copy(buf[33:], r[:])
	h.Reset()
	h.Write(buf[:])
	var out Hash
	h.Read(out[:])
	return out
}

// MerkleRoot returns the root of the tree over keccak256 of each item (items are RLP
// encodings). It costs two keccak256 per item plus the hashing of the items.
func MerkleRoot(items [][]byte) Hash {
	hashes := make([]Hash, len(items))
	for i, it := range items {
		hashes[i] = crypto.Keccak256Hash(it)
	}
	return MerkleRootOfHashes(hashes)
}

// MerkleRootOfHashes returns the root of the tree whose items have the given keccak256
// hashes. It costs 2n-1 keccak256 of at most 65 bytes and does not modify hashes.
func MerkleRootOfHashes(itemHashes []Hash) Hash {
	if len(itemHashes) == 0 {
		return EmptyRoot
	}
	level := make([]Hash, len(itemHashes))
	for i, h := range itemHashes {
		level[i] = LeafHash(h)
	}
	// Pairing bottom-up and carrying an odd last node up unchanged builds exactly the
	// RFC 6962 tree.
	k := crypto.NewKeccakState()
	var buf [65]byte
	for len(level) > 1 {
		n := 0
		for i := 0; i+1 < len(level); i += 2 {
			level[n] = innerHash(k, &buf, level[i], level[i+1])
			n++
		}
		if len(level)%2 == 1 {
			level[n] = level[len(level)-1]
			n++
		}
		level = level[:n]
	}
	return level[0]
}

// MerkleProof returns the audit path of item index in the tree over itemHashes: the
// sibling hashes from the leaf up to the root. It costs about 2n keccak256.
func MerkleProof(itemHashes []Hash, index int) ([]Hash, error) {
	if index < 0 || index >= len(itemHashes) {
		return nil, fmt.Errorf("merkle proof: index %d out of range [0, %d)", index, len(itemHashes))
	}
	var path []Hash
	lo, hi := 0, len(itemHashes)
	// Walk down from the root, remembering the sibling subtree root at each level, then
	// reverse: the proof goes leaf to root.
	for hi-lo > 1 {
		k := splitPoint(hi - lo)
		if index < lo+k {
			path = append(path, MerkleRootOfHashes(itemHashes[lo+k:hi]))
			hi = lo + k
		} else {
			path = append(path, MerkleRootOfHashes(itemHashes[lo:lo+k]))
			lo += k
		}
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, nil
}

// VerifyMerkleProof reports whether proof shows that the item with keccak256 itemHash is
// at index in a list of total items whose tree has the given root (RFC 9162, 2.1.3.2).
func VerifyMerkleProof(root Hash, itemHash Hash, index, total uint64, proof []Hash) bool {
	if index >= total {
		return false
	}
	fn, sn := index, total-1
	r := LeafHash(itemHash)
	k := crypto.NewKeccakState()
	var buf [65]byte
	for _, p := range proof {
		if sn == 0 {
			return false
		}
		if fn&1 == 1 || fn == sn {
			r = innerHash(k, &buf, p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = innerHash(k, &buf, r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	return sn == 0 && r == root
}

// splitPoint is the largest power of two strictly below n (n >= 2).
func splitPoint(n int) int {
	return 1 << (bits.Len(uint(n-1)) - 1)
}

// TxRoot is the Merkle root of a block's transactions, over their hashes.
func TxRoot(txs []*Tx) Hash {
	hs := make([]Hash, len(txs))
	for i, tx := range txs {
		hs[i] = tx.Hash()
	}
	return MerkleRootOfHashes(hs)
}

// ReceiptRoot is the Merkle root of a block's receipts, over keccak256 of their RLP.
func ReceiptRoot(receipts []*Receipt) Hash {
	hs := make([]Hash, len(receipts))
	for i, r := range receipts {
		hs[i] = r.Hash()
	}
	return MerkleRootOfHashes(hs)
}
