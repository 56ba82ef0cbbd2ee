package types

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// Validator set limits. MaxTotalPower leaves room to multiply a power by 3 (quorum
// arithmetic) without overflow; MaxValidators bounds the work of building the proposer
// sequence (validators × proposer cycle) and the size of a commit certificate.
const (
	MaxValidators = 1000
	MaxTotalPower = 1 << 60
	PubKeyLen     = 33 // compressed secp256k1 public key

	// maxProposerCycle bounds the length of the weighted round-robin sequence; voting
	// powers whose sum exceeds it are scaled down (proportionally, each at least 1) for
	// proposer selection only.
	maxProposerCycle = 1 << 14
)

// Errors about validators and validator sets.
var (
	ErrInvalidValidatorSet = errors.New("invalid validator set")
	ErrUnknownValidator    = errors.New("unknown validator")
)

// Validator is a member of the validator set: its address (derived from PubKey), its
// 33-byte compressed secp256k1 public key and its voting power.
type Validator struct {
	Address Address
	PubKey  []byte
	Power   uint64
}

// NewValidator returns the validator with the given compressed (33-byte) or uncompressed
// (65-byte) public key and power, deriving the address and storing the compressed key.
func NewValidator(pubKey []byte, power uint64) (Validator, error) {
	pub, err := parsePubKey(pubKey)
	if err != nil {
		return Validator{}, err
	}
	return Validator{
		Address: crypto.PubkeyToAddress(*pub),
		PubKey:  crypto.CompressPubkey(pub),
		Power:   power,
	}, nil
}

