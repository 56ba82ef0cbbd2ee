package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/wnode/wnode/chain"
	"github.com/wnode/wnode/light"
	"github.com/wnode/wnode/mempool"
	"github.com/wnode/wnode/rpc"
	"github.com/wnode/wnode/rpc/rpctypes"
	"github.com/wnode/wnode/state"
	"github.com/wnode/wnode/types"
	"github.com/wnode/wnode/ui"
	"github.com/wnode/wnode/vm"
)

// backend implements rpc.Backend over the node's chain, mempool and network.
type backend struct {
	n *Node

	subMu sync.Mutex
	subs  map[*rpcSub]struct{}

	// lastCert is the certificate served last: most proofs are of the head, whose
	// certificate never changes once committed.
	lastCert atomic.Pointer[heightCert]
}

type heightCert struct {
	height uint64
	cert   *light.Certificate
}

type rpcSub struct{ ch chan<- *rpc.ChainEvent }

var _ rpc.Backend = (*backend)(nil)
var _ rpc.ValidatorBackend = (*backend)(nil)

// mapErr translates chain and state errors into the rpc package's sentinels.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, chain.ErrNotFound):
		return fmt.Errorf("%w: %v", rpc.ErrNotFound, err)
	case errors.Is(err, state.ErrPruned), errors.Is(err, state.ErrFutureHeight), errors.Is(err, state.ErrNoState):
		return fmt.Errorf("%w: %v", rpc.ErrUnknownBlock, err)
	}
	return err
}

func (b *backend) ChainID() uint64     { return b.n.chain.ChainID() }
func (b *backend) Head() *types.Header { return b.n.chain.Head() }

func toRPCBlock(blk *types.Block) *rpc.Block {
	return &rpc.Block{Header: &blk.Header, Hash: blk.Hash(), Txs: blk.Txs}
}

func (b *backend) BlockByNumber(height uint64) (*rpc.Block, error) {
	blk, err := b.n.chain.BlockByNumber(height)
	if err != nil {
		if errors.Is(err, chain.ErrNotFound) {
			return nil, fmt.Errorf("%w: %v", rpc.ErrUnknownBlock, err)
		}
		return nil, err
	}
	return toRPCBlock(blk), nil
}

func (b *backend) BlockByHash(h types.Hash) (*rpc.Block, error) {
	blk, err := b.n.chain.BlockByHash(h)
	if err != nil {
		return nil, mapErr(err)
	}
	return toRPCBlock(blk), nil
}

func (b *backend) Account(addr types.Address, height uint64) (*state.Account, error) {
	a, err := b.n.chain.Account(addr, height)
	return a, mapErr(err)
}

func (b *backend) Code(addr types.Address, height uint64) ([]byte, error) {
	c, err := b.n.chain.Code(addr, height)
	return c, mapErr(err)
}

func (b *backend) Storage(addr types.Address, key []byte, height uint64) ([]byte, bool, error) {
	v, ok, err := b.n.chain.Storage(addr, key, height)
	return v, ok, mapErr(err)
}

func (b *backend) Transaction(h types.Hash) (*types.Tx, *rpc.TxLocation, error) {
	if tx := b.n.pool.Get(h); tx != nil {
		return tx, nil, nil
	}
	tx, height, index, err := b.n.chain.TxByHash(h)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	if height > b.n.chain.Head().Height {
		return nil, nil, fmt.Errorf("%w: tx %s: block %d not yet the head", rpc.ErrNotFound, h, height)
	}
	hdr, err := b.n.chain.HeaderByNumber(height)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	return tx, &rpc.TxLocation{Height: height, BlockHash: hdr.Hash(), Index: uint64(index)}, nil
}

func (b *backend) Receipt(h types.Hash) (*types.Receipt, *types.Header, error) {
	r, err := b.n.chain.Receipt(h)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	// The chain writes a block before it moves its head: until the head has moved, a
	// client holding the receipt would not see its effects in "latest". Wait for that.
	if r.Height > b.n.chain.Head().Height {
		return nil, nil, fmt.Errorf("%w: receipt of %s: block %d not yet the head", rpc.ErrNotFound, h, r.Height)
	}
	hdr, err := b.n.chain.HeaderByNumber(r.Height)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	return r, hdr, nil
}

