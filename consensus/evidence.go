package consensus

import (
	"errors"
	"fmt"

	"github.com/wnode/wnode/types"
)

// SignedValue is one of two conflicting signed messages in a DuplicateVoteEvidence:
// what the validator signed (block hash, and POL round for a proposal) and its signature.
type SignedValue struct {
	BlockHash types.Hash
	POLRound  int32 // proposals only; 0 for votes
	Sig       []byte
}

// DuplicateVoteEvidence proves that Validator signed two different messages of the same
// type (prevote, precommit or proposal) for the same height and round: an equivocation
// no honest validator commits. It carries enough to be checked by anyone (Verify).
type DuplicateVoteEvidence struct {
	Type      types.SignedMsgType
	Validator types.Address
	Height    uint64
	Round     int32
	A, B      SignedValue
}

// ErrInvalidEvidence is returned by DuplicateVoteEvidence.Verify.
var ErrInvalidEvidence = errors.New("invalid evidence")

func (e *DuplicateVoteEvidence) signBytes(chainID uint64, s SignedValue) types.Hash {
	if e.Type == types.ProposalType {
		p := types.Proposal{Height: e.Height, Round: e.Round, POLRound: s.POLRound, BlockHash: s.BlockHash}
		return p.SignBytes(chainID)
	}
	v := types.Vote{Type: e.Type, Height: e.Height, Round: e.Round, BlockHash: s.BlockHash}
	return v.SignBytes(chainID)
}

// Verify checks that A and B differ and are both valid signatures by Validator, a member
// of vals, on chainID. It costs two public-key recoveries.
func (e *DuplicateVoteEvidence) Verify(chainID uint64, vals *types.ValidatorSet) error {
	switch e.Type {
	case types.PrevoteType, types.PrecommitType, types.ProposalType:
	default:
		return fmt.Errorf("%w: type %d", ErrInvalidEvidence, e.Type)
	}
	a, b := e.signBytes(chainID, e.A), e.signBytes(chainID, e.B)
	if a == b {
		return fmt.Errorf("%w: the two messages are the same", ErrInvalidEvidence)
	}
	for _, x := range []struct {
		h   types.Hash
		sig []byte
	}{{a, e.A.Sig}, {b, e.B.Sig}} {
		if err := vals.VerifySignature(e.Validator, x.h, x.sig); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidEvidence, err)
		}
	}
	return nil
}

// String returns a short human-readable form of the DuplicateVoteEvidence, for logs.
func (e *DuplicateVoteEvidence) String() string {
	return fmt.Sprintf("equivocation{%s h=%d r=%d by %s: %s vs %s}", e.Type, e.Height, e.Round,
		e.Validator.Hex()[:10], e.A.BlockHash.TerminalString(), e.B.BlockHash.TerminalString())
}

type evidenceKey struct {
	typ       types.SignedMsgType
	validator types.Address
	height    uint64
	round     int32
}
