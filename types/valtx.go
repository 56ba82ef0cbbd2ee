package types

import (
	"bytes"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// ValidatorsAccount is the system account under whose storage the validator sets and
// the set change proposals live (docs/spec/wire.md#validator-set-changes). No key owns
// it (addresses are hashes) and no contract can write another account's storage, so
// only the execution of validator transactions changes it; the storage is under the
// state root, hence provable like any other.
var ValidatorsAccount = Address{18: 0x01}

// ValidatorOp says what a validator set change proposal does.
type ValidatorOp uint8

// Validator set change operations, fixed by the wire spec.
const (
	ValidatorAdd    ValidatorOp = 1 // add a new validator with a public key and a power
	ValidatorRemove ValidatorOp = 2 // remove a validator
	ValidatorPower  ValidatorOp = 3 // change a validator's power
)

func (op ValidatorOp) String() string {
	switch op {
	case ValidatorAdd:
		return "add"
	case ValidatorRemove:
		return "remove"
	case ValidatorPower:
		return "power"
	}
	return fmt.Sprintf("op(%d)", uint8(op))
}

// ValidatorChange is the payload (a TxValidatorPropose's Args) of a proposal to change
// the validator set: RLP list [op, address, pubKey, power]. An add carries the new
// validator's 33-byte compressed public key (Address must be derived from it) and a
// positive power; a power change carries no key and a positive power; a removal carries
// neither.
type ValidatorChange struct {
	Op      ValidatorOp
	Address Address
	PubKey  []byte
	Power   uint64
}

// Encode returns the change's canonical RLP encoding.
func (c *ValidatorChange) Encode() []byte {
	b, err := rlp.EncodeToBytes([]any{uint8(c.Op), c.Address, c.PubKey, c.Power})
	if err != nil {
		panic(fmt.Sprintf("types: encode validator change: %v", err)) // plain fields only
	}
	return b
}

// Check validates the change's fields alone (no state): a known op, the fields that op
// needs and no others, a public key that belongs to Address, a power in
// [1, MaxTotalPower].
func (c *ValidatorChange) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: validator change: "+format, append([]any{ErrInvalidTxField}, args...)...)
	}
	switch c.Op {
	case ValidatorAdd:
		v, err := NewValidator(c.PubKey, c.Power)
		if err != nil {
			return bad("%v", err)
		}
		if len(c.PubKey) != PubKeyLen {
			return bad("public key is %d bytes, want %d (compressed)", len(c.PubKey), PubKeyLen)
		}
		if v.Address != c.Address {
			return bad("public key belongs to %s, not %s", v.Address, c.Address)
		}
	case ValidatorRemove:
		if len(c.PubKey) != 0 || c.Power != 0 {
			return bad("a removal takes no public key and no power")
		}
	case ValidatorPower:
		if len(c.PubKey) != 0 {
			return bad("a power change takes no public key")
		}
	default:
		return bad("unknown op %d", uint8(c.Op))
	}
	if c.Op != ValidatorRemove && (c.Power == 0 || c.Power > MaxTotalPower) {
		return bad("power %d must be in [1, %d]", c.Power, uint64(MaxTotalPower))
	}
	return nil
}

// DecodeValidatorChange strictly decodes a change: canonical RLP of exactly four
// fields, no trailing bytes, and fields that pass Check. Its input is a tx's Args, so at
// most MaxArgsSize bytes reach it; a valid change is under 100.
func DecodeValidatorChange(b []byte) (*ValidatorChange, error) {
	var w struct {
		Op      uint8
		Address Address
		PubKey  []byte
		Power   uint64
	}
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, fmt.Errorf("%w: validator change: %v", ErrInvalidTxField, err)
	}
	c := &ValidatorChange{Op: ValidatorOp(w.Op), Address: w.Address, PubKey: w.PubKey, Power: w.Power}
	if err := c.Check(); err != nil {
		return nil, err
	}
	if !bytes.Equal(c.Encode(), b) {
		return nil, fmt.Errorf("%w: validator change: non-canonical encoding", ErrInvalidTxField)
	}
	return c, nil
}

// ValidatorVote is the payload (a TxValidatorVote's Args) of a vote for a proposal: RLP
// list [proposalID]. Votes are for: a validator that does not want a change does not
// vote, and the proposal expires.
type ValidatorVote struct {
	ProposalID uint64
}

// Encode returns the vote's canonical RLP encoding.
func (v *ValidatorVote) Encode() []byte {
	b, err := rlp.EncodeToBytes([]any{v.ProposalID})
	if err != nil {
		panic(fmt.Sprintf("types: encode validator vote: %v", err))
	}
	return b
}

// DecodeValidatorVote strictly decodes a vote: canonical RLP list of one non-zero id
// (proposal ids start at 1), no trailing bytes.
func DecodeValidatorVote(b []byte) (*ValidatorVote, error) {
	var w struct{ ProposalID uint64 }
	if err := rlp.DecodeBytes(b, &w); err != nil {
		return nil, fmt.Errorf("%w: validator vote: %v", ErrInvalidTxField, err)
	}
	if w.ProposalID == 0 {
		return nil, fmt.Errorf("%w: validator vote: proposal id 0", ErrInvalidTxField)
	}
	v := &ValidatorVote{ProposalID: w.ProposalID}
	if !bytes.Equal(v.Encode(), b) {
		return nil, fmt.Errorf("%w: validator vote: non-canonical encoding", ErrInvalidTxField)
	}
	return v, nil
}

// PubKeyAddress returns the address of a 33-byte compressed or 65-byte uncompressed
// secp256k1 public key.
func PubKeyAddress(pubKey []byte) (Address, error) {
	pub, err := parsePubKey(pubKey)
	if err != nil {
		return Address{}, err
	}
	return crypto.PubkeyToAddress(*pub), nil
}