func (b *backend) SendTransaction(ctx context.Context, tx *types.Tx) error {
	if err := b.n.health(); err != nil {
		return err
	}
	err := b.n.pool.Add(tx)
	// A committed tx is "known" rather than "nonce too low": say so. Only a tx whose
	// nonce is used can be committed, so the index is read only then, not for every
	// submission (the lookup was 4 % of a node's CPU under load).
	if errors.Is(err, mempool.ErrNonceTooLow) {
		if _, _, _, lerr := b.n.chain.TxByHash(tx.Hash()); lerr == nil {
			return fmt.Errorf("%w: %s is already in a block", rpc.ErrTxKnown, tx.Hash())
		}
	}
	return err
}

// PendingNonce counts the sender's executable txs in the mempool on top of its account
// nonce. It scans the pending list: O(pool size), fine for clients sending a few txs.
func (b *backend) PendingNonce(addr types.Address) (uint64, error) {
	acc, err := b.n.chain.Account(addr, chain.LatestHeight)
	if err != nil {
		return 0, mapErr(err)
	}
	next := acc.Nonce
	for _, tx := range b.n.pool.Pending(0, 0, 0) {
		if from, err := tx.Sender(); err == nil && from == addr && tx.Nonce == next {
			next++
		}
	}
	return next, nil
}

func (b *backend) GasPrice() *uint256.Int { return b.n.genesis.Params.MinGasPrice.Int() }

func toCallMsg(req *rpc.CallRequest) chain.CallMsg {
	return chain.CallMsg{From: req.From, To: req.To, Method: req.Method, Args: req.Args, Value: req.Value, Gas: req.Gas, Code: req.Code}
}

func (b *backend) Call(ctx context.Context, req *rpc.CallRequest, height uint64) (*rpc.CallResult, error) {
	res, err := b.n.chain.Call(ctx, toCallMsg(req), height)
	if err != nil {
		if errors.Is(err, vm.ErrCanceled) && ctx.Err() != nil {
			return nil, fmt.Errorf("call: %w", ctx.Err())
		}
		return nil, mapErr(err)
	}
	b.n.metrics.observeCall(res.GasUsed)
	if res.Err != nil {
		ee := &rpc.ExecutionError{Reason: res.Err.Error(), GasUsed: res.GasUsed,
			NotFound: errors.Is(res.Err, vm.ErrNoCode) || errors.Is(res.Err, vm.ErrMethodNotFound)}
		var rev *vm.RevertError
		if errors.As(res.Err, &rev) {
			ee.Output = []byte(rev.Msg)
		}
		return nil, ee
	}
	return &rpc.CallResult{Height: res.Height, StateRoot: res.StateRoot, Output: res.Output, GasUsed: res.GasUsed,
		Events: res.Events, Logs: res.Logs, Metadata: res.Metadata}, nil
}

func (b *backend) EstimateGas(ctx context.Context, req *rpc.CallRequest, height uint64) (uint64, error) {
	g, err := b.n.chain.EstimateGas(ctx, toCallMsg(req), height)
	if err != nil {
		if errors.Is(err, chain.ErrExecution) {
			return 0, &rpc.ExecutionError{Reason: strings.TrimPrefix(err.Error(), chain.ErrExecution.Error()+": "),
				NotFound: errors.Is(err, vm.ErrNoCode) || errors.Is(err, vm.ErrMethodNotFound)}
		}
		if errors.Is(err, vm.ErrCanceled) && ctx.Err() != nil {
			return 0, fmt.Errorf("estimate gas: %w", ctx.Err())
		}
		return 0, mapErr(err)
	}
	return g, nil
}

func (b *backend) SubscribeChain(ch chan<- *rpc.ChainEvent) func() {
	s := &rpcSub{ch: ch}
	b.subMu.Lock()
	b.subs[s] = struct{}{}
	b.subMu.Unlock()
	return func() {
		b.subMu.Lock()
		delete(b.subs, s)
		b.subMu.Unlock()
	}
}

// publish sends a committed block to the RPC subscribers without blocking.
func (b *backend) publish(ev *chain.BlockEvent) {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	if len(b.subs) == 0 {
		return
	}
	out := &rpc.ChainEvent{Block: &rpc.Block{Header: &ev.Block.Header, Hash: ev.Hash, Txs: ev.Block.Txs}, Receipts: ev.Receipts}
	for s := range b.subs {
		select {
		case s.ch <- out:
		default:
			b.n.metrics.subDropped.Inc()
		}
	}
}

