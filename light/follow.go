package light

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/types"
)

// The rules below follow a chain whose validator set changes, as CometBFT's light client
// does (docs/rationale/verify.md): a header certifies the set that signs the next one
// (NextValidatorsHash), so the set of height h+1 is trusted once h is (VerifyAdjacent);
// a later header may be trusted directly when validators the trusted set vouches for,
// holding more than a trust level (1/3) of its power, signed it, because at least one of
// them is then honest (VerifyNonAdjacent); when they do not, the client bisects.

// Errors of following the chain, besides those of a single header (ErrChain, ErrHeight,
// ErrValidators, ErrBlockHash, ErrSignature, ErrPower).
var (
	// ErrNextValidators: the header is signed by another set than the one the trusted
	// header before it named next (its NextValidatorsHash).
	ErrNextValidators = errors.New("light: not the validator set the trusted header named next")
	// ErrTrustLevel: the trusted set's members who signed the header hold no more than
	// the trust level of its power; bisection resolves it when the chain is honest.
	ErrTrustLevel = errors.New("light: too little of the trusted set signed the header")
	// ErrFork: the header does not extend the trusted one (its parent hash differs), or
	// is another header at a height already trusted.
	ErrFork = errors.New("light: header conflicts with a trusted header")
	// ErrTime: the header's time is not after the trusted header's, or lies in the
	// future beyond the allowed clock drift.
	ErrTime = errors.New("light: header time out of order")
	// ErrExpired: the trusted state is older than the trusting period: the set it names
	// may have left and no longer be accountable; trust a recent height again.
	ErrExpired = errors.New("light: trusted state expired")
	// ErrBeforeRoot: the height asked is below the trust root.
	ErrBeforeRoot = errors.New("light: height below the trust root")
	// ErrNoSource: verification needs headers no source can give (an offline client).
	ErrNoSource = errors.New("light: no source of headers")
)

// TrustedState is what a light client believes about one height: the header (nil at a
// genesis root, height 0, whose header the genesis file does not hold), the set that
// signed it and the hash of the set that signs the next height.
type TrustedState struct {
	ChainID            uint64
	Height             uint64
	Time               uint64 // unix ms
	Header             *types.Header
	Validators         *types.ValidatorSet // the set of Height (at genesis: the genesis set)
	NextValidatorsHash types.Hash          // the set of Height+1
}

// Hash is the trusted header's hash; zero at a genesis root.
func (s *TrustedState) Hash() types.Hash {
	if s.Header == nil {
		return types.Hash{}
	}
	return s.Header.Hash()
}

// GenesisState is the trust root of the chain created from g: height 0 at the genesis
// time, signed next by the genesis validators.
func GenesisState(g *genesis.Genesis) (*TrustedState, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("light: genesis: %w", err)
	}
	vs, err := g.ValidatorSet()
	if err != nil {
		return nil, fmt.Errorf("light: genesis: %w", err)
	}
	return &TrustedState{ChainID: g.ChainID, Time: g.TimeMs(), Validators: vs, NextValidatorsHash: vs.Hash()}, nil
}

// LightBlock is a decoded, unverified Certificate.
type LightBlock struct {
	Header     *types.Header
	Commit     *types.Commit
	Validators *types.ValidatorSet
}

// Decode decodes a certificate strictly; errors wrap ErrMalformed. It checks nothing
// else.
func (c *Certificate) Decode() (*LightBlock, error) {
	hdr, err := types.DecodeHeader(c.Header)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if len(c.Commit) == 0 {
		return nil, fmt.Errorf("%w: no commit certificate (the genesis header at height 0 has none; ask for a later height)", ErrMalformed)
	}
	cm, err := types.DecodeCommit(c.Commit)
	if err != nil {
		return nil, fmt.Errorf("%w: commit: %v", ErrMalformed, err)
	}
	vs, err := validatorSet(c.Validators)
	if err != nil {
		return nil, fmt.Errorf("%w: validators: %v", ErrMalformed, err)
	}
	return &LightBlock{Header: hdr, Commit: cm, Validators: vs}, nil
}

func validatorSet(vals []Validator) (*types.ValidatorSet, error) {
	out := make([]types.Validator, len(vals))
	for i, x := range vals {
		out[i] = types.Validator{Address: x.Address, PubKey: bytes.Clone(x.PubKey), Power: uint64(x.Power)}
	}
	return types.NewValidatorSet(out)
}

// state is the trusted state of a verified light block.
func (lb *LightBlock) state() *TrustedState {
	h := lb.Header
	return &TrustedState{ChainID: h.ChainID, Height: h.Height, Time: h.Time, Header: h, Validators: lb.Validators,
		NextValidatorsHash: h.NextValidatorsHash}
}

