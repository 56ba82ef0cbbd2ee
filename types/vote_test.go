package types

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"pgregory.net/rapid"
)

const voteTestChain = 7

func signedTestVote(t testing.TB, typ SignedMsgType, h uint64, r int32, block Hash) (*Vote, *ValidatorSet) {
	t.Helper()
	vs, keys := validatorTestSet(t, 1, 1, 1, 1)
	v := &Vote{Type: typ, Height: h, Round: r, BlockHash: block, Validator: crypto.PubkeyToAddress(keys[0].PublicKey)}
	if err := v.Sign(voteTestChain, keys[0]); err != nil {
		t.Fatal(err)
	}
	return v, vs
}

func signedTestProposal(t testing.TB) (*Proposal, *ValidatorSet) {
	t.Helper()
	vs, keys := validatorTestSet(t, 1, 1, 1, 1)
	p := &Proposal{Height: 9, Round: 3, POLRound: 1, BlockHash: Hash{0xbb}, Block: []byte("block bytes"),
		Proposer: crypto.PubkeyToAddress(keys[2].PublicKey)}
	if err := p.Sign(voteTestChain, keys[2]); err != nil {
		t.Fatal(err)
	}
	return p, vs
}

func TestVoteRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		v := &Vote{
			Type:      rapid.SampledFrom([]SignedMsgType{PrevoteType, PrecommitType}).Draw(rt, "type"),
			Height:    rapid.Uint64Range(1, ^uint64(0)).Draw(rt, "height"),
			Round:     rapid.Int32Range(0, 1<<31-1).Draw(rt, "round"),
			Validator: Address(rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(rt, "validator")),
			Sig:       rapid.SliceOfN(rapid.Byte(), 65, 65).Draw(rt, "sig"),
		}
		if rapid.Bool().Draw(rt, "nonNil") {
			v.BlockHash = Hash(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(rt, "hash"))
		}
		enc := v.Encode()
		if len(enc) > MaxVoteSize {
			rt.Fatalf("encoding of %d bytes exceeds MaxVoteSize", len(enc))
		}
		got, err := DecodeVote(enc)
		if err != nil {
			rt.Fatal(err)
		}
		if !bytes.Equal(got.Encode(), enc) || got.SignBytes(1) != v.SignBytes(1) {
			rt.Fatal("round trip changed the vote")
		}
	})
}

func TestProposalRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		round := rapid.Int32Range(0, 1<<31-1).Draw(rt, "round")
		p := &Proposal{
			Height:    rapid.Uint64Range(1, ^uint64(0)).Draw(rt, "height"),
			Round:     round,
			POLRound:  rapid.Int32Range(-1, round-1).Draw(rt, "pol"),
			BlockHash: Hash(rapid.SliceOfN(rapid.Byte(), 32, 32).Filter(func(b []byte) bool { return Hash(b) != Hash{} }).Draw(rt, "hash")),
			Block:     rapid.SliceOfN(rapid.Byte(), 1, 300).Draw(rt, "block"),
			Proposer:  Address(rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(rt, "proposer")),
			Sig:       rapid.SliceOfN(rapid.Byte(), 65, 65).Draw(rt, "sig"),
		}
		enc := p.Encode()
		got, err := DecodeProposal(enc)
		if err != nil {
			rt.Fatal(err)
		}
		if !bytes.Equal(got.Encode(), enc) || got.POLRound != p.POLRound || got.SignBytes(1) != p.SignBytes(1) {
			rt.Fatal("round trip changed the proposal")
		}
	})
}

func TestVoteSignVerify(t *testing.T) {
	v, vs := signedTestVote(t, PrecommitType, 5, 2, Hash{0xaa})
	if err := v.Verify(voteTestChain, vs); err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(voteTestChain+1, vs); !errors.Is(err, ErrInvalidVote) || !errors.Is(err, ErrInvalidSig) {
		t.Fatalf("other chain: %v", err)
	}
	// Every signed field is covered.
	for name, mut := range map[string]func(*Vote){
		"type":   func(v *Vote) { v.Type = PrevoteType },
		"height": func(v *Vote) { v.Height++ },
		"round":  func(v *Vote) { v.Round++ },
		"hash":   func(v *Vote) { v.BlockHash = Hash{} },
	} {
		w := *v
		mut(&w)
		if err := w.Verify(voteTestChain, vs); !errors.Is(err, ErrInvalidVote) {
			t.Errorf("%s changed: %v", name, err)
		}
	}
	w := *v
	w.Validator = vs.At(1).Address
	if w.Validator == v.Validator {
		w.Validator = vs.At(0).Address
	}
	if err := w.Verify(voteTestChain, vs); !errors.Is(err, ErrInvalidSig) {
		t.Errorf("signature claimed by another validator: %v", err)
	}
	w = *v
	w.Validator = Address{1}
	if err := w.Verify(voteTestChain, vs); !errors.Is(err, ErrUnknownValidator) {
		t.Errorf("non-member: %v", err)
	}
	// The high-S twin of a valid signature is rejected (no malleability).
	n := crypto.S256().Params().N
	s := new(big.Int).SetBytes(v.Sig[32:64])
	w = *v
	w.Sig = bytes.Clone(v.Sig)
	new(big.Int).Sub(n, s).FillBytes(w.Sig[32:64])
	w.Sig[64] ^= 1
	if err := w.Verify(voteTestChain, vs); !errors.Is(err, ErrInvalidSig) {
		t.Errorf("high-S signature: %v", err)
	}
	// A key cannot sign for someone else.
	_, keys := validatorTestSet(t, 1, 1)
	w = *v
	if err := w.Sign(voteTestChain, keys[1]); err == nil {
		t.Error("signed a vote of another validator")
	}
}

