package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/types"
)

// Sentinel errors of a ProofBackend.
var (
	// ErrPruned: the height's state is no longer kept. Wrap it in a *PrunedError.
	ErrPruned = errors.New("state no longer kept")
	// ErrNoCommit: the height has no commit certificate.
	ErrNoCommit = errors.New("no commit certificate")
	// ErrWitnessTooLarge: a witnessed call read too many keys.
	ErrWitnessTooLarge = errors.New("witness too large")
)

// PrunedError is a ProofBackend's error for a height below the oldest one whose state it
// keeps.
type PrunedError struct{ Height, Oldest uint64 }

func (e *PrunedError) Error() string {
	return fmt.Sprintf("state of height %d is no longer kept: the oldest provable height is %d", e.Height, e.Oldest)
}

// Unwrap makes errors.Is(err, ErrPruned) true.
func (e *PrunedError) Unwrap() error { return ErrPruned }

// ProofBackend is what a Backend implements to serve proofs: the answers of package
// light's bundles, built from the chain's stored headers, commits, state and receipts.
// The server serves the wn_getProof family only when its Backend implements it.
type ProofBackend interface {
	// ProveAccount returns addr's account and the values of keys in its storage, with
	// proofs against the state root of the header at height and that header's
	// certificate.
	ProveAccount(addr types.Address, keys [][]byte, height uint64) (*light.AccountBundle, error)
	// Certificate returns the header at height (≥ 1), its commit and validator set.
	Certificate(height uint64) (*light.Certificate, error)
	// ProveReceipt returns the receipt of an included tx with its Merkle path and the
	// certificate of its block, or an error wrapping ErrNotFound.
	ProveReceipt(txHash types.Hash) (*light.ReceiptBundle, error)
	// CallWitness runs a read-only call like Backend.Call and returns it with its
	// witness. An execution failure is part of the bundle, not an error.
	CallWitness(ctx context.Context, req *CallRequest, height uint64) (*light.CallBundle, error)
}

func (s *Server) prover() (ProofBackend, error) {
	p, ok := s.backend.(ProofBackend)
	if !ok {
		return nil, newError(rpctypes.CodeProofsUnsupported, "this node serves no proofs")
	}
	return p, nil
}

// proofError gives a proof method's error its stable code.
func proofError(err error) error {
	var pe *PrunedError
	switch {
	case errors.As(err, &pe):
		return &Error{Code: rpctypes.CodePruned, Message: err.Error(), Data: map[string]any{"oldest": hexutil.Uint64(pe.Oldest)}}
	case errors.Is(err, ErrNoCommit):
		return &Error{Code: rpctypes.CodeNoCommit, Message: err.Error()}
	case errors.Is(err, ErrWitnessTooLarge):
		return &Error{Code: rpctypes.CodeWitnessTooLarge, Message: err.Error()}
	}
	return toRPCError(err)
}

// GetProof is wn_getProof(address, storageKeys, block?): the account (nonce, balance,
// code hash, admin) and each storage value, with inclusion or exclusion proofs against
// the state root of the header at block, and that header's certificate (header, commit,
// validator set): a light.AccountBundle.
func (a *wnAPI) GetProof(addr types.Address, keys []hexutil.Bytes, num *rpctypes.BlockNumber) (_ *light.AccountBundle, err error) {
	defer a.s.metrics.observe("wn_getProof", time.Now(), &err)
	p, err := a.s.prover()
	if err != nil {
		return nil, err
	}
	if len(keys) > rpctypes.MaxProofStorageKeys {
		return nil, newError(rpctypes.CodeInvalidParams, "invalid storage keys: %d keys, limit %d", len(keys), rpctypes.MaxProofStorageKeys)
	}
	ks := make([][]byte, len(keys))
	for i, k := range keys {
		if len(k) > types.MaxStorageKeySize {
			return nil, newError(rpctypes.CodeInvalidParams, "invalid storage key %d: %d bytes, limit %d", i, len(k), types.MaxStorageKeySize)
		}
		ks[i] = k
	}
	h, err := a.resolveProvable(num)
	if err != nil {
		return nil, err
	}
	b, err := p.ProveAccount(addr, ks, h)
	if err != nil {
		return nil, proofError(fmt.Errorf("proof of %s at %d: %w", addr, h, err))
	}
	return b, nil
}

