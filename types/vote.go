package types

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// SignedMsgType says what a consensus signature is for. It is part of the sign bytes, so
// a signature for one type can never be used as another.
type SignedMsgType uint8

// The signed consensus message types (values as in CometBFT).
const (
	PrevoteType   SignedMsgType = 1
	PrecommitType SignedMsgType = 2
	ProposalType  SignedMsgType = 32
)

// String returns a short human-readable form of the SignedMsgType, for logs.
func (t SignedMsgType) String() string {
	switch t {
	case PrevoteType:
		return "prevote"
	case PrecommitType:
		return "precommit"
	case ProposalType:
		return "proposal"
	}
	return fmt.Sprintf("msgtype(%d)", uint8(t))
}

// Size limits of consensus messages, checked before any decoding.
const (
	// MaxVoteSize bounds an encoded vote (about 140 bytes in practice).
	MaxVoteSize = 256
	// MaxProposalBlockSize bounds the opaque block carried by a proposal.
	MaxProposalBlockSize = 8 << 20
	// MaxProposalSize bounds an encoded proposal: the block plus fixed fields.
	MaxProposalSize = MaxProposalBlockSize + 512
)

// signDomain starts every consensus sign-bytes list so that no other structure the node
// key signs (results served over RPC, transactions) can ever share a preimage with a vote.
const signDomain = "wnode/consensus/1"

// Errors about malformed or wrongly signed votes and proposals.
var (
	ErrInvalidVote     = errors.New("invalid vote")
	ErrInvalidProposal = errors.New("invalid proposal")
)

// Vote is a prevote or precommit by Validator for BlockHash (the zero hash means nil) in
// round Round of height Height. Wire form: RLP [type, height, round, blockHash, validator,
// sig]. Sig is over SignBytes.
type Vote struct {
	Type      SignedMsgType
	Height    uint64
	Round     int32
	BlockHash Hash // zero: a vote for nil
	Validator Address
	Sig       []byte
}

type voteRLP struct {
	Type      uint8
	Height    uint64
	Round     uint32
	BlockHash Hash
	Validator Address
	Sig       []byte
}

// IsNil reports whether the vote is for nil (no block).
func (v *Vote) IsNil() bool { return v.BlockHash == (Hash{}) }

// SignBytes returns keccak256(RLP["wnode/consensus/1", chainID, type, height, round,
// blockHash]): what the validator signs. The chain id stops replays across chains.
func (v *Vote) SignBytes(chainID uint64) Hash {
	return signHash([]any{signDomain, chainID, uint8(v.Type), v.Height, uint32(v.Round), v.BlockHash})
}

func signHash(fields []any) Hash {
	b, err := rlp.EncodeToBytes(fields)
	if err != nil {
		panic(fmt.Sprintf("types: encode sign bytes: %v", err)) // plain fields only
	}
	return crypto.Keccak256Hash(b)
}

// ValidateBasic checks the fields that need no validator set: a prevote or precommit
// type, a non-negative round, a height of at least 1 and a 65-byte signature.
func (v *Vote) ValidateBasic() error {
	if v.Type != PrevoteType && v.Type != PrecommitType {
		return fmt.Errorf("%w: type %d", ErrInvalidVote, uint8(v.Type))
	}
	if v.Height == 0 {
		return fmt.Errorf("%w: height 0", ErrInvalidVote)
	}
	if v.Round < 0 {
		return fmt.Errorf("%w: negative round %d", ErrInvalidVote, v.Round)
	}
	if len(v.Sig) != SignatureLen {
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrInvalidVote, len(v.Sig), SignatureLen)
	}
	return nil
}

// Sign signs the vote with key, which must belong to v.Validator, and sets Sig. It does
// not guard against double signing: the consensus signer does.
func (v *Vote) Sign(chainID uint64, key *ecdsa.PrivateKey) error {
	if a := crypto.PubkeyToAddress(key.PublicKey); a != v.Validator {
		return fmt.Errorf("sign vote: key of %s cannot sign for %s", a, v.Validator)
	}
	sig, err := crypto.Sign(v.SignBytes(chainID).Bytes(), key)
	if err != nil {
		return fmt.Errorf("sign vote: %w", err)
	}
	v.Sig = sig
	return nil
}