func (b *backend) NodeInfo() rpc.NodeInfo {
	return rpc.NodeInfo{
		Name: "wnode/" + Version, ChainID: b.ChainID(), GenesisHash: b.n.genesisHash, Dev: b.n.dev,
		Validator: b.n.Validator(), PeerID: b.n.network.PeerID(), ListenAddrs: b.n.network.ListenAddrs(),
	}
}

func (b *backend) Peers() []rpc.PeerInfo { return b.n.network.Peers() }

func (b *backend) Health() error { return b.n.health() }

// The dashboard's reads (ui.Backend) beyond rpc.Backend.

var _ ui.Backend = (*backend)(nil)

func (b *backend) Commit(height uint64) (*types.Commit, error) {
	if height == 0 || height > b.n.chain.Head().Height {
		return nil, fmt.Errorf("%w: no commit at height %d", rpc.ErrUnknownBlock, height)
	}
	c, err := b.n.chain.CommitAt(height)
	return c, mapErr(err)
}

// Validators is the set that signs the block at height (chain.ValidatorsAt).
func (b *backend) Validators(height uint64) (*types.ValidatorSet, error) {
	vs, err := b.n.chain.ValidatorsAt(height)
	return vs, mapErr(err)
}

// ValidatorProposals lists the open validator set change proposals with an id above
// after, at most max (chain.Chain.ValidatorProposals), with their voters' power in the
// set of the next height, which is the set that counts a vote sent now.
func (b *backend) ValidatorProposals(after uint64, max int) ([]rpctypes.ValidatorProposalJSON, error) {
	ps, err := b.n.chain.ValidatorProposals(after, max)
	if err != nil {
		return nil, mapErr(err)
	}
	vs := b.n.chain.Validators()
	out := make([]rpctypes.ValidatorProposalJSON, len(ps))
	for i, p := range ps {
		var power uint64
		for _, a := range p.Voters {
			power += vs.Power(a)
		}
		out[i] = rpctypes.ValidatorProposalJSON{
			ID: hexutil.Uint64(p.ID), Proposer: p.Proposer, Op: p.Change.Op.String(), Address: p.Change.Address,
			PubKey: p.Change.PubKey, Power: hexutil.Uint64(p.Change.Power), Height: hexutil.Uint64(p.Height),
			Expires: hexutil.Uint64(p.Expires), Voters: p.Voters,
			VotedPower: hexutil.Uint64(power), TotalPower: hexutil.Uint64(vs.TotalPower()),
		}
	}
	return out, nil
}

func (b *backend) BlockReceipts(height uint64) ([]*types.Receipt, error) {
	rs, err := b.n.chain.Receipts(height)
	return rs, mapErr(err)
}

func (b *backend) Contract(ctx context.Context, addr types.Address, height uint64) (*rpc.ContractInfo, error) {
	acc, err := b.n.chain.Account(addr, height)
	if err != nil {
		return nil, mapErr(err)
	}
	if acc.CodeHash == (types.Hash{}) {
		return nil, nil
	}
	code, err := b.n.chain.Code(addr, height)
	if err != nil {
		return nil, mapErr(err)
	}
	// Validation gives the exports and metadata; a cache miss is not compiled.
	c, err := b.n.machine.PrepareIf(ctx, code, func(*vm.Code) bool { return false })
	if err != nil {
		return nil, fmt.Errorf("contract %s: %w", addr, err)
	}
	ci := &rpc.ContractInfo{CodeHash: acc.CodeHash, CodeSize: len(c.Original), Admin: acc.Admin,
		Methods: c.Methods, Metadata: c.Metadata}
	h, _, ok, err := b.n.chain.DeployLocation(addr)
	if err != nil {
		return nil, mapErr(err)
	}
	if ok && h <= height {
		ci.DeployHeight, ci.DeployKnown = h, true
	}
	return ci, nil
}

func (b *backend) MempoolStats() (pending, queued int) { return b.n.pool.Stats() }

func (b *backend) DataDirSize() (int64, error) {
	var size int64
	err := filepath.WalkDir(b.n.cfg.DataDir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // a file Pebble removed meanwhile
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	return size, err
}