// Fraction is a share of voting power, Num/Den.
type Fraction struct{ Num, Den uint64 }

// DefaultTrustLevel is the share of the trusted set's power that must have signed a
// header to trust it without the headers in between: more than 1/3 holds an honest
// validator when fewer than 1/3 of the trusted set is faulty.
var DefaultTrustLevel = Fraction{1, 3}

func (f Fraction) validate() error {
	if f.Den == 0 || f.Num > f.Den || 3*f.Num < f.Den || f.Den > 1<<20 {
		return fmt.Errorf("light: trust level %d/%d outside [1/3, 1]", f.Num, f.Den)
	}
	return nil
}

// exceeds reports power/total > f.
func (f Fraction) exceeds(power, total uint64) bool {
	// power*Den > total*Num, in 128 bits (powers are below 2^60, Den below 2^20).
	ph, pl := bits.Mul64(power, f.Den)
	th, tl := bits.Mul64(total, f.Num)
	return ph > th || (ph == th && pl > tl)
}

// Rules are the parameters of VerifyAdjacent and VerifyNonAdjacent.
type Rules struct {
	// TrustLevel is the share of the trusted set that must sign a non-adjacent header;
	// zero means DefaultTrustLevel.
	TrustLevel Fraction
	// TrustingPeriod is how long a trusted header may be used to trust later ones; 0
	// means forever (the validators of a wnode chain stake nothing that a period would
	// protect; docs/rationale/verify.md).
	TrustingPeriod time.Duration
	// MaxClockDrift is how far in the future of now a header's time may be; 0 means
	// DefaultMaxClockDrift.
	MaxClockDrift time.Duration
}

// DefaultMaxClockDrift is the default Rules.MaxClockDrift.
const DefaultMaxClockDrift = 10 * time.Second

func (r Rules) withDefaults() (Rules, error) {
	if r.TrustLevel == (Fraction{}) {
		r.TrustLevel = DefaultTrustLevel
	}
	if r.MaxClockDrift == 0 {
		r.MaxClockDrift = DefaultMaxClockDrift
	}
	if r.TrustingPeriod < 0 || r.MaxClockDrift < 0 {
		return r, errors.New("light: negative trusting period or clock drift")
	}
	return r, r.TrustLevel.validate()
}

// VerifyAdjacent verifies the header right after a trusted one: it is of the trusted
// chain at the next height, later, extends the trusted header, is signed by the set the
// trusted header named next, and more than 2/3 of that set's power signed its commit.
// Cost: one signature recovery per commit signature.
func VerifyAdjacent(trusted *TrustedState, untrusted *LightBlock, now time.Time, r Rules) error {
	r, err := r.withDefaults()
	if err != nil {
		return err
	}
	if untrusted.Header.Height != trusted.Height+1 {
		return fmt.Errorf("%w: header %d is not adjacent to the trusted %d", ErrHeight, untrusted.Header.Height, trusted.Height)
	}
	if err := checkNew(trusted, untrusted, now, r); err != nil {
		return err
	}
	h := untrusted.Header
	if h.ValidatorsHash != trusted.NextValidatorsHash {
		return fmt.Errorf("%w: header %d is signed by set %s, trusted header %d named %s", ErrNextValidators,
			h.Height, h.ValidatorsHash, trusted.Height, trusted.NextValidatorsHash)
	}
	if trusted.Header != nil && h.ParentHash != trusted.Hash() {
		return fmt.Errorf("%w: header %d has parent %s, the trusted header %d is %s", ErrFork, h.Height, h.ParentHash,
			trusted.Height, trusted.Hash())
	}
	_, err = verifyCommit(untrusted, nil, r.TrustLevel)
	return err
}

// VerifyNonAdjacent verifies a header more than one height after a trusted one: it is of
// the trusted chain, later, signed by the set it names with more than 2/3 of that set's
// power, and the trusted set's members among its signers hold more than the trust level
// of the trusted set's power (else ErrTrustLevel: verify a header in between first).
func VerifyNonAdjacent(trusted *TrustedState, untrusted *LightBlock, now time.Time, r Rules) error {
	r, err := r.withDefaults()
	if err != nil {
		return err
	}
	if untrusted.Header.Height <= trusted.Height+1 {
		return fmt.Errorf("%w: header %d is not beyond the trusted %d", ErrHeight, untrusted.Header.Height, trusted.Height)
	}
	if err := checkNew(trusted, untrusted, now, r); err != nil {
		return err
	}
	_, err = verifyCommit(untrusted, trusted.Validators, r.TrustLevel)
	return err
}

