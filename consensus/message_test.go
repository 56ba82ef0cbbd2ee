package consensus

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/wnode/wnode/types"
)

func testMessages(t testing.TB) ([]*Message, *types.ValidatorSet) {
	keys := testKeys(t, 4)
	vals := testValidators(t, keys, equalPowers(4))
	proposer := keys[0]
	for _, k := range keys {
		if crypto.PubkeyToAddress(k.PublicKey) == vals.Proposer(3, 1).Address {
			proposer = k
		}
	}
	block := testBlock("A", 3)
	var votes []*types.Vote
	for _, k := range keys[:3] {
		votes = append(votes, signVote(t, k, types.PrecommitType, 3, 1, testBlockHash("A", 3)))
	}
	c, err := types.NewCommit(votes)
	if err != nil {
		t.Fatal(err)
	}
	return []*Message{
		{Proposal: signProposal(t, proposer, 3, 1, -1, block)},
		{Vote: signVote(t, keys[1], types.PrevoteType, 3, 1, types.Hash{})},
		{Vote: votes[0]},
		{Commit: c},
	}, vals
}

func TestMessageRoundTrip(t *testing.T) {
	msgs, vals := testMessages(t)
	for _, m := range msgs {
		b, err := EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMessage(b)
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if got.Kind() != m.Kind() || got.Height() != 3 {
			t.Fatalf("%v decoded as %v", m, got)
		}
		b2, _ := EncodeMessage(got)
		if !bytes.Equal(b, b2) {
			t.Fatalf("%v: re-encoding differs", m)
		}
		if err := VerifyMessage(testChainID, vals, got); err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if err := VerifyMessage(testChainID+1, vals, got); !errors.Is(err, ErrInvalidMessage) {
			t.Fatalf("%v verified on another chain: %v", m, err)
		}
	}
}

func TestMessageRejects(t *testing.T) {
	msgs, vals := testMessages(t)
	good, _ := EncodeMessage(msgs[1])
	enc := func(kind uint8, body []byte) []byte {
		b, _ := rlp.EncodeToBytes(&messageRLP{kind, body, 0})
		return b
	}
	bad := map[string][]byte{
		"empty":        nil,
		"trailing":     append(bytes.Clone(good), 0),
		"truncated":    good[:len(good)-1],
		"oversized":    make([]byte, MaxMessageSize+1),
		"unknown kind": enc(9, msgs[1].Vote.Encode()),
		"kind 0":       enc(0, msgs[1].Vote.Encode()),
		"wrong body":   enc(uint8(MsgProposal), msgs[1].Vote.Encode()),
		"bad body":     enc(uint8(MsgVote), []byte{0xc0}),
		"not a list":   {0x80},
		"no resend":    func() []byte { b, _ := rlp.EncodeToBytes([]any{uint8(MsgVote), msgs[1].Vote.Encode()}); return b }(),
	}
	for name, b := range bad {
		if _, err := DecodeMessage(b); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: got %v, want ErrInvalidMessage", name, err)
		}
	}
	if _, err := EncodeMessage(&Message{Vote: msgs[1].Vote, Commit: msgs[3].Commit}); err == nil {
		t.Error("encoded a message with two contents")
	}
	if err := VerifyMessage(testChainID, vals, &Message{}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("verified an empty message: %v", err)
	}
	// A proposal correctly signed by a validator that is not the round's proposer.
	for _, k := range testKeys(t, 4) {
		if crypto.PubkeyToAddress(k.PublicKey) == vals.Proposer(3, 1).Address {
			continue
		}
		p := signProposal(t, k, 3, 1, -1, testBlock("A", 3))
		if err := VerifyMessage(testChainID, vals, &Message{Proposal: p}); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("proposal by the wrong proposer: %v", err)
		}
	}
	// A vote whose signature does not match.
	v := *msgs[1].Vote
	v.BlockHash = types.Hash{1}
	if err := VerifyMessage(testChainID, vals, &Message{Vote: &v}); !errors.Is(err, ErrInvalidMessage) || !errors.Is(err, types.ErrInvalidSig) {
		t.Errorf("tampered vote: %v", err)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	msgs, vals := testMessages(f)
	for _, m := range msgs {
		b, _ := EncodeMessage(m)
		f.Add(b)
	}
	f.Add([]byte{0xc3, 0x02, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("error does not wrap ErrInvalidMessage: %v", err)
			}
			return
		}
		b2, err := EncodeMessage(m)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("decoded message does not re-encode to the same bytes: %v", err)
		}
		_ = VerifyMessage(testChainID, vals, m)
	})
}

func FuzzDecodeWALRecord(f *testing.F) {
	msgs, _ := testMessages(f)
	for _, m := range msgs {
		b, _ := encodeWALRecord(walRecord{kind: walReceived, msg: m})
		f.Add(b)
	}
	b, _ := encodeWALRecord(walRecord{kind: walTimeout, timeout: Timeout{Kind: TimeoutKindPrevote, Height: 9, Round: 2}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeWALRecord(b)
		if err != nil {
			return
		}
		b2, err := encodeWALRecord(rec)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("decoded record does not re-encode to the same bytes: %v", err)
		}
	})
}