// resolveProvable resolves a block parameter for a method that needs a commit: height 0
// (the genesis header) has none.
func (a *wnAPI) resolveProvable(num *rpctypes.BlockNumber) (uint64, error) {
	h, err := a.resolve(num)
	if err != nil {
		return 0, err
	}
	if h == 0 {
		return 0, newError(rpctypes.CodeNoCommit, "height 0 (genesis) has no commit certificate: ask a height of 1 or more")
	}
	return h, nil
}

// GetCommit is wn_getCommit(block): the header at block and the commit certificate that
// decided it.
func (a *wnAPI) GetCommit(num rpctypes.BlockNumber) (_ *rpctypes.CommitJSON, err error) {
	defer a.s.metrics.observe("wn_getCommit", time.Now(), &err)
	c, hdr, err := a.certificate(num)
	if err != nil {
		return nil, err
	}
	return &rpctypes.CommitJSON{Height: hexutil.Uint64(hdr.Height), Hash: hdr.Hash(), Time: hexutil.Uint64(hdr.Time),
		Header: c.Header, Commit: c.Commit}, nil
}

func (a *wnAPI) certificate(num rpctypes.BlockNumber) (*light.Certificate, *types.Header, error) {
	p, err := a.s.prover()
	if err != nil {
		return nil, nil, err
	}
	h, err := a.resolveProvable(&num)
	if err != nil {
		return nil, nil, err
	}
	c, err := p.Certificate(h)
	if err != nil {
		return nil, nil, proofError(fmt.Errorf("certificate of %d: %w", h, err))
	}
	hdr, err := types.DecodeHeader(c.Header)
	if err != nil {
		return nil, nil, toRPCError(err)
	}
	return c, hdr, nil
}

// GetValidators is wn_getValidators(block): the validator set whose hash is in the
// header at block.
func (a *wnAPI) GetValidators(num rpctypes.BlockNumber) (_ *rpctypes.ValidatorsJSON, err error) {
	defer a.s.metrics.observe("wn_getValidators", time.Now(), &err)
	if vb, ok := a.s.backend.(ValidatorBackend); ok {
		// The genesis header has no commit, hence no certificate, but names a set.
		if h, err := a.resolve(&num); err == nil && h == 0 {
			return a.genesisValidators(vb)
		}
	}
	c, hdr, err := a.certificate(num)
	if err != nil {
		return nil, err
	}
	out := &rpctypes.ValidatorsJSON{Height: hexutil.Uint64(hdr.Height), Hash: hdr.ValidatorsHash, Validators: make([]rpctypes.ValidatorJSON, len(c.Validators))}
	for i, v := range c.Validators {
		out.Validators[i] = rpctypes.ValidatorJSON{Address: v.Address, PubKey: v.PubKey, Power: v.Power}
	}
	return out, nil
}

func (a *wnAPI) genesisValidators(vb ValidatorBackend) (*rpctypes.ValidatorsJSON, error) {
	b, err := a.s.backend.BlockByNumber(0)
	if err != nil {
		return nil, toRPCError(err)
	}
	vs, err := vb.Validators(0)
	if err != nil {
		return nil, toRPCError(err)
	}
	if vs.Hash() != b.Header.ValidatorsHash {
		return nil, fmt.Errorf("validator set of height 0 hashes to %s, the genesis header names %s", vs.Hash(), b.Header.ValidatorsHash)
	}
	out := &rpctypes.ValidatorsJSON{Height: 0, Hash: vs.Hash(), Validators: make([]rpctypes.ValidatorJSON, vs.Len())}
	for i := range vs.Len() {
		v := vs.At(i)
		out.Validators[i] = rpctypes.ValidatorJSON{Address: v.Address, PubKey: v.PubKey, Power: hexutil.Uint64(v.Power)}
	}
	return out, nil
}

