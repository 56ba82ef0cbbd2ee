package state

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/wnode/wnode/types"
	"pgregory.net/rapid"
)

// mustFail asserts that the (possibly tampered) encoded proof does not prove value for
// key under root: it does not decode, or it does not verify.
func mustFail(t *rapid.T, what string, root types.Hash, key, value, enc []byte) {
	p, err := DecodeProof(enc)
	if err != nil {
		return
	}
	if err := VerifyProof(root, key, value, p); err == nil {
		t.Fatalf("%s: tampered proof %x verifies", what, enc)
	}
}

// TestProofsTampered: for random trees, the proof of every present and absent key
// verifies; flipping any bit of its encoding, changing, dropping or adding a sibling,
// changing the leaf, the root, the key or the value makes it fail.
func TestProofsTampered(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var cl rapidCleanup
		defer cl.run()
		s := newTestStore(t, &cl, Options{radixBits: rapid.SampledFrom(radixes).Draw(t, "radix")})
		n := rapid.IntRange(0, 200).Draw(t, "n")
		model := map[string][]byte{}
		var cs []Change
		for i := range n {
			k := fmt.Sprintf("key-%d", i)
			v := rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "v")
			model[k] = v
			cs = append(cs, Change{Key: []byte(k), Value: v})
		}
		root := commit(t, s, cs)
		key := []byte(fmt.Sprintf("key-%d", rapid.IntRange(0, n+5).Draw(t, "key"))) // some absent
		value, present := model[string(key)]
		p, err := s.Prove(0, key)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyProof(root, key, value, p); err != nil {
			t.Fatalf("valid proof (present %v): %v", present, err)
		}
		enc := p.Encode()
		if q, err := DecodeProof(enc); err != nil || !bytes.Equal(q.Encode(), enc) {
			t.Fatalf("round trip: %v", err)
		}

		// Every single-bit flip.
		for i := range enc {
			bad := bytes.Clone(enc)
			bad[i] ^= 1 << rapid.IntRange(0, 7).Draw(t, "bit")
			mustFail(t, fmt.Sprintf("flip byte %d", i), root, key, value, bad)
		}
		// Structural changes.
		if len(p.Siblings) > 0 {
			i := rapid.IntRange(0, len(p.Siblings)-1).Draw(t, "sib")
			q := *p
			q.Siblings = append([]types.Hash(nil), p.Siblings...)
			q.Siblings[i] = types.Hash{byte(i + 1)}
			mustFail(t, "changed sibling", root, key, value, q.Encode())
			q.Siblings = p.Siblings[:len(p.Siblings)-1]
			mustFail(t, "dropped last sibling", root, key, value, q.Encode())
			q.Siblings = p.Siblings[1:]
			mustFail(t, "dropped first sibling", root, key, value, q.Encode())
		}
		if p.Leaf != nil || len(p.Siblings) > 0 {
			q := *p
			q.Siblings = append(append([]types.Hash(nil), p.Siblings...), EmptyRoot)
			mustFail(t, "extra empty sibling", root, key, value, q.Encode())
		}
		if p.Leaf != nil {
			q := *p
			q.Leaf = &ProofLeaf{KeyHash: p.Leaf.KeyHash, ValueHash: types.Hash{1}}
			mustFail(t, "changed leaf value", root, key, value, q.Encode())
			q.Leaf = nil
			mustFail(t, "dropped leaf", root, key, value, q.Encode())
		} else if len(p.Siblings) > 0 || n > 0 {
			q := *p
			q.Leaf = &ProofLeaf{KeyHash: types.Hash{2}, ValueHash: types.Hash{3}}
			mustFail(t, "added leaf", root, key, value, q.Encode())
		}
		mustFail(t, "wrong root", types.Hash{9}, key, value, enc)

		// Wrong value, presence instead of absence and the reverse.
		if present {
			if err := VerifyProof(root, key, nil, p); !errors.Is(err, ErrProofMismatch) {
				t.Fatalf("inclusion proof accepted as exclusion: %v", err)
			}
			if err := VerifyProof(root, key, append(bytes.Clone(value), 0), p); !errors.Is(err, ErrProofMismatch) {
				t.Fatalf("wrong value: %v", err)
			}
			if err := VerifyProof(root, []byte("other"), value, p); err == nil {
				t.Fatal("inclusion proof of one key accepted for another")
			}
		} else if err := VerifyProof(root, key, []byte{}, p); !errors.Is(err, ErrProofMismatch) {
			t.Fatalf("exclusion proof accepted as inclusion: %v", err)
		}
	})
}

