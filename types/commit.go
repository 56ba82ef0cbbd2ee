package types

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// MaxCommitSize bounds an encoded commit: MaxValidators signatures of about 90 bytes each.
const MaxCommitSize = 128 << 10

// ErrInvalidCommit is wrapped by every error about a malformed or insufficient commit.
var ErrInvalidCommit = errors.New("invalid commit")

// CommitSig is one validator's precommit signature inside a Commit.
type CommitSig struct {
	Validator Address
	Sig       []byte
}

// Commit is the certificate that a block was decided: the precommit signatures for
// BlockHash in round Round of height Height from validators holding more than 2/3 of the
// voting power. Sigs are sorted by validator address, without duplicates, so a given set
// of signatures has one encoding and one Hash. Wire form: RLP [height, round, blockHash,
// [[validator, sig], ...]]. It is stored with its block and its hash is the next header's
// LastCommitHash.
type Commit struct {
	Height    uint64
	Round     int32
	BlockHash Hash
	Sigs      []CommitSig
}

type commitRLP struct {
	Height    uint64
	Round     uint32
	BlockHash Hash
	Sigs      []CommitSig
}

// NewCommit builds a commit from precommits that all have the same height, round and
// non-nil block hash, sorting the signatures by validator address. It checks only the
// shape (use Verify for signatures and power).
func NewCommit(votes []*Vote) (*Commit, error) {
	if len(votes) == 0 {
		return nil, fmt.Errorf("%w: no votes", ErrInvalidCommit)
	}
	first := votes[0]
	c := &Commit{Height: first.Height, Round: first.Round, BlockHash: first.BlockHash, Sigs: make([]CommitSig, 0, len(votes))}
	for _, v := range votes {
		if v.Type != PrecommitType || v.Height != c.Height || v.Round != c.Round || v.BlockHash != c.BlockHash {
			return nil, fmt.Errorf("%w: vote %v does not match h=%d r=%d %s", ErrInvalidCommit, v, c.Height, c.Round, c.BlockHash.TerminalString())
		}
		c.Sigs = append(c.Sigs, CommitSig{Validator: v.Validator, Sig: bytes.Clone(v.Sig)})
	}
	slices.SortFunc(c.Sigs, func(a, b CommitSig) int { return bytes.Compare(a.Validator[:], b.Validator[:]) })
	if err := c.ValidateBasic(); err != nil {
		return nil, err
	}
	return c, nil
}

// ValidateBasic checks the shape: height >= 1, round >= 0, a non-zero block hash, 1 to
// MaxValidators signatures of 65 bytes, strictly ascending validator addresses.
func (c *Commit) ValidateBasic() error {
	switch {
	case c.Height == 0:
		return fmt.Errorf("%w: height 0", ErrInvalidCommit)
	case c.Round < 0:
		return fmt.Errorf("%w: negative round %d", ErrInvalidCommit, c.Round)
	case c.BlockHash == (Hash{}):
		return fmt.Errorf("%w: zero block hash", ErrInvalidCommit)
	case len(c.Sigs) == 0:
		return fmt.Errorf("%w: no signatures", ErrInvalidCommit)
	case len(c.Sigs) > MaxValidators:
		return fmt.Errorf("%w: %d signatures, limit %d", ErrInvalidCommit, len(c.Sigs), MaxValidators)
	}
	for i, s := range c.Sigs {
		if len(s.Sig) != SignatureLen {
			return fmt.Errorf("%w: signature %d is %d bytes, want %d", ErrInvalidCommit, i, len(s.Sig), SignatureLen)
		}
		if i > 0 && bytes.Compare(c.Sigs[i-1].Validator[:], s.Validator[:]) >= 0 {
			return fmt.Errorf("%w: signatures not sorted by validator or duplicated at %d", ErrInvalidCommit, i)
		}
	}
	return nil
}

// Vote returns the precommit that signature i stands for.
func (c *Commit) Vote(i int) *Vote {
	return &Vote{Type: PrecommitType, Height: c.Height, Round: c.Round, BlockHash: c.BlockHash,
		Validator: c.Sigs[i].Validator, Sig: c.Sigs[i].Sig}
}

// Verify checks that c certifies its block under vs: ValidateBasic, every signer is a
// member and signed the precommit for (Height, Round, BlockHash) on chainID, and the
// signers hold more than 2/3 of the total power. It costs one public-key recovery per
// signature (about 25 µs each).
func (c *Commit) Verify(chainID uint64, vs *ValidatorSet) error {
	if err := c.ValidateBasic(); err != nil {
		return err
	}
	var power uint64
	for i := range c.Sigs {
		v := c.Vote(i)
		if err := vs.VerifySignature(v.Validator, v.SignBytes(chainID), v.Sig); err != nil {
			return fmt.Errorf("%w: h=%d signature %d: %w", ErrInvalidCommit, c.Height, i, err)
		}
		power += vs.Power(v.Validator)
	}
	if !vs.HasQuorum(power) {
		return fmt.Errorf("%w: h=%d signers hold %d of %d power, need %d", ErrInvalidCommit, c.Height, power, vs.TotalPower(), vs.Quorum())
	}
	return nil
}

// Encode returns the canonical RLP encoding of the commit.
func (c *Commit) Encode() []byte {
	b, err := rlp.EncodeToBytes(&commitRLP{c.Height, uint32(c.Round), c.BlockHash, c.Sigs})
	if err != nil {
		panic(fmt.Sprintf("types: encode commit: %v", err))
	}
	return b
}

// Hash is keccak256 of the commit's RLP encoding: the next header's LastCommitHash.
func (c *Commit) Hash() Hash { return crypto.Keccak256Hash(c.Encode()) }

// DecodeCommit strictly decodes a commit: at most MaxCommitSize bytes, canonical RLP, no
// trailing bytes, a shape that passes ValidateBasic. It does not check signatures.
func DecodeCommit(b []byte) (*Commit, error) {
	if len(b) > MaxCommitSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidCommit, len(b), MaxCommitSize)
	}
	var w commitRLP
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, fmt.Errorf("%w: decode: %v", ErrInvalidCommit, err)
	}
	if w.Round > math.MaxInt32 {
		return nil, fmt.Errorf("%w: round %d out of range", ErrInvalidCommit, w.Round)
	}
	c := &Commit{w.Height, int32(w.Round), w.BlockHash, w.Sigs}
	if err := c.ValidateBasic(); err != nil {
		return nil, err
	}
	if !bytes.Equal(c.Encode(), b) {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrInvalidCommit)
	}
	return c, nil
}