func TestSignBytesDomains(t *testing.T) {
	pv := &Vote{Type: PrevoteType, Height: 1, Round: 0, BlockHash: Hash{1}}
	pc := &Vote{Type: PrecommitType, Height: 1, Round: 0, BlockHash: Hash{1}}
	pr := &Proposal{Height: 1, Round: 0, POLRound: -1, BlockHash: Hash{1}}
	seen := map[Hash]string{}
	for name, h := range map[string]Hash{
		"prevote": pv.SignBytes(1), "precommit": pc.SignBytes(1), "proposal": pr.SignBytes(1), "prevote chain 2": pv.SignBytes(2),
	} {
		if other, dup := seen[h]; dup {
			t.Fatalf("%s and %s have the same sign bytes", name, other)
		}
		seen[h] = name
	}
	pr2 := *pr
	pr2.POLRound = 0
	pr2.Round = 1
	pr3 := pr2
	pr3.POLRound = -1
	if pr2.SignBytes(1) == pr3.SignBytes(1) {
		t.Fatal("POL round not covered by the proposal's sign bytes")
	}
}

func TestProposalSignVerify(t *testing.T) {
	p, vs := signedTestProposal(t)
	if err := p.Verify(voteTestChain, vs); err != nil {
		t.Fatal(err)
	}
	q := *p
	q.POLRound = -1
	if err := q.Verify(voteTestChain, vs); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("POL round changed: %v", err)
	}
	q = *p
	q.Block = []byte("other block") // not signed: the application checks it against BlockHash
	if err := q.Verify(voteTestChain, vs); err != nil {
		t.Fatalf("block bytes are not part of the signature: %v", err)
	}
}

func TestVoteRejects(t *testing.T) {
	v, _ := signedTestVote(t, PrevoteType, 5, 2, Hash{})
	enc := v.Encode()
	bad := map[string][]byte{
		"trailing":  append(bytes.Clone(enc), 0),
		"truncated": enc[:len(enc)-1],
		"oversized": make([]byte, MaxVoteSize+1),
		"empty":     nil,
	}
	for name, mut := range map[string]func(*voteRLP){
		"type 0":     func(w *voteRLP) { w.Type = 0 },
		"type 32":    func(w *voteRLP) { w.Type = 32 },
		"height 0":   func(w *voteRLP) { w.Height = 0 },
		"round 2^31": func(w *voteRLP) { w.Round = 1 << 31 },
		"short sig":  func(w *voteRLP) { w.Sig = w.Sig[:64] },
		"no sig":     func(w *voteRLP) { w.Sig = nil },
	} {
		w := voteRLP{uint8(v.Type), v.Height, uint32(v.Round), v.BlockHash, v.Validator, v.Sig}
		mut(&w)
		b, err := rlpEncodeForTest(&w)
		if err != nil {
			t.Fatal(err)
		}
		bad[name] = b
	}
	for name, b := range bad {
		if _, err := DecodeVote(b); !errors.Is(err, ErrInvalidVote) {
			t.Errorf("%s: got %v, want ErrInvalidVote", name, err)
		}
	}
}

func TestProposalRejects(t *testing.T) {
	p, _ := signedTestProposal(t)
	enc := p.Encode()
	bad := map[string][]byte{
		"trailing":  append(bytes.Clone(enc), 0),
		"truncated": enc[:len(enc)-1],
		"oversized": make([]byte, MaxProposalSize+1),
	}
	for name, mut := range map[string]func(*proposalRLP){
		"pol = round": func(w *proposalRLP) { w.POLRound = w.Round + 1 },
		"zero hash":   func(w *proposalRLP) { w.BlockHash = Hash{} },
		"empty block": func(w *proposalRLP) { w.Block = nil },
		"height 0":    func(w *proposalRLP) { w.Height = 0 },
		"long sig":    func(w *proposalRLP) { w.Sig = append(bytes.Clone(w.Sig), 0) },
	} {
		w := proposalRLP{p.Height, uint32(p.Round), uint32(p.POLRound + 1), p.BlockHash, p.Block, p.Proposer, p.Sig}
		mut(&w)
		b, err := rlpEncodeForTest(&w)
		if err != nil {
			t.Fatal(err)
		}
		bad[name] = b
	}
	for name, b := range bad {
		if _, err := DecodeProposal(b); !errors.Is(err, ErrInvalidProposal) {
			t.Errorf("%s: got %v, want ErrInvalidProposal", name, err)
		}
	}
}

func FuzzDecodeVote(f *testing.F) {
	v, _ := signedTestVote(f, PrecommitType, 5, 2, Hash{0xaa})
	f.Add(v.Encode())
	v, _ = signedTestVote(f, PrevoteType, 1, 0, Hash{})
	f.Add(v.Encode())
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeVote(b)
		if err != nil {
			return
		}
		if !bytes.Equal(v.Encode(), b) {
			t.Fatal("decoded vote does not re-encode to the same bytes")
		}
	})
}

func FuzzDecodeProposal(f *testing.F) {
	p, _ := signedTestProposal(f)
	f.Add(p.Encode())
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProposal(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Encode(), b) {
			t.Fatal("decoded proposal does not re-encode to the same bytes")
		}
	})
}
