package types

import (
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"pgregory.net/rapid"
)

// refRoot is RFC 6962's recursive definition, used as the reference for the iterative one.
func refRoot(hs []Hash) Hash {
	switch len(hs) {
	case 0:
		return EmptyRoot
	case 1:
		return LeafHash(hs[0])
	}
	k := splitPoint(len(hs))
	l, r := refRoot(hs[:k]), refRoot(hs[k:])
	return crypto.Keccak256Hash([]byte{innerPrefix}, l[:], r[:])
}

func itemHashes(n int) []Hash {
	hs := make([]Hash, n)
	for i := range hs {
		hs[i] = crypto.Keccak256Hash([]byte{byte(i), byte(i >> 8)})
	}
	return hs
}

func TestMerkleRootKnown(t *testing.T) {
	if EmptyRoot != crypto.Keccak256Hash(nil) {
		t.Fatal("empty root is not keccak256 of nothing")
	}
	a := crypto.Keccak256Hash([]byte("a"))
	if got, want := MerkleRoot([][]byte{[]byte("a")}), crypto.Keccak256Hash([]byte{leafPrefix}, a[:]); got != want {
		t.Fatalf("one leaf: %x, want %x", got, want)
	}
	// A leaf and an inner node over the same 64 bytes hash differently (domain separation).
	hs := itemHashes(2)
	if MerkleRootOfHashes(hs) == LeafHash(crypto.Keccak256Hash(hs[0][:], hs[1][:])) {
		t.Fatal("inner node equals a leaf")
	}
}

func TestMerkleProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 70).Draw(t, "n")
		hs := itemHashes(n)
		root := MerkleRootOfHashes(hs)
		if want := refRoot(hs); root != want {
			t.Fatalf("n=%d: root %x, reference %x", n, root, want)
		}
		if n == 0 {
			if _, err := MerkleProof(hs, 0); err == nil {
				t.Fatal("proof of an empty list")
			}
			return
		}
		i := rapid.IntRange(0, n-1).Draw(t, "i")
		proof, err := MerkleProof(hs, i)
		if err != nil {
			t.Fatal(err)
		}
		if !VerifyMerkleProof(root, hs[i], uint64(i), uint64(n), proof) {
			t.Fatalf("n=%d i=%d: valid proof rejected", n, i)
		}
		// Wrong item, index, size or a tampered path must fail.
		if VerifyMerkleProof(root, crypto.Keccak256Hash([]byte("x")), uint64(i), uint64(n), proof) {
			t.Fatal("proof accepted for another item")
		}
		if n > 1 {
			j := (i + 1) % n
			if hs[j] != hs[i] && VerifyMerkleProof(root, hs[i], uint64(j), uint64(n), proof) {
				t.Fatal("proof accepted at another index")
			}
			bad := append([]Hash{}, proof...)
			bad[rapid.IntRange(0, len(bad)-1).Draw(t, "p")][0] ^= 1
			if VerifyMerkleProof(root, hs[i], uint64(i), uint64(n), bad) {
				t.Fatal("tampered proof accepted")
			}
		}
		// The root does not commit to the size (RFC 6962), but a path of the wrong
		// length for the claimed size is refused.
		if n > 1 && VerifyMerkleProof(root, hs[i], uint64(i), uint64(n), proof[:len(proof)-1]) {
			t.Fatal("truncated proof accepted")
		}
		if VerifyMerkleProof(root, hs[i], uint64(i), uint64(n), append(proof, root)) {
			t.Fatal("extended proof accepted")
		}
		if VerifyMerkleProof(root, hs[i], uint64(n), uint64(n), proof) {
			t.Fatal("index out of range accepted")
		}
	})
}

func BenchmarkMerkleRoot5000(b *testing.B) {
	hs := itemHashes(5000)
	for b.Loop() {
		MerkleRootOfHashes(hs)
	}
}