// Verify checks ValidateBasic, that Validator is in vs and that Sig is its signature over
// SignBytes(chainID). It costs one public-key recovery (about 25 µs).
func (v *Vote) Verify(chainID uint64, vs *ValidatorSet) error {
	if err := v.ValidateBasic(); err != nil {
		return err
	}
	if err := vs.VerifySignature(v.Validator, v.SignBytes(chainID), v.Sig); err != nil {
		return fmt.Errorf("%w: %s h=%d r=%d by %s: %w", ErrInvalidVote, v.Type, v.Height, v.Round, v.Validator, err)
	}
	return nil
}

// Encode returns the canonical RLP encoding of the vote.
func (v *Vote) Encode() []byte {
	b, err := rlp.EncodeToBytes(&voteRLP{uint8(v.Type), v.Height, uint32(v.Round), v.BlockHash, v.Validator, v.Sig})
	if err != nil {
		panic(fmt.Sprintf("types: encode vote: %v", err))
	}
	return b
}

// DecodeVote strictly decodes a vote: at most MaxVoteSize bytes, canonical RLP, no
// trailing bytes, and fields that pass ValidateBasic. It does not check the signature.
func DecodeVote(b []byte) (*Vote, error) {
	if len(b) > MaxVoteSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidVote, len(b), MaxVoteSize)
	}
	var w voteRLP
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, fmt.Errorf("%w: decode: %v", ErrInvalidVote, err)
	}
	if w.Round > math.MaxInt32 {
		return nil, fmt.Errorf("%w: round %d out of range", ErrInvalidVote, w.Round)
	}
	v := &Vote{SignedMsgType(w.Type), w.Height, int32(w.Round), w.BlockHash, w.Validator, w.Sig}
	if err := v.ValidateBasic(); err != nil {
		return nil, err
	}
	if !bytes.Equal(v.Encode(), b) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrInvalidVote)
	}
	return v, nil
}

// String returns a short human-readable form of the Vote, for logs.
func (v *Vote) String() string {
	h := "nil"
	if !v.IsNil() {
		h = v.BlockHash.TerminalString()
	}
	return fmt.Sprintf("%s{h=%d r=%d %s by %s}", v.Type, v.Height, v.Round, h, v.Validator.Hex()[:10])
}

// Proposal is the proposer's block for round Round of height Height. POLRound is -1, or
// the earlier round in which the proposer saw more than 2/3 prevotes for this block (the
// block is then its "valid value"). Block is opaque to consensus; BlockHash is its hash as
// computed by the application. Wire form: RLP [height, round, polRound+1, blockHash,
// block, proposer, sig]. Sig is over SignBytes, which covers BlockHash but not Block.
type Proposal struct {
	Height    uint64
	Round     int32
	POLRound  int32 // -1: none
	BlockHash Hash
	Block     []byte
	Proposer  Address
	Sig       []byte
}

type proposalRLP struct {
	Height    uint64
	Round     uint32
	POLRound  uint32 // POLRound + 1, so that "none" is 0
	BlockHash Hash
	Block     []byte
	Proposer  Address
	Sig       []byte
}

// SignBytes returns keccak256(RLP["wnode/consensus/1", chainID, 32, height, round,
// polRound+1, blockHash]).
func (p *Proposal) SignBytes(chainID uint64) Hash {
	return signHash([]any{signDomain, chainID, uint8(ProposalType), p.Height, uint32(p.Round), uint32(p.POLRound + 1), p.BlockHash})
}