func parsePubKey(b []byte) (*ecdsa.PublicKey, error) {
	switch len(b) {
	case PubKeyLen:
		pub, err := crypto.DecompressPubkey(b)
		if err != nil {
			return nil, fmt.Errorf("%w: public key: %v", ErrInvalidValidatorSet, err)
		}
		return pub, nil
	case 65:
		pub, err := crypto.UnmarshalPubkey(b)
		if err != nil {
			return nil, fmt.Errorf("%w: public key: %v", ErrInvalidValidatorSet, err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalidValidatorSet, len(b), PubKeyLen)
}

// ValidatorSet is an immutable, validated set of validators sorted by address. It is safe
// for concurrent use. Lookups by address are O(1); the weighted round-robin proposer
// sequence is built once, on first use, in O(n × min(total power, 16384)).
type ValidatorSet struct {
	vals  []Validator
	index map[Address]int
	total uint64
	hash  Hash

	seqOnce sync.Once
	seq     []int32 // proposer index for each slot of one cycle
}

// NewValidatorSet validates vals and returns them as a set: between 1 and MaxValidators
// members, distinct addresses, positive powers summing to at most MaxTotalPower, and
// 33-byte compressed public keys whose address is Address. The input is copied.
func NewValidatorSet(vals []Validator) (*ValidatorSet, error) {
	if len(vals) == 0 {
		return nil, fmt.Errorf("%w: no validators", ErrInvalidValidatorSet)
	}
	if len(vals) > MaxValidators {
		return nil, fmt.Errorf("%w: %d validators, limit %d", ErrInvalidValidatorSet, len(vals), MaxValidators)
	}
	vs := &ValidatorSet{vals: make([]Validator, len(vals)), index: make(map[Address]int, len(vals))}
	for i, v := range vals {
		if len(v.PubKey) != PubKeyLen {
			return nil, fmt.Errorf("%w: validator %s: public key is %d bytes, want %d (compressed)",
				ErrInvalidValidatorSet, v.Address, len(v.PubKey), PubKeyLen)
		}
		pub, err := parsePubKey(v.PubKey)
		if err != nil {
			return nil, fmt.Errorf("validator %s: %w", v.Address, err)
		}
		if a := crypto.PubkeyToAddress(*pub); a != v.Address {
			return nil, fmt.Errorf("%w: validator %s: public key belongs to %s", ErrInvalidValidatorSet, v.Address, a)
		}
		if v.Power == 0 {
			return nil, fmt.Errorf("%w: validator %s has zero power", ErrInvalidValidatorSet, v.Address)
		}
		if v.Power > MaxTotalPower || vs.total+v.Power > MaxTotalPower {
			return nil, fmt.Errorf("%w: total power exceeds %d", ErrInvalidValidatorSet, uint64(MaxTotalPower))
		}
		vs.total += v.Power
		vs.vals[i] = Validator{Address: v.Address, PubKey: bytes.Clone(v.PubKey), Power: v.Power}
	}
	slices.SortFunc(vs.vals, func(a, b Validator) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	for i, v := range vs.vals {
		if i > 0 && vs.vals[i-1].Address == v.Address {
			return nil, fmt.Errorf("%w: duplicate validator %s", ErrInvalidValidatorSet, v.Address)
		}
		vs.index[v.Address] = i
	}
	items := make([][]byte, len(vs.vals))
	for i, v := range vs.vals {
		items[i] = v.encode()
	}
	vs.hash = MerkleRoot(items)
	return vs, nil
}

func (v *Validator) encode() []byte {
	b, err := rlp.EncodeToBytes([]any{v.Address, v.PubKey, v.Power})
	if err != nil {
		panic(fmt.Sprintf("types: encode validator: %v", err)) // plain fields only
	}
	return b
}

// Len returns the number of validators.
func (vs *ValidatorSet) Len() int { return len(vs.vals) }

// At returns the i-th validator in address order (0 <= i < Len). The PubKey is shared:
// do not modify it.
func (vs *ValidatorSet) At(i int) Validator { return vs.vals[i] }

// Validators returns a copy of the validators in address order.
func (vs *ValidatorSet) Validators() []Validator {
	out := make([]Validator, len(vs.vals))
	for i, v := range vs.vals {
		out[i] = Validator{Address: v.Address, PubKey: bytes.Clone(v.PubKey), Power: v.Power}
	}
	return out
}

// Index returns the position of addr in the set and whether it is a member.
func (vs *ValidatorSet) Index(addr Address) (int, bool) {
	i, ok := vs.index[addr]
	return i, ok
}

// Power returns the voting power of addr, or 0 if it is not a member.
func (vs *ValidatorSet) Power(addr Address) uint64 {
	if i, ok := vs.index[addr]; ok {
		return vs.vals[i].Power
	}
	return 0
}

// TotalPower returns the sum of all voting powers.
func (vs *ValidatorSet) TotalPower() uint64 { return vs.total }

// HasQuorum reports whether power is more than two thirds of the total ("2f+1").
func (vs *ValidatorSet) HasQuorum(power uint64) bool { return 3*power > 2*vs.total }

// HasOneThird reports whether power is more than one third of the total ("f+1"): at
// least one honest validator is among its holders when fewer than a third are faulty.
func (vs *ValidatorSet) HasOneThird(power uint64) bool { return 3*power > vs.total }

// Quorum returns the smallest power for which HasQuorum holds.
func (vs *ValidatorSet) Quorum() uint64 { return 2*vs.total/3 + 1 }

// Hash returns the binary Merkle root (see MerkleRoot) over the RLP encodings
// [address, pubKey, power] of the validators in address order: a header's ValidatorsHash.
func (vs *ValidatorSet) Hash() Hash { return vs.hash }

// VerifySignature checks that sig is a valid signature by validator addr over hash
// (65 bytes, low S, see RecoverAddress). It costs one public-key recovery, about 25 µs.
func (vs *ValidatorSet) VerifySignature(addr Address, hash Hash, sig []byte) error {
	if _, ok := vs.index[addr]; !ok {
		return fmt.Errorf("%w: %s", ErrUnknownValidator, addr)
	}
	got, err := RecoverAddress(hash, sig)
	if err != nil {
		return err
	}
	if got != addr {
		return fmt.Errorf("%w: signed by %s, not by %s", ErrInvalidSig, got, addr)
	}
	return nil
}

// Proposer returns the validator that proposes in round of height. The sequence is
// CometBFT's weighted round-robin ("proposer priority"): starting from zero priorities,
// every slot adds each validator's power to its priority, picks the highest priority
// (ties to the lower address) and subtracts the total power from the winner's. Over one
// cycle of total-power slots every validator proposes exactly power times, spread evenly.
// As in CometBFT, slot (height-1+round) is used, so round r+1 of a height has the
// proposer of round r of the next height. It is a pure function of the set: O(1) after
// the sequence is built.
func (vs *ValidatorSet) Proposer(height uint64, round int32) Validator {
	return vs.vals[vs.ProposerIndex(height, round)]
}

// ProposerIndex is Proposer returning the validator's index in the set.
func (vs *ValidatorSet) ProposerIndex(height uint64, round int32) int {
	vs.seqOnce.Do(vs.buildProposerSequence)
	n := uint64(len(vs.seq))
	r := uint64(0)
	if round > 0 {
		r = uint64(round) % n
	}
	slot := (height%n + n - 1 + r) % n
	return int(vs.seq[slot])
}

func (vs *ValidatorSet) buildProposerSequence() {
	powers := make([]int64, len(vs.vals))
	var cycle int64
	for i, v := range vs.vals {
		p := v.Power
		if vs.total > maxProposerCycle {
			hi, lo := bits.Mul64(p, maxProposerCycle)
			p, _ = bits.Div64(hi, lo, vs.total)
			p = max(p, 1)
		}
		powers[i] = int64(p)
		cycle += int64(p)
	}
	prio := make([]int64, len(powers))
	vs.seq = make([]int32, cycle)
	for k := range vs.seq {
		best := 0
		for i, p := range powers {
			prio[i] += p
			if prio[i] > prio[best] {
				best = i
			}
		}
		prio[best] -= cycle
		vs.seq[k] = int32(best)
	}
}