// verify verifies untrusted from trusted, adjacent or not.
func verify(trusted *TrustedState, untrusted *LightBlock, now time.Time, r Rules) error {
	if untrusted.Header.Height == trusted.Height+1 {
		return VerifyAdjacent(trusted, untrusted, now, r)
	}
	return VerifyNonAdjacent(trusted, untrusted, now, r)
}

// checkNew checks what a header must satisfy whoever signed it: the trusted state has not
// expired, the header is of the trusted chain, its time is after the trusted time and not
// in the future, its set is the one it names, and its commit is for it.
func checkNew(trusted *TrustedState, lb *LightBlock, now time.Time, r Rules) error {
	h := lb.Header
	if r.TrustingPeriod > 0 {
		t := time.UnixMilli(int64(trusted.Time))
		if !now.Before(t.Add(r.TrustingPeriod)) {
			return fmt.Errorf("%w: the trusted header %d is from %s, more than the trusting period %s ago", ErrExpired,
				trusted.Height, t.UTC().Format(time.RFC3339), r.TrustingPeriod)
		}
	}
	if trusted.ChainID != 0 && h.ChainID != trusted.ChainID {
		return fmt.Errorf("%w: header is of chain %d, trusted chain is %d", ErrChain, h.ChainID, trusted.ChainID)
	}
	if h.Time <= trusted.Time {
		return fmt.Errorf("%w: header %d at %d ms is not after the trusted header %d at %d ms", ErrTime, h.Height, h.Time, trusted.Height, trusted.Time)
	}
	if limit := now.Add(r.MaxClockDrift); time.UnixMilli(int64(h.Time)).After(limit) {
		return fmt.Errorf("%w: header %d is from %s, in the future (now %s, drift %s)", ErrTime, h.Height,
			time.UnixMilli(int64(h.Time)).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), r.MaxClockDrift)
	}
	return checkBlock(lb)
}

// checkBlock checks that a light block is consistent: the set is the one the header
// names, and the commit is for the header at its height.
func checkBlock(lb *LightBlock) error {
	h, cm := lb.Header, lb.Commit
	if h.ValidatorsHash != lb.Validators.Hash() {
		return fmt.Errorf("%w: header %d names set %s, the set given hashes to %s", ErrValidators, h.Height, h.ValidatorsHash, lb.Validators.Hash())
	}
	if cm.Height != h.Height {
		return fmt.Errorf("%w: commit is for height %d, header is at %d", ErrHeight, cm.Height, h.Height)
	}
	if hh := h.Hash(); cm.BlockHash != hh {
		return fmt.Errorf("%w: commit signs %s, header hashes to %s", ErrBlockHash, cm.BlockHash, hh)
	}
	return nil
}

// verifyCommit checks every signature of lb's commit (each signer a member of lb's set),
// that the signers hold more than 2/3 of that set's power, and, with trustedSet, that the
// trusted set's members among them hold more than level of its power. It returns the
// signers' power in lb's set. One signature recovery per signature.
func verifyCommit(lb *LightBlock, trustedSet *types.ValidatorSet, level Fraction) (uint64, error) {
	h, cm, vs := lb.Header, lb.Commit, lb.Validators
	var power, trustedPower uint64
	for i := range cm.Sigs {
		vote := cm.Vote(i)
		if err := vs.VerifySignature(vote.Validator, vote.SignBytes(h.ChainID), vote.Sig); err != nil {
			return 0, fmt.Errorf("%w: signature %d of %s over chain %d, height %d, round %d: %v",
				ErrSignature, i, vote.Validator, h.ChainID, cm.Height, cm.Round, err)
		}
		power += vs.Power(vote.Validator)
		if trustedSet != nil {
			// The address is the key's (NewValidatorSet checks it), so the signature just
			// checked is the trusted member's own.
			trustedPower += trustedSet.Power(vote.Validator)
		}
	}
	if !vs.HasQuorum(power) {
		return 0, fmt.Errorf("%w: signers hold %d of %d, more than 2/3 (%d) needed", ErrPower, power, vs.TotalPower(), vs.Quorum())
	}
	if trustedSet != nil && !level.exceeds(trustedPower, trustedSet.TotalPower()) {
		return 0, fmt.Errorf("%w: members of the trusted set signing header %d hold %d of its %d, more than %d/%d needed",
			ErrTrustLevel, h.Height, trustedPower, trustedSet.TotalPower(), level.Num, level.Den)
	}
	return power, nil
}
