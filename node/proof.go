package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/vm"
)

var _ rpc.ProofBackend = (*backend)(nil)

// proofErr maps chain errors of a proof at height to the rpc package's.
func (b *backend) proofErr(err error, height uint64) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, state.ErrPruned):
		return &rpc.PrunedError{Height: height, Oldest: b.n.chain.OldestState()}
	case errors.Is(err, chain.ErrWitnessTooLarge):
		return fmt.Errorf("%w: %v", rpc.ErrWitnessTooLarge, err)
	}
	return mapErr(err)
}

func (b *backend) Certificate(height uint64) (*light.Certificate, error) {
	if height == 0 {
		return nil, fmt.Errorf("%w: height 0 is the genesis header", rpc.ErrNoCommit)
	}
	if c := b.lastCert.Load(); c != nil && c.height == height {
		return c.cert, nil
	}
	hdr, err := b.n.chain.HeaderByNumber(height)
	if err != nil {
		if errors.Is(err, chain.ErrNotFound) {
			return nil, fmt.Errorf("%w: %v", rpc.ErrUnknownBlock, err)
		}
		return nil, err
	}
	cm, err := b.n.chain.CommitAt(height)
	if err != nil {
		if errors.Is(err, chain.ErrNotFound) {
			return nil, fmt.Errorf("%w: %v", rpc.ErrNoCommit, err)
		}
		return nil, err
	}
	vs, err := b.n.chain.ValidatorsAt(height)
	if err != nil {
		return nil, err
	}
	c := light.NewCertificate(hdr, cm, vs)
	b.lastCert.Store(&heightCert{height: height, cert: &c})
	return &c, nil
}

func (b *backend) ProveAccount(addr types.Address, keys [][]byte, height uint64) (*light.AccountBundle, error) {
	cert, err := b.Certificate(height)
	if err != nil {
		return nil, err
	}
	acc, err := b.n.chain.Proof(state.AccountKey(addr), height)
	if err != nil {
		return nil, b.proofErr(err, height)
	}
	storage := make([]*chain.StateProof, len(keys))
	for i, k := range keys {
		if storage[i], err = b.n.chain.Proof(state.StorageKey(addr, k), height); err != nil {
			return nil, b.proofErr(err, height)
		}
	}
	return light.NewAccountBundle(addr, acc, keys, storage, *cert), nil
}

func (b *backend) ProveReceipt(txHash types.Hash) (*light.ReceiptBundle, error) {
	p, err := b.n.chain.ProveReceipt(txHash)
	if err != nil {
		return nil, mapErr(err)
	}
	if p.Header.Height > b.n.chain.Head().Height {
		return nil, fmt.Errorf("%w: receipt of %s: block %d not yet the head", rpc.ErrNotFound, txHash, p.Header.Height)
	}
	cert, err := b.Certificate(p.Header.Height)
	if err != nil {
		return nil, err
	}
	return light.NewReceiptBundle(p, *cert), nil
}

func (b *backend) CallWitness(ctx context.Context, req *rpc.CallRequest, height uint64) (*light.CallBundle, error) {
	cert, err := b.Certificate(height)
	if err != nil {
		return nil, err
	}
	msg := toCallMsg(req)
	res, w, err := b.n.chain.CallWitness(ctx, msg, height)
	if err != nil {
		if errors.Is(err, vm.ErrCanceled) && ctx.Err() != nil {
			return nil, fmt.Errorf("call: %w", ctx.Err())
		}
		return nil, b.proofErr(err, height)
	}
	b.n.metrics.observeCall(res.GasUsed)
	msg.Gas = b.n.chain.CallGas(msg.Gas)
	return light.NewCallBundle(msg, res, w, *cert), nil
}