// TestExclusionOfPresentKeyImpossible: a proof of absence can only be made for an absent
// key: the exclusion proof of an absent key never verifies for any present key.
func TestExclusionOfPresentKeyImpossible(t *testing.T) {
	s := newTestStore(t, t, Options{})
	var cs []Change
	for i := range 64 {
		cs = append(cs, Change{Key: []byte{byte(i)}, Value: []byte{1}})
	}
	root := commit(t, s, cs)
	for i := 64; i < 128; i++ {
		p, err := s.Prove(0, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyProof(root, []byte{byte(i)}, nil, p); err != nil {
			t.Fatalf("absence of %d: %v", i, err)
		}
		for j := range 64 {
			if VerifyProof(root, []byte{byte(j)}, nil, p) == nil {
				t.Fatalf("absence proof of %d proves absence of present key %d", i, j)
			}
		}
	}
}

func TestDecodeProofRejects(t *testing.T) {
	good := (&Proof{Leaf: &ProofLeaf{KeyHash: types.Hash{1}}, Siblings: []types.Hash{{2}, EmptyRoot, {3}}}).Encode()
	if _, err := DecodeProof(good); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":             nil,
		"bad flags":         {2, 0, 0},
		"short leaf":        {1, 0},
		"no count":          {0},
		"too many":          {0, 1, 1},
		"short bitmap":      {0, 0, 9},
		"padding bit":       {0, 0, 1, 0x40},
		"missing sibling":   {0, 0, 1, 0x80},
		"trailing byte":     append(bytes.Clone(good), 0),
		"truncated":         good[:len(good)-1],
		"spelled-out empty": append([]byte{0, 0, 1, 0x80}, EmptyRoot[:]...),
		"oversized":         make([]byte, MaxProofSize+1),
	}
	for name, b := range cases {
		if _, err := DecodeProof(b); !errors.Is(err, ErrBadProof) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := VerifyProof(EmptyRoot, nil, nil, nil); !errors.Is(err, ErrBadProof) {
		t.Errorf("nil proof: %v", err)
	}
	if err := VerifyProof(EmptyRoot, []byte("k"), nil, &Proof{}); err != nil {
		t.Errorf("absence in the empty tree: %v", err)
	}
}

// FuzzDecodeProof: decoding never panics; whatever decodes re-encodes to the same bytes
// (one encoding per proof) and can be verified without panicking.
func FuzzDecodeProof(f *testing.F) {
	f.Add([]byte{0, 0, 0})
	f.Add((&Proof{Leaf: &ProofLeaf{KeyHash: types.Hash{1}}, Siblings: []types.Hash{{2}, EmptyRoot, {3}}}).Encode())
	s := newTestStore(f, f, Options{})
	var cs []Change
	for i := range 100 {
		cs = append(cs, Change{Key: []byte{byte(i)}, Value: []byte{byte(i)}})
	}
	root := commit(f, s, cs)
	for _, k := range []byte{1, 50, 200} {
		p, err := s.Prove(0, []byte{k})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Encode())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProof(b)
		if err != nil {
			if p != nil {
				t.Fatal("proof returned with an error")
			}
			return
		}
		if enc := p.Encode(); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, enc)
		}
		_ = VerifyProof(root, []byte{1}, []byte{1}, p)
		_ = VerifyProof(root, []byte{1}, nil, p)
	})
}