// ValidateBasic checks the fields that need no validator set: height >= 1, round >= 0,
// -1 <= POLRound < Round, a non-zero block hash, a non-empty block of at most
// MaxProposalBlockSize bytes and a 65-byte signature.
func (p *Proposal) ValidateBasic() error {
	switch {
	case p.Height == 0:
		return fmt.Errorf("%w: height 0", ErrInvalidProposal)
	case p.Round < 0:
		return fmt.Errorf("%w: negative round %d", ErrInvalidProposal, p.Round)
	case p.POLRound < -1 || p.POLRound >= p.Round:
		return fmt.Errorf("%w: POL round %d not in [-1, %d)", ErrInvalidProposal, p.POLRound, p.Round)
	case p.BlockHash == (Hash{}):
		return fmt.Errorf("%w: zero block hash", ErrInvalidProposal)
	case len(p.Block) == 0:
		return fmt.Errorf("%w: empty block", ErrInvalidProposal)
	case len(p.Block) > MaxProposalBlockSize:
		return fmt.Errorf("%w: block is %d bytes, limit %d", ErrInvalidProposal, len(p.Block), MaxProposalBlockSize)
	case len(p.Sig) != SignatureLen:
		return fmt.Errorf("%w: signature is %d bytes, want %d", ErrInvalidProposal, len(p.Sig), SignatureLen)
	}
	return nil
}

// Sign signs the proposal with key, which must belong to p.Proposer, and sets Sig.
func (p *Proposal) Sign(chainID uint64, key *ecdsa.PrivateKey) error {
	if a := crypto.PubkeyToAddress(key.PublicKey); a != p.Proposer {
		return fmt.Errorf("sign proposal: key of %s cannot sign for %s", a, p.Proposer)
	}
	sig, err := crypto.Sign(p.SignBytes(chainID).Bytes(), key)
	if err != nil {
		return fmt.Errorf("sign proposal: %w", err)
	}
	p.Sig = sig
	return nil
}

// Verify checks ValidateBasic, that Proposer is in vs and that Sig is its signature over
// SignBytes(chainID). Whether Proposer is the proposer of the round, and whether Block
// hashes to BlockHash, is for the consensus engine and the application to check.
func (p *Proposal) Verify(chainID uint64, vs *ValidatorSet) error {
	if err := p.ValidateBasic(); err != nil {
		return err
	}
	if err := vs.VerifySignature(p.Proposer, p.SignBytes(chainID), p.Sig); err != nil {
		return fmt.Errorf("%w: h=%d r=%d by %s: %w", ErrInvalidProposal, p.Height, p.Round, p.Proposer, err)
	}
	return nil
}

// Encode returns the canonical RLP encoding of the proposal, block included.
func (p *Proposal) Encode() []byte {
	b, err := rlp.EncodeToBytes(&proposalRLP{p.Height, uint32(p.Round), uint32(p.POLRound + 1), p.BlockHash, p.Block, p.Proposer, p.Sig})
	if err != nil {
		panic(fmt.Sprintf("types: encode proposal: %v", err))
	}
	return b
}

// DecodeProposal strictly decodes a proposal: at most MaxProposalSize bytes, canonical
// RLP, no trailing bytes, fields that pass ValidateBasic. It does not check the signature.
func DecodeProposal(b []byte) (*Proposal, error) {
	if len(b) > MaxProposalSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidProposal, len(b), MaxProposalSize)
	}
	var w proposalRLP
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, fmt.Errorf("%w: decode: %v", ErrInvalidProposal, err)
	}
	if w.Round > math.MaxInt32 || w.POLRound > w.Round {
		return nil, fmt.Errorf("%w: round %d / POL round %d out of range", ErrInvalidProposal, w.Round, int64(w.POLRound)-1)
	}
	p := &Proposal{w.Height, int32(w.Round), int32(w.POLRound) - 1, w.BlockHash, w.Block, w.Proposer, w.Sig}
	if err := p.ValidateBasic(); err != nil {
		return nil, err
	}
	if !bytes.Equal(p.Encode(), b) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrInvalidProposal)
	}
	return p, nil
}

// String returns a short human-readable form of the Proposal, for logs.
func (p *Proposal) String() string {
	return fmt.Sprintf("proposal{h=%d r=%d pol=%d %s by %s}", p.Height, p.Round, p.POLRound,
		p.BlockHash.TerminalString(), p.Proposer.Hex()[:10])
}
