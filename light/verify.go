package light

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wnode/wnode/gas"
	"github.com/wnode/wnode/genesis"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

// Trust is what a verifier believes without proof: the validator set of the chain and,
// when known, its chain id and gas schedule. Nothing in it may come from the node whose
// answers are verified.
type Trust struct {
	// ValidatorsHash is the hash of the validator set that signs the chain's blocks.
	ValidatorsHash types.Hash
	// ChainID is the chain's id; 0 accepts the chain id the trusted validators signed.
	ChainID uint64
	// GasScheduleVersion selects the gas schedule calls are re-executed with; 0 means
	// the default schedule.
	GasScheduleVersion uint32
}

// TrustGenesis returns the trust root of the chain created from g: its validator set,
// chain id and gas schedule.
func TrustGenesis(g *genesis.Genesis) (Trust, error) {
	if err := g.Validate(); err != nil {
		return Trust{}, fmt.Errorf("light: genesis: %w", err)
	}
	vs, err := g.ValidatorSet()
	if err != nil {
		return Trust{}, fmt.Errorf("light: genesis: %w", err)
	}
	return Trust{ValidatorsHash: vs.Hash(), ChainID: g.ChainID, GasScheduleVersion: g.Params.GasScheduleVersion}, nil
}

// Options tune a Verifier. The zero value is usable.
type Options struct {
	// MaxGas bounds the gas of a call the verifier re-executes, whatever a bundle asks;
	// 0 means DefaultMaxGas.
	MaxGas uint64
	// VM is the VM calls are re-executed with; nil makes the verifier create one on the
	// first call it verifies (a few milliseconds) and close it in Close. It must use the
	// trusted gas schedule.
	VM *vm.VM
}

// DefaultMaxGas is the default Options.MaxGas: four times a node's default call gas cap.
const DefaultMaxGas = 4 * gas.DefaultCallCap

// Verifier verifies bundles against a trust root. It is safe for concurrent use.
type Verifier struct {
	trust Trust
	sched *gas.Schedule
	opts  Options

	vmOnce sync.Once
	vm     *vm.VM
	ownVM  bool
	vmErr  error
}

// New returns a verifier trusting t.
func New(t Trust, opts Options) (*Verifier, error) {
	if t.ValidatorsHash == (types.Hash{}) {
		return nil, errors.New("light: trust root without a validator set hash")
	}
	sched := gas.Default()
	if t.GasScheduleVersion != 0 {
		s, err := gas.ByVersion(t.GasScheduleVersion)
		if err != nil {
			return nil, fmt.Errorf("light: %w", err)
		}
		sched = s
	}
	if opts.MaxGas == 0 {
		opts.MaxGas = DefaultMaxGas
	}
	v := &Verifier{trust: t, sched: sched, opts: opts, vm: opts.VM}
	if v.vm != nil && v.vm.Schedule().Version != sched.Version {
		return nil, fmt.Errorf("light: VM uses gas schedule v%d, trusted v%d", v.vm.Schedule().Version, sched.Version)
	}
	return v, nil
}

// Close releases the VM the verifier created.
func (v *Verifier) Close(ctx context.Context) error {
	if v.ownVM && v.vm != nil {
		return v.vm.Close(ctx)
	}
	return nil
}

func (v *Verifier) machine(ctx context.Context) (*vm.VM, error) {
	v.vmOnce.Do(func() {
		if v.vm != nil {
			return
		}
		v.vm, v.vmErr = vm.New(ctx, vm.Config{Schedule: v.sched})
		v.ownVM = v.vmErr == nil
	})
	return v.vm, v.vmErr
}

// Verified says what a verified answer speaks for: the block whose state or receipts
// proved it.
type Verified struct {
	ChainID   uint64
	Height    uint64
	Time      uint64 // the block's time, unix milliseconds
	BlockHash types.Hash
	StateRoot types.Hash // the header's state root
}

// CheckFresh returns an ErrStale error when the block of info is older than maxAge at
// now; maxAge 0 accepts any age.
func CheckFresh(info *Verified, maxAge time.Duration, now time.Time) error {
	if maxAge <= 0 {
		return nil
	}
	t := time.UnixMilli(int64(info.Time))
	if age := now.Sub(t); age > maxAge {
		return fmt.Errorf("%w: block %d is from %s, %s ago, more than %s", ErrStale, info.Height,
			t.UTC().Format(time.RFC3339), age.Round(time.Millisecond), maxAge)
	}
	return nil
}

// VerifyHeader checks a certificate and returns its header: the validator set is the
// trusted one and the one the header names, the header is of the trusted chain, and the
// commit is for this header, at its height, signed by members holding more than 2/3 of
// the set's power. Cost: one secp256k1 recovery per signature (about 50 µs each).
func (v *Verifier) VerifyHeader(c *Certificate) (*types.Header, error) {
	lb, err := c.Decode()
	if err != nil {
		return nil, err
	}
	hdr := lb.Header
	if v.trust.ChainID != 0 && hdr.ChainID != v.trust.ChainID {
		return nil, fmt.Errorf("%w: header is of chain %d, trusted chain is %d", ErrChain, hdr.ChainID, v.trust.ChainID)
	}
	if lb.Validators.Hash() != v.trust.ValidatorsHash {
		return nil, fmt.Errorf("%w: the bundle's set hashes to %s, the trusted set to %s", ErrValidators, lb.Validators.Hash(), v.trust.ValidatorsHash)
	}
	if err := checkBlock(lb); err != nil {
		return nil, err
	}
	if _, err := verifyCommit(lb, nil, Fraction{}); err != nil {
		return nil, err
	}
	return hdr, nil
}

func verified(hdr *types.Header) *Verified {
	return &Verified{ChainID: hdr.ChainID, Height: hdr.Height, Time: hdr.Time, BlockHash: hdr.Hash(), StateRoot: hdr.StateRoot}
}
