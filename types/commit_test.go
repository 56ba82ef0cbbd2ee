package types

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

func rlpEncodeForTest(v any) ([]byte, error) { return rlp.EncodeToBytes(v) }

// testPrecommits returns precommits for block in (h, r) signed by the given keys.
func testPrecommits(t testing.TB, keys []*ecdsa.PrivateKey, h uint64, r int32, block Hash) []*Vote {
	t.Helper()
	var votes []*Vote
	for _, k := range keys {
		v := &Vote{Type: PrecommitType, Height: h, Round: r, BlockHash: block, Validator: crypto.PubkeyToAddress(k.PublicKey)}
		if err := v.Sign(voteTestChain, k); err != nil {
			t.Fatal(err)
		}
		votes = append(votes, v)
	}
	return votes
}

func TestCommitVerify(t *testing.T) {
	vs, keys := validatorTestSet(t, 1, 1, 1, 1)
	block := Hash{0xcc}
	c, err := NewCommit(testPrecommits(t, keys[:3], 4, 1, block))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(voteTestChain, vs); err != nil {
		t.Fatalf("3 of 4: %v", err)
	}
	if err := c.Verify(voteTestChain+1, vs); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("other chain: %v", err)
	}
	two, _ := NewCommit(testPrecommits(t, keys[:2], 4, 1, block))
	if err := two.Verify(voteTestChain, vs); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("2 of 4 accepted: %v", err)
	}
	// A signature for another block, or by an outsider, spoils the commit.
	mixed := testPrecommits(t, keys[:3], 4, 1, block)
	other := testPrecommits(t, keys[3:], 4, 1, Hash{0xdd})[0]
	c2 := &Commit{Height: 4, Round: 1, BlockHash: block}
	for _, v := range append(mixed, other) {
		c2.Sigs = append(c2.Sigs, CommitSig{v.Validator, v.Sig})
	}
	sortCommitSigs(c2)
	if err := c2.Verify(voteTestChain, vs); !errors.Is(err, ErrInvalidSig) {
		t.Fatalf("signature for another block: %v", err)
	}
	outsider := validatorTestKeys(t, 5)[4]
	c3, _ := NewCommit(append(testPrecommits(t, keys[:3], 4, 1, block), testPrecommits(t, []*ecdsa.PrivateKey{outsider}, 4, 1, block)...))
	if err := c3.Verify(voteTestChain, vs); !errors.Is(err, ErrUnknownValidator) {
		t.Fatalf("outsider's signature: %v", err)
	}
	// Duplicates are rejected by shape.
	dup := *c
	dup.Sigs = append([]CommitSig{c.Sigs[0]}, c.Sigs...)
	if err := dup.Verify(voteTestChain, vs); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("duplicate signature: %v", err)
	}
	if _, err := NewCommit(append(testPrecommits(t, keys[:1], 4, 1, block), testPrecommits(t, keys[1:2], 4, 2, block)...)); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("mixed rounds: %v", err)
	}
}

func sortCommitSigs(c *Commit) {
	for i := range c.Sigs {
		for j := i + 1; j < len(c.Sigs); j++ {
			if bytes.Compare(c.Sigs[j].Validator[:], c.Sigs[i].Validator[:]) < 0 {
				c.Sigs[i], c.Sigs[j] = c.Sigs[j], c.Sigs[i]
			}
		}
	}
}

func TestCommitWeighted(t *testing.T) {
	// One validator with 7 of 10 power is a quorum alone; the other three together are not.
	vs, keys := validatorTestSet(t, 7, 1, 1, 1)
	big, _ := NewCommit(testPrecommits(t, keys[:1], 1, 0, Hash{1}))
	if err := big.Verify(voteTestChain, vs); err != nil {
		t.Fatalf("7 of 10: %v", err)
	}
	small, _ := NewCommit(testPrecommits(t, keys[1:], 1, 0, Hash{1}))
	if err := small.Verify(voteTestChain, vs); !errors.Is(err, ErrInvalidCommit) {
		t.Fatalf("3 of 10: %v", err)
	}
}

func TestCommitEncoding(t *testing.T) {
	_, keys := validatorTestSet(t, 1, 1, 1, 1)
	c, _ := NewCommit(testPrecommits(t, keys, 10, 3, Hash{0xee}))
	enc := c.Encode()
	got, err := DecodeCommit(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != c.Hash() || !bytes.Equal(got.Encode(), enc) {
		t.Fatal("round trip changed the commit")
	}
	// The order of the votes does not change the commit.
	votes := testPrecommits(t, keys, 10, 3, Hash{0xee})
	rev, _ := NewCommit([]*Vote{votes[3], votes[2], votes[1], votes[0]})
	if rev.Hash() != c.Hash() {
		t.Fatal("commit hash depends on vote order")
	}
	unsorted := *c
	unsorted.Sigs = []CommitSig{c.Sigs[1], c.Sigs[0], c.Sigs[2], c.Sigs[3]}
	bad := map[string][]byte{
		"trailing":  append(bytes.Clone(enc), 0),
		"truncated": enc[:len(enc)-1],
		"oversized": make([]byte, MaxCommitSize+1),
		"unsorted":  unsorted.Encode(),
		"no sigs":   (&Commit{Height: 1, BlockHash: Hash{1}}).Encode(),
		"zero hash": (&Commit{Height: 1, Sigs: c.Sigs}).Encode(),
	}
	for name, b := range bad {
		if _, err := DecodeCommit(b); !errors.Is(err, ErrInvalidCommit) {
			t.Errorf("%s: got %v, want ErrInvalidCommit", name, err)
		}
	}
	v := c.Vote(2)
	if v.Type != PrecommitType || v.Height != 10 || v.Round != 3 || v.Validator != c.Sigs[2].Validator {
		t.Fatalf("Vote(2) = %v", v)
	}
}

func FuzzDecodeCommit(f *testing.F) {
	_, keys := validatorTestSet(f, 1, 1, 1, 1)
	c, _ := NewCommit(testPrecommits(f, keys, 10, 3, Hash{0xee}))
	f.Add(c.Encode())
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommit(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Encode(), b) {
			t.Fatal("decoded commit does not re-encode to the same bytes")
		}
	})
}