// MaxValidatorProposals is the most proposals one wn_getValidatorProposals answer holds.
// The open list can be longer (proposals of removed validators stay open until they
// expire): a full answer may be followed by more, asked for with afterId.
const MaxValidatorProposals = 100

// GetValidatorProposals is wn_getValidatorProposals(afterId?): the open validator set
// change proposals at the head with an id above afterId (0 when left out), in id order,
// at most MaxValidatorProposals of them, with their votes.
func (a *wnAPI) GetValidatorProposals(after *hexutil.Uint64) (_ []rpctypes.ValidatorProposalJSON, err error) {
	defer a.s.metrics.observe("wn_getValidatorProposals", time.Now(), &err)
	vb, ok := a.s.backend.(ValidatorBackend)
	if !ok {
		return nil, newError(rpctypes.CodeMethodNotFound, "this node serves no validator proposals")
	}
	var from uint64
	if after != nil {
		from = uint64(*after)
	}
	ps, err := vb.ValidatorProposals(from, MaxValidatorProposals)
	if err != nil {
		return nil, toRPCError(err)
	}
	if len(ps) > MaxValidatorProposals {
		return nil, fmt.Errorf("the backend answered %d validator proposals, more than %d", len(ps), MaxValidatorProposals)
	}
	if ps == nil {
		ps = []rpctypes.ValidatorProposalJSON{}
	}
	return ps, nil
}

// GetReceiptProof is wn_getReceiptProof(txHash): the receipt with its Merkle path to the
// ReceiptRoot of its block's header and that header's certificate (a
// light.ReceiptBundle), or null when the tx is unknown or pending.
func (a *wnAPI) GetReceiptProof(hash types.Hash) (_ *light.ReceiptBundle, err error) {
	defer a.s.metrics.observe("wn_getReceiptProof", time.Now(), &err)
	p, err := a.s.prover()
	if err != nil {
		return nil, err
	}
	b, err := p.ProveReceipt(hash)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, proofError(fmt.Errorf("receipt proof %s: %w", hash, err))
	}
	return b, nil
}

// CallWitness is wn_callWitness({from, to, method, args, value, gas}, block?): runs a
// read-only call like wn_call and returns a light.CallBundle: the call, its outcome (a
// failed call is an outcome, not an error), every state key it read with proofs, and the
// certificate of the height it ran on.
func (a *wnAPI) CallWitness(ctx context.Context, args rpctypes.CallArgs, num *rpctypes.BlockNumber) (_ *light.CallBundle, err error) {
	defer a.s.metrics.observe("wn_callWitness", time.Now(), &err)
	p, err := a.s.prover()
	if err != nil {
		return nil, err
	}
	req, err := a.s.callRequest(&args, false)
	if err != nil {
		return nil, err
	}
	h, err := a.resolveProvable(num)
	if err != nil {
		return nil, err
	}
	b, err := a.s.callWitness(ctx, p, req, h)
	if err != nil {
		return nil, proofError(err)
	}
	return b, nil
}

// callWitness runs a witnessed call with the per-request timeout.
func (s *Server) callWitness(ctx context.Context, p ProofBackend, req *CallRequest, height uint64) (*light.CallBundle, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	var b *light.CallBundle
	err := s.execute(ctx, "call witness", func(ctx context.Context) (err error) {
		b, err = p.CallWitness(ctx, req, height)
		return err
	})
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("call %s.%s: request timed out after %s: %w", req.To.Hex(), req.Method, s.cfg.RequestTimeout, context.DeadlineExceeded)
	}
	return b, err
}
